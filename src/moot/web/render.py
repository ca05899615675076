"""The Jinja2 environment (autoescaped) and the small formatting helpers the templates use."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from moot.domain.timefmt import as_utc, lemmy_time, utcnow
from moot.domain.validation import COMMENT_MAX, POST_BODY_MAX, TITLE_MAX, TITLE_MIN
from moot.web.markup import image_src, markdown_inline, page_markdown

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


class Actor(Protocol):
    """A person or a community: both have a name, an ActivityPub id and a local flag."""

    @property
    def name(self) -> str: ...

    @property
    def ap_id(self) -> str: ...

    @property
    def local(self) -> bool: ...


def host_of(actor: Actor) -> str:
    return _host(actor.ap_id)


@lru_cache(maxsize=4096)
def _host(ap_id: str) -> str:
    """Kept per id: a thread's page writes its commenters' handles and links 1,500 times (300 comments)."""
    return urlsplit(ap_id).netloc.lower()


def handle(actor: Actor) -> str:
    """`name` for our own, `name@host` for remote ones, as Lemmy writes them."""
    return actor.name if actor.local else f"{actor.name}@{host_of(actor)}"


def community_url(community: Actor) -> str:
    return f"/c/{handle(community)}"


def person_url(person: Actor) -> str:
    return f"/u/{handle(person)}"


def safe_href(url: str | None) -> str:
    """A link we put in href/src only if it is http(s) or magnet: stored remote data may be anything."""
    if not url:
        return ""
    scheme = url.split(":", 1)[0].lower()
    return url if scheme in ("http", "https", "magnet") and ":" in url else ""


def link_domain(url: str | None) -> str:
    if not url:
        return ""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


_AGES = ((365 * 86400, "y"), (30 * 86400, "mo"), (7 * 86400, "w"), (86400, "d"), (3600, "h"), (60, "m"))


def age(when: datetime | None) -> str:
    """A compact age ("5m", "3h", "2d") as link aggregators show it; the full time goes in <time>."""
    if when is None:
        return ""
    seconds = int((utcnow() - as_utc(when)).total_seconds())
    for size, unit in _AGES:
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "now"


def iso(when: datetime | None) -> str:
    return lemmy_time(when) if when is not None else ""


def readable_time(when: datetime | None) -> str:
    return as_utc(when).strftime("%Y-%m-%d %H:%M UTC") if when is not None else ""


def query(base: str, **params: Any) -> str:
    """`base?a=1&b=2`, leaving out empty parameters (for sort, listing and paging links)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(kept)}" if kept else base


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


# The text limits the composer shows (domain/validation.py decides them).
COMPOSER_LIMITS = {"title": TITLE_MAX, "title_min": TITLE_MIN, "body": POST_BODY_MAX, "comment": COMMENT_MAX}

LISTING_NAMES = {"All": "All posts", "Local": "Local posts", "Subscribed": "Subscribed", "ModeratorView": "Moderated"}


def asset_version() -> str:
    """Changes whenever a static file does, so browsers never run a stale script with a new page."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.glob("*")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        md=page_markdown,
        md_inline=markdown_inline,
        age=age,
        iso=iso,
        readable_time=readable_time,
        domain=link_domain,
        handle=handle,
        community_url=community_url,
        person_url=person_url,
        safe_href=safe_href,
        image_src=image_src,
        host=lambda ap_id: urlsplit(ap_id).netloc.lower(),
    )
    env.globals.update(query=query, plural=plural, listing_names=LISTING_NAMES, asset_version=asset_version())
    env.globals.update(limits=COMPOSER_LIMITS)
    return env
