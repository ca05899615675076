"""Markdown for the pages: moot.domain.markdown's sanitised HTML, marked safe for the templates."""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from moot.domain.imageproxy import proxy_if_remote
from moot.domain.markdown import render_inline, render_markdown, rewrite_image_sources


def markdown(text: str | None) -> Markup:
    if not text:
        return Markup("")
    return Markup(render_markdown(text, mentions=True))  # noqa: S704 - the renderer sanitises (nh3) before we trust it


def markdown_inline(text: str | None) -> Markup:
    if not text:
        return Markup("")
    return Markup(render_inline(text))  # noqa: S704 - the renderer sanitises (nh3) before we trust it


@pass_context
def page_markdown(context: Context, text: str | None) -> Markup:
    """The pages' `md` filter: in ProxyAllImages mode (MOOT_IMAGE_MODE), images from other hosts load through our
    image proxy, so a reader's browser never asks their hosts."""
    html = markdown(text)
    web: Any = context.get("web")
    settings = getattr(web, "settings", None)
    if settings is None or settings.image_mode != "ProxyAllImages" or "<img" not in html:
        return html
    rewritten = rewrite_image_sources(
        str(html), lambda src: proxy_if_remote(settings.base_url, settings.hostname, settings.image_mode, src)
    )
    return Markup(rewritten)  # noqa: S704 - sanitised HTML with only image sources replaced (escaped)


@pass_context
def image_src(context: Context, url: str | None) -> str:
    """The pages' `image_src` filter for a picture link (a thumbnail): only http(s), and in ProxyAllImages mode an
    image of another host through our proxy, as images in text (`page_markdown`)."""
    if not url or url.split(":", 1)[0].lower() not in ("http", "https"):
        return ""
    settings = getattr(context.get("web"), "settings", None)
    if settings is None:
        return url
    return proxy_if_remote(settings.base_url, settings.hostname, settings.image_mode, url)
