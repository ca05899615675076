"""Input limits and checks, with the Lemmy error each failure reports."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from moot.domain.errors import LemmyError

TITLE_MIN, TITLE_MAX = 3, 200
POST_BODY_MAX = 50_000
COMMENT_MAX = 10_000
URL_MAX = 2_000
ALT_TEXT_MAX = 1_500
BIO_MAX = 1_000
DISPLAY_NAME_MIN, DISPLAY_NAME_MAX = 3, 50
PASSWORD_MIN, PASSWORD_MAX = 10, 60
DESCRIPTION_MAX = 150_000
SEARCH_MAX = 1_000
MAX_COMMENT_DEPTH = 50
DEFAULT_ACTOR_NAME_MAX = 20

# Lemmy accepts ASCII word characters and the Arabic and Cyrillic blocks in actor names.
_ACTOR_NAME = re.compile(r"^(?:[a-zA-Z0-9_]|[\u0600-\u06FF]|[\u0400-\u04FF])+$")
_WHITESPACE_ONLY = re.compile(r"^\s*$")
# Characters that make a title invisible or break layout: control characters and bidi overrides.
_INVISIBLE = re.compile(r"[\u0000-\u001F\u007F\u200B-\u200F\u2028-\u202E\u2060-\u206F\uFEFF]")

TRACKING_PARAMS = frozenset(
    {
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "utm_id",
        "utm_name",
        "gclid",
        "gclsrc",
        "dclid",
        "fbclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "si",
        "ref_src",
        "ref_url",
        "twclid",
        "wt_mc",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "rb_clickid",
        "s_cid",
        "spm",
    }
)


def check_actor_name(name: str, max_length: int = DEFAULT_ACTOR_NAME_MAX) -> None:
    if len(name) < 3 or len(name) > max_length or not _ACTOR_NAME.match(name):
        raise LemmyError("invalid_name")


def check_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise LemmyError("invalid_password")


def check_title(title: str) -> str:
    title = title.strip()
    if not TITLE_MIN <= len(title) <= TITLE_MAX or _WHITESPACE_ONLY.match(title) or _INVISIBLE.search(title):
        raise LemmyError("invalid_post_title")
    return title


def check_post_body(body: str | None) -> str | None:
    if body is None:
        return None
    if len(body) > POST_BODY_MAX:
        raise LemmyError("invalid_body_field")
    return body


def check_comment_content(content: str) -> str:
    if len(content) > COMMENT_MAX or _WHITESPACE_ONLY.match(content):
        raise LemmyError("invalid_body_field")
    return content


def check_bio(bio: str) -> None:
    if len(bio) > BIO_MAX:
        raise LemmyError("bio_length_overflow")


def check_display_name(name: str, max_length: int = DISPLAY_NAME_MAX) -> None:
    if not DISPLAY_NAME_MIN <= len(name) <= max_length or name.startswith("@") or _INVISIBLE.search(name):
        raise LemmyError("invalid_display_name")


def check_community_title(title: str) -> str:
    title = title.strip()
    if not title or len(title) > TITLE_MAX or _INVISIBLE.search(title):
        raise LemmyError("invalid_community_title" if not title else "title_too_long")
    return title


def check_description(text: str | None) -> None:
    if text is not None and len(text) > DESCRIPTION_MAX:
        raise LemmyError("invalid_body_field")


def check_alt_text(text: str | None) -> None:
    if text is not None and len(text) > ALT_TEXT_MAX:
        raise LemmyError("alt_text_length_overflow")


def clean_url(url: str | None) -> str | None:
    """Validate a post URL (http, https or magnet; at most 2000 chars) and drop tracking parameters."""
    if url is None:
        return None
    url = url.strip()
    if url == "":
        return None
    if len(url) > URL_MAX:
        raise LemmyError("invalid_url")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https", "magnet"):
        raise LemmyError("invalid_url")
    if parts.scheme.lower() == "magnet":
        return url
    if not parts.netloc or " " in parts.netloc:
        raise LemmyError("invalid_url")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in TRACKING_PARAMS]
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, urlencode(query), parts.fragment))


def normalize_url_for_match(url: str) -> str:
    """The key that makes two links "the same link" for cross-posts: no scheme, www., fragment or slash."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "magnet":
        return url
    host = parts.netloc.lower()
    host = host.removeprefix("www.")
    path = parts.path.rstrip("/")
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{host}{path}" + (f"?{query}" if query else "")
