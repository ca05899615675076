"""Markdown as Lemmy clients write it, rendered to sanitised HTML; remote HTML sanitised with the same allowlist."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from html import unescape

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererProtocol
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin

from moot.domain.linkify import make_linkify
from moot.domain.validation import clean_text

# Longer input is cut before parsing: the parser and html5ever both have superlinear corners.
MAX_INPUT_CHARS = 100_000
# Caps nested blocks (blockquotes, lists, spoilers) and inline nesting, so hostile input cannot go deep.
MAX_NESTING = 20

_SPOILER = re.compile(r"^spoiler\s+(.*)$")
_ALIGN = re.compile(r"^text-align:(left|center|right)$")
_FOOTNOTE_ID = re.compile(r"^fn(ref)?\d{1,6}(:\d{1,6})?$")
_CODE_LANGUAGE = re.compile(r"^language-[\w.+#-]{1,40}$")
_ORDERED_START = re.compile(r"^\d{1,9}$")

_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code",
        "em", "strong", "b", "i", "u", "del", "s", "sub", "sup", "span", "a", "img",
        "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td",
        "details", "summary", "section", "ruby", "rt", "rp",
    }
)  # fmt: skip
# Dropped with their content, not just unwrapped: their text is code or noise, never prose.
_CLEAN_CONTENT_TAGS = frozenset(
    {"script", "style", "iframe", "noscript", "template", "object", "textarea", "svg", "math"}
)
_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title", "id", "class"},
    "img": {"src", "alt", "title"},
    "ol": {"start", "class"},
    "li": {"id", "class"},
    "sup": {"class"},
    "hr": {"class"},
    "section": {"class"},
    "code": {"class"},
}
_ALIGN_VALUES = {"align": {"left", "center", "right"}}
# Only the classes our own renderer sets (footnotes); everything else a remote server sends is dropped.
_CLASSES: dict[str, frozenset[str]] = {
    "a": frozenset({"footnote-backref"}),
    "ol": frozenset({"footnotes-list"}),
    "li": frozenset({"footnote-item"}),
    "sup": frozenset({"footnote-ref"}),
    "hr": frozenset({"footnotes-sep"}),
    "section": frozenset({"footnotes"}),
}


def _filter_class(tag: str, value: str) -> str | None:
    if tag == "code":
        kept = [name for name in value.split() if _CODE_LANGUAGE.match(name)][:1]
    else:
        allowed = _CLASSES.get(tag, frozenset())
        kept = [name for name in value.split() if name in allowed]
    return " ".join(kept) or None


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Second pass after nh3's tag/attribute allowlist: restrict the values too."""
    if attribute == "class":
        return _filter_class(tag, value)
    if attribute == "id":
        return value if _FOOTNOTE_ID.match(value) else None
    if tag == "img" and attribute == "src":
        # Images are fetched without a click, so no relative, mailto: or data: sources.
        return value if value.strip().lower().startswith(("http://", "https://")) else None
    if attribute == "start":
        return value if _ORDERED_START.match(value) else None
    return value


_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=_CLEAN_CONTENT_TAGS,
    attributes=_ATTRIBUTES,
    attribute_filter=_filter_attribute,
    link_rel="nofollow noopener ugc",
    tag_attribute_values={"th": _ALIGN_VALUES, "td": _ALIGN_VALUES},
    url_schemes={"http", "https", "mailto"},
)


def _spoiler_valid(params: str, *_: object) -> bool:
    return _SPOILER.match(params.strip()) is not None


def _render_spoiler(
    _renderer: RendererProtocol, tokens: Sequence[Token], idx: int, _options: OptionsDict, _env: EnvType
) -> str:
    token = tokens[idx]
    if token.nesting != 1:
        return "</details>\n"
    match = _SPOILER.match(token.info.strip())
    title = match.group(1).strip() if match else ""
    return f"<details><summary>{escapeHtml(title)}</summary>\n"


def _align_cells(state: StateCore) -> None:
    """Table alignment comes out as an inline style, which we never allow; say it with `align` instead."""
    for token in state.tokens:
        if token.type not in ("th_open", "td_open"):
            continue
        match = _ALIGN.match(str(token.attrs.pop("style", "")))
        if match:
            token.attrs["align"] = match.group(1)


def _build_parser(*, mentions: bool = False) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "maxNesting": MAX_NESTING, "linkify": True})
    md.enable(["table", "strikethrough", "linkify"])
    # Bare URLs (and, for our pages, mentions) linked by linkify-it-py: see domain/linkify.py.
    md.linkify = make_linkify(mentions=mentions)
    md.use(footnote_plugin).use(sub_plugin).use(superscript_plugin)
    md.use(container_plugin, name="spoiler", validate=_spoiler_valid, render=_render_spoiler)
    md.core.ruler.push("align_cells", _align_cells)
    return md


_MD = _build_parser()
# Our pages also link mentions to our own pages (relative links: not for federated content or mail).
_MD_PAGES = _build_parser(mentions=True)


def render_markdown(text: str, *, mentions: bool = False) -> str:
    """Markdown (as Lemmy clients send it) to sanitised HTML; with `mentions`, `!c@host`, `@p@host`, `u/name` and
    `c/name` link to this site's pages of them.

    The HTML depends on the text alone, so the last RENDERED_KEPT texts of up to RENDERED_CHARS characters are
    answered from memory: a thread's page rendered the markdown of its 300 comments anew for every reader (a third
    of the page's time for the 20,000-comment thread). Longer texts, rare, are rendered each time, which bounds
    the memory kept (a few MB for ordinary comments, at most ~30 MB per process)."""
    if len(text) <= RENDERED_CHARS:
        return _render_kept(text, mentions)
    return _render(text, mentions)


RENDERED_CHARS = 4_000
RENDERED_KEPT = 2_048


@functools.lru_cache(maxsize=RENDERED_KEPT)
def _render_kept(text: str, mentions: bool) -> str:
    return _render(text, mentions)


def _render(text: str, mentions: bool) -> str:
    # Our own output is shallow (MAX_NESTING), so it is cleaned whole even when it outgrows the input cap.
    # Text is cleaned as it comes in (clean_text); done again here because nh3 cannot take a lone surrogate.
    parser = _MD_PAGES if mentions else _MD
    return _CLEANER.clean(str(parser.render(clean_text(text[:MAX_INPUT_CHARS]))))


def render_inline(text: str) -> str:
    """Inline markdown only, with no block wrapper: for one-line text such as titles."""
    return _CLEANER.clean(str(_MD.renderInline(clean_text(text[:MAX_INPUT_CHARS]))))


def sanitize_html(html: str) -> str:
    """Untrusted HTML (rendered here or received by federation) reduced to the allowlist."""
    return _CLEANER.clean(clean_text(html[:MAX_INPUT_CHARS]))


def image_sources(text: str | None) -> list[str]:
    """The http(s) URLs of the images a markdown text shows (`![alt](url)`), in order, once each."""
    if not text or "![" not in text:
        return []
    found: list[str] = []
    stack = list(_MD.parse(clean_text(text[:MAX_INPUT_CHARS])))
    while stack:
        token = stack.pop(0)
        if token.children:
            stack[:0] = token.children
        if token.type == "image":
            src = str(token.attrGet("src") or "").strip()
            if src.lower().startswith(("http://", "https://")) and src not in found:
                found.append(src)
    return found


# nh3's output writes every attribute double-quoted and escaped, so its <img src="..."> can be read back safely.
_IMG_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")([^"]*)(")')


def rewrite_image_sources(html: str, rewrite: Callable[[str], str]) -> str:
    """Sanitised HTML (from render_markdown) with each image's source replaced by `rewrite(source)`."""
    if "<img" not in html:
        return html
    return _IMG_SRC.sub(lambda m: m.group(1) + escapeHtml(rewrite(unescape(m.group(2)))) + m.group(3), html)
