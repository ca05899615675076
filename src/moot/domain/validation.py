"""Input limits and checks, with the Lemmy error each failure reports."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from email_validator import EmailNotValidError, validate_email

from moot.domain.errors import LemmyError
from moot.domain.linkkey import TRACKING, link_key

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

# Lemmy accepts names in one alphabet each: ASCII word characters, or Arabic, or Cyrillic (with digits, _).
_ACTOR_NAMES = (
    re.compile(r"[a-zA-Z0-9_]+"),
    re.compile(r"[0-9_\u0600-\u06FF]+"),
    re.compile(r"[0-9_\u0400-\u04FF]+"),
)
_WHITESPACE_ONLY = re.compile(r"^\s*$")
# An absolute URL starts with a scheme (RFC 3986: a letter, then letters, digits, "+", "-" or ".") and a colon.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Characters that make a title invisible or break layout: control characters and bidi overrides.
_INVISIBLE = re.compile(r"[\u0000-\u001F\u007F\u200B-\u200F\u2028-\u202E\u2060-\u206F\uFEFF]")

# Lemmy's clean_url list: the link key's tracking parameters (domain/linkkey.py, which drops every `utm_*`), the
# usual `utm_` ones, and `si` and `spm`, which Lemmy takes off every link when a post is made (the link key drops
# `si` only where it is known to be tracking).
_UTM = ("source", "medium", "campaign", "term", "content", "id", "name")
TRACKING_PARAMS = TRACKING | {f"utm_{name}" for name in _UTM} | {"si", "spm"}


# --- what comes in: numbers and text, before any other rule -------------------------------------------------
# Lemmy's ids are i32 (serde refuses anything outside, a 400); its pages, limits and ban expiries i64, votes i16.
I16_MIN, I16_MAX = -(2**15), 2**15 - 1
I32_MIN, I32_MAX = -(2**31), 2**31 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1

# C0 control characters but tab, newline and carriage return, and DEL. PostgreSQL cannot store NUL at all (Lemmy
# answers a 400 `couldnt_create_*` there), SQLite would keep it, and the rest only hide or garble text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Half of a UTF-16 pair: JSON may spell one (`"\ud800"`), no UTF-8 text can hold one.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def as_id(text: str) -> int | None:
    """An id written in a path or query (`/post/12`): ASCII digits within Lemmy's i32 range, else None (no row
    has it, and a larger number would overflow the database's integer)."""
    if not _ID_TEXT.fullmatch(text):
        return None
    value = int(text)
    return value if I32_MIN <= value <= I32_MAX else None


_ID_TEXT = re.compile("-?[0-9]{1,10}")


def clean_text(text: str) -> str:
    """The one rule for text as it comes in (API forms, page forms, federated documents), applied where it is
    read: control characters dropped, a lone surrogate turned into U+FFFD. Every later check then measures what
    will be stored, and both engines store the same thing."""
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    if _LONE_SURROGATE.search(text):
        text = _LONE_SURROGATE.sub("\ufffd", text)
    return text


def check_actor_name(name: str, max_length: int = DEFAULT_ACTOR_NAME_MAX) -> None:
    if len(name) < 3 or len(name) > max_length or not any(p.fullmatch(name) for p in _ACTOR_NAMES):
        raise LemmyError("invalid_name")


def check_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise LemmyError("invalid_password")


def normalize_email(email: str) -> str:
    """An email address as it is stored and compared. It must be an address (syntax only: no DNS lookup, so
    registration never waits on the network); email-validator normalises it (the domain in lower case, IDNA
    and NFC), then the whole of it is lower-cased as Lemmy stores emails, so no two accounts differ only by case.
    Refused as Lemmy 1.0 refuses it (`invalid_email_address`, with the address); 0.19 has no such check."""
    cleaned = email.strip()
    try:
        checked = validate_email(cleaned, check_deliverability=False)
    except EmailNotValidError as exc:
        raise LemmyError("invalid_email_address", cleaned) from exc
    return checked.normalized.lower()


def looks_like_email(login: str) -> bool:
    """Names never contain "@" (check_actor_name), so a login string with one can only mean an address."""
    return "@" in login


def utf16_length(text: str) -> int:
    """Lemmy measures text limits in UTF-16 code units, as an HTML `maxlength` does (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def check_title(title: str) -> str:
    """3 to 200 characters once trimmed, on one line. Zero-width joiners stay legal: emoji sequences need them."""
    trimmed = title.strip()
    if not TITLE_MIN <= len(trimmed) <= TITLE_MAX or "\n" in title:
        raise LemmyError("invalid_post_title")
    return trimmed


def slur_pattern(regex: str | None) -> re.Pattern[str] | None:
    """The site's slur filter, compiled case-insensitively; the site edit already refused a broken one."""
    if not regex:
        return None
    try:
        return re.compile(regex, re.IGNORECASE)
    except re.error:
        return None


def check_slurs(text: str | None, slurs: re.Pattern[str] | None) -> None:
    """Titles (and names) containing a slur are refused outright."""
    if text is not None and slurs is not None and slurs.search(text):
        raise LemmyError("slurs")


def remove_slurs(text: str | None, slurs: re.Pattern[str] | None) -> str | None:
    """Bodies are kept, with each slur replaced as Lemmy does."""
    if text is None or slurs is None:
        return text
    return slurs.sub("*removed*", text)


def check_post_body(body: str | None) -> str | None:
    if body is None:
        return None
    if utf16_length(body) > POST_BODY_MAX:
        raise LemmyError("invalid_body_field")
    return body


def check_comment_content(content: str) -> str:
    if utf16_length(content) > COMMENT_MAX or _WHITESPACE_ONLY.match(content):
        raise LemmyError("invalid_body_field")
    return content


def check_bio(bio: str) -> None:
    if utf16_length(bio) > BIO_MAX:  # Lemmy counts UTF-16 units (max_length_check)
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
    if text is not None and utf16_length(text) > ALT_TEXT_MAX:
        raise LemmyError("alt_text_length_overflow")


def clean_url(url: str | None) -> str | None:
    """Validate a post URL as Lemmy does and drop tracking parameters; an empty string means no URL.

    Errors: `invalid_url` when it does not parse as an absolute URL, `invalid_url_scheme` for anything but
    http, https and magnet (so `javascript:` never gets through), `url_length_overflow` beyond 2000."""
    if url is None:
        return None
    url = url.strip()
    if url == "":
        return None
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise LemmyError("invalid_url") from exc
    scheme = parts.scheme.lower()
    if not _SCHEME.match(url):
        raise LemmyError("invalid_url")
    if scheme not in ("http", "https", "magnet"):
        raise LemmyError("invalid_url_scheme")
    if scheme != "magnet":
        if not parts.hostname or any(c.isspace() for c in parts.netloc):
            raise LemmyError("invalid_url")
        url = urlunsplit((scheme, parts.netloc, parts.path, _drop_tracking(parts.query), parts.fragment))
    if utf16_length(url) > URL_MAX:
        raise LemmyError("url_length_overflow")
    return url


def _drop_tracking(query: str) -> str:
    """Remove tracking parameters, leaving every other parameter byte for byte (no re-encoding)."""
    kept = [p for p in query.split("&") if p and unquote_plus(p.split("=", 1)[0]).lower() not in TRACKING_PARAMS]
    return "&".join(kept)


def normalize_url_for_match(url: str) -> str:
    """The key that makes two links "the same link" for cross-posts (see domain/linkkey.py)."""
    return link_key(url)
