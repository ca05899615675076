"""Custom emojis (admins): create, edit, delete, as Lemmy 0.19. GetSite lists them (`custom_emojis`), and clients
offer them in their editors as `:shortcode:`."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions.access import check_is_admin
from moot.db.moderation import CustomEmoji, CustomEmojiKeyword
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.queries.site import load_local_site
from moot.queries.viewer import Actor


def _image_url(url: str) -> str:
    """An emoji is an image shown in every page: an http(s) link with a host, nothing else (`invalid_url`)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise LemmyError("invalid_url") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise LemmyError("invalid_url")
    return url


def _keywords(keywords: list[str]) -> list[str]:
    """Stored in lower case without surrounding spaces (as Lemmy), each once."""
    return list(dict.fromkeys(k.strip().lower() for k in keywords if k.strip()))


async def _set_keywords(session: AsyncSession, emoji_id: int, keywords: list[str]) -> None:
    await session.execute(delete(CustomEmojiKeyword).where(CustomEmojiKeyword.custom_emoji_id == emoji_id))
    session.add_all(CustomEmojiKeyword(custom_emoji_id=emoji_id, keyword=k) for k in _keywords(keywords))
    await session.flush()


async def create_emoji(
    session: AsyncSession,
    actor: Actor,
    *,
    shortcode: str,
    image_url: str,
    alt_text: str,
    category: str,
    keywords: list[str],
) -> CustomEmoji:
    check_is_admin(actor)
    loaded = await load_local_site(session)
    if loaded is None:
        raise LemmyError("couldnt_find_object", status=404)
    shortcode = shortcode.strip().lower()
    taken = await session.scalar(select(func.count()).where(CustomEmoji.shortcode == shortcode))
    if taken:
        # Lemmy answers with the database's unique-key violation.
        raise LemmyError("unknown", "a custom emoji with this shortcode already exists")
    now = utcnow()
    emoji = CustomEmoji(
        local_site_id=loaded.local_site.id,
        shortcode=shortcode,
        image_url=_image_url(image_url),
        alt_text=alt_text,
        category=category,
        published=now,
    )
    session.add(emoji)
    await session.flush()
    await _set_keywords(session, emoji.id, keywords)
    return emoji


async def edit_emoji(
    session: AsyncSession,
    actor: Actor,
    emoji_id: int,
    *,
    image_url: str,
    alt_text: str,
    category: str,
    keywords: list[str],
) -> CustomEmoji:
    """Everything but the shortcode changes; the keywords are replaced."""
    check_is_admin(actor)
    emoji = await session.get(CustomEmoji, emoji_id)
    if emoji is None:
        # What Lemmy answers when the row to update is not there.
        raise LemmyError("unknown", "Record not found", status=404)
    emoji.image_url = _image_url(image_url)
    emoji.alt_text = alt_text
    emoji.category = category
    emoji.updated = utcnow()
    await _set_keywords(session, emoji.id, keywords)
    return emoji


async def delete_emoji(session: AsyncSession, actor: Actor, emoji_id: int) -> None:
    """Gone with its keywords; deleting one that is not there succeeds (as Lemmy)."""
    check_is_admin(actor)
    await session.execute(delete(CustomEmojiKeyword).where(CustomEmojiKeyword.custom_emoji_id == emoji_id))
    await session.execute(delete(CustomEmoji).where(CustomEmoji.id == emoji_id))
