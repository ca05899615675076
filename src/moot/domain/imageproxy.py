"""Lemmy's image proxy URLs (`{base}/api/v3/image_proxy?url=<encoded>`): which links go through it, and how."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from moot.domain.markdown import image_sources

PROXY_PATH = "/api/v3/image_proxy"


def is_remote(hostname: str, link: str) -> bool:
    """An http(s) URL on another host than ours (`hostname` as configured, with its port if any)."""
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and parts.netloc.lower() != hostname.lower()


def proxied(base_url: str, link: str) -> str:
    """The proxy URL of `link`, as Lemmy's build_proxied_image_url writes it."""
    return f"{base_url}{PROXY_PATH}?url={quote(link, safe='')}"


def proxy_if_remote(base_url: str, hostname: str, mode: str, link: str) -> str:
    """What readers load for an image link: the proxy for another host's image in ProxyAllImages mode."""
    return proxied(base_url, link) if mode == "ProxyAllImages" and is_remote(hostname, link) else link


@dataclass(frozen=True, slots=True)
class ImageRewriter:
    """ProxyAllImages for what the API answers, as Lemmy's stored text reads: other hosts' images in markdown and
    remote actors' pictures point at our proxy (Lemmy rewrites them when it stores the text; Moot keeps the text
    as written, so federation sends the original, and rewrites on the way out)."""

    base_url: str
    hostname: str

    def link(self, url: str) -> str:
        return proxied(self.base_url, url) if is_remote(self.hostname, url) else url

    def markdown(self, text: str) -> str:
        for src in image_sources(text):
            if is_remote(self.hostname, src):
                text = text.replace(f"]({src}", f"]({proxied(self.base_url, src)}")
        return text


_PROXIED = re.compile(r"\]\((https?://[^\s()]+?" + re.escape(PROXY_PATH) + r"\?url=([^\s()\"]+))")


def unproxied_markdown(base_url: str, text: str | None) -> str | None:
    """Markdown as its author meant it: our proxy's image URLs (which the API answered, and a client may send
    back in an edit) turned back into the images' own URLs, so that text is stored and federated as written."""
    if not text or PROXY_PATH not in text:
        return text
    prefix = f"{base_url}{PROXY_PATH}?url="
    return _PROXIED.sub(lambda m: "](" + unquote(m.group(2)) if m.group(1).startswith(prefix) else m.group(0), text)
