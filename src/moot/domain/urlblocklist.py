"""The site's blocked URLs (EditSite `blocked_urls`): how an entry is stored and what it refuses.

As Lemmy 0.19 (`check_urls_are_valid`, `get_url_blocklist`, `is_url_blocked`, `markdown_check_for_blocked_urls`):
an entry is kept without its scheme and without a trailing slash (`https://Spam.example/` is `spam.example`), and
a text is refused with `blocked_url` when an entry appears in it between word boundaries, anywhere: a post's URL,
its body, a comment, as a link or as bare text. So `spam.example` refuses `https://spam.example/x`,
`sub.spam.example` and "go to spam.example.", but not `notspam.example` or `spam.examples`. Unlike Lemmy the
comparison ignores case: hosts have no case, and `SPAM.example` in a comment must not slip through."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from moot.domain.errors import LemmyError

# Characters that cannot be in a host name (Rust's url crate refuses them too).
_BAD_HOST = re.compile(r"[\s<>\"{}|\\^`%/?#@]")


def blocklist_entry(url: str) -> str:
    """One blocked URL as stored: no scheme, the host in lower case, no trailing slash (`invalid_url` when it is
    not a web address). A bare `spam.example` is read as `http://spam.example`."""
    text = url.strip()
    if "://" not in text:
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)", text):
            # `mailto:x`, `javascript:x`: a scheme that is not the web's.
            raise LemmyError("invalid_url")
        text = f"http://{text}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise LemmyError("invalid_url") from exc
    host = parts.hostname
    if parts.scheme.lower() not in ("http", "https") or not host or _BAD_HOST.search(host):
        raise LemmyError("invalid_url")
    out = host.lower() if ":" not in host else f"[{host.lower()}]"
    if port is not None:
        out += f":{port}"
    out += parts.path or "/"
    if parts.query:
        out += f"?{parts.query}"
    if parts.fragment:
        out += f"#{parts.fragment}"
    return out.removesuffix("/")


def blocklist_entries(urls: Iterable[str]) -> list[str]:
    """The entries of an EditSite `blocked_urls`, each checked and stored once, in the order given."""
    return list(dict.fromkeys(blocklist_entry(url) for url in urls))


def blocklist_pattern(entries: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for all entries (None when there are none)."""
    alternatives = [rf"\b{re.escape(entry)}\b" for entry in entries]
    if not alternatives:
        return None
    return re.compile("|".join(alternatives), re.IGNORECASE)


def check_not_blocked(pattern: re.Pattern[str] | None, *texts: str | None) -> None:
    """`blocked_url` when any of the texts (a URL, a markdown body) names a blocked URL."""
    if pattern is None:
        return
    for text in texts:
        if text and pattern.search(text):
            raise LemmyError("blocked_url")
