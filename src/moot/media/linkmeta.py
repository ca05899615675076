"""A linked page's metadata as Lemmy 0.19 reads it (`LinkMetadata`, `OpenGraphData`): pure, bytes in, fields out.

Lemmy (crates/api_common/src/request.rs) reads the first MiB of an HTML or XHTML answer: the OpenGraph title and
description, else the page's `<title>` and `<meta name="description">`; the first `og:image` and `og:video`, joined
to the page's URL. A page that does not start with `<!doctype html` is read as empty metadata (the errors
`no_lines_in_html` and `site_metadata_page_is_not_doctype_html`, which Lemmy logs and swallows). For an
`application/octet-stream` answer the type is sniffed from the first bytes. No script, style or markup survives:
every field is plain text, collapsed and capped."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from moot.media.images import sniff

# Lemmy reads the first MiB of a page (YouTube puts a lot of script before its OpenGraph tags).
MAX_HTML_BYTES = 1024 * 1024
# Lemmy's post fields are unbounded text; a preview never needs more than this.
MAX_TITLE = 300
MAX_DESCRIPTION = 2000
MAX_URL = 2000
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


class LinkMetaError(Exception):
    """A page whose metadata cannot be read; `error` is Lemmy's error string."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True, slots=True)
class OpenGraphData:
    title: str | None = None
    description: str | None = None
    image: str | None = None
    embed_video_url: str | None = None


@dataclass(frozen=True, slots=True)
class LinkMetadata:
    """Lemmy's LinkMetadata: the OpenGraph data flattened in, plus the answer's content type."""

    opengraph: OpenGraphData
    content_type: str | None = None

    def to_json(self) -> dict[str, str]:
        """The v3 wire shape (None fields left out)."""
        fields = {
            "title": self.opengraph.title,
            "description": self.opengraph.description,
            "image": self.opengraph.image,
            "embed_video_url": self.opengraph.embed_video_url,
            "content_type": self.content_type,
        }
        return {key: value for key, value in fields.items() if value is not None}


def media_type(content_type: str | None) -> str:
    """`text/html; charset=utf-8` -> `text/html`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_html(content_type: str | None) -> bool:
    return media_type(content_type) in HTML_TYPES


def is_image_type(content_type: str | None) -> bool:
    return media_type(content_type).startswith("image/")


def sniffed_type(head: bytes) -> str | None:
    """The image type of an `application/octet-stream` answer, from its first bytes (Lemmy asks `infer`)."""
    fmt = sniff(head[:512])
    return _IMAGE_TYPES.get(fmt) if fmt else None


def _charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"') or None
    return None


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    # Control characters never reach a stored field (as validation.clean_text), and neither does a lone surrogate.
    text = "".join(ch for ch in text if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF)
    return text[:limit] or None


def _absolute(base: str, value: str | None) -> str | None:
    """`value` joined to the page's URL; only an http(s) URL of sane length is kept."""
    if not value or not value.strip():
        return None
    try:
        joined = urljoin(base, value.strip())
        parts = urlsplit(joined)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(joined) > MAX_URL:
        return None
    return joined


class _HeadReader(HTMLParser):
    """Collects <title>, <meta> name/property/charset; stops caring after </head> or the first <body>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.og_images: list[str] = []
        self.og_videos: list[str] = []
        self.charset: str | None = None
        self.title: str | None = None
        self._in_title = False
        self._title_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and self.title is None:
            self._in_title = True
        if tag != "meta":
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        if "charset" in values and self.charset is None:
            self.charset = values["charset"]
        equiv, content = values.get("http-equiv", "").lower(), values.get("content", "")
        if equiv == "content-type" and self.charset is None:
            self.charset = _charset(content)
        key = (values.get("property") or values.get("name") or "").strip().lower()
        if not key or "content" not in values:
            return
        if key in ("og:image", "og:image:url", "og:image:secure_url"):
            self.og_images.append(content)
        elif key in ("og:video", "og:video:url", "og:video:secure_url"):
            self.og_videos.append(content)
        else:
            self.meta.setdefault(key, content)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = "".join(self._title_parts)

    def handle_data(self, data: str) -> None:
        if self._in_title and sum(map(len, self._title_parts)) < 4 * MAX_TITLE:
            self._title_parts.append(data)


def _decode(body: bytes, content_type: str | None) -> str:
    return body.decode(_codec(_charset(content_type)) or "utf-8", errors="replace")


def _check_doctype(text: str) -> None:
    lines = text.lstrip().splitlines()
    if not lines:
        raise LinkMetaError("no_lines_in_html")
    if not lines[0].lower().startswith("<!doctype html"):
        raise LinkMetaError("site_metadata_page_is_not_doctype_html")


def _read(text: str) -> _HeadReader:
    reader = _HeadReader()
    try:
        reader.feed(text)
        reader.close()
    except (AssertionError, ValueError):  # html.parser on hopeless markup: keep what was read
        pass
    return reader


def read_opengraph(body: bytes, url: str, content_type: str | None = None) -> OpenGraphData:
    """The OpenGraph data of an HTML page (its first MiB); LinkMetaError for a page that is not doctype html."""
    body = body[:MAX_HTML_BYTES]
    text = _decode(body, content_type)
    _check_doctype(text)
    reader = _read(text)
    # A page that declares another charset than its answer (or than UTF-8) is read again in it, as Lemmy does.
    declared = _codec(reader.charset)
    if declared and declared != _codec(_charset(content_type) or "utf-8"):
        reader = _read(body.decode(declared, errors="replace"))
    return OpenGraphData(
        title=_text(reader.meta.get("og:title") or reader.title, MAX_TITLE),
        description=_text(reader.meta.get("og:description") or reader.meta.get("description"), MAX_DESCRIPTION),
        image=_absolute(url, reader.og_images[0] if reader.og_images else None),
        embed_video_url=_absolute(url, reader.og_videos[0] if reader.og_videos else None),
    )


def link_metadata(body: bytes, url: str, content_type: str | None) -> LinkMetadata:
    """What Lemmy's fetch_link_metadata answers for a fetched `body`: the page's OpenGraph data when it is HTML
    (empty when the page is not doctype html, as Lemmy), the type sniffed for an octet stream."""
    kind = media_type(content_type)
    if is_html(kind):
        try:
            return LinkMetadata(read_opengraph(body, url, content_type), content_type or None)
        except LinkMetaError:
            return LinkMetadata(OpenGraphData(), content_type or None)
    if kind == "application/octet-stream":
        return LinkMetadata(OpenGraphData(), sniffed_type(body) or content_type)
    return LinkMetadata(OpenGraphData(), content_type or None)
