"""Markdown for the pages: moot.domain.markdown's sanitised HTML, marked safe for the templates."""

from __future__ import annotations

from markupsafe import Markup

from moot.domain.markdown import render_inline, render_markdown


def markdown(text: str | None) -> Markup:
    if not text:
        return Markup("")
    return Markup(render_markdown(text))  # noqa: S704 - the renderer sanitises (nh3) before we trust it


def markdown_inline(text: str | None) -> Markup:
    if not text:
        return Markup("")
    return Markup(render_inline(text))  # noqa: S704 - the renderer sanitises (nh3) before we trust it
