"""Custom emojis with their keywords (Lemmy's CustomEmojiView), for GetSite and the emoji endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.moderation import CustomEmoji, CustomEmojiKeyword
from moot.domain.errors import LemmyError


@dataclass(frozen=True, slots=True)
class CustomEmojiView:
    emoji: CustomEmoji
    keywords: list[CustomEmojiKeyword]


async def _views(session: AsyncSession, emoji_id: int | None) -> list[CustomEmojiView]:
    stmt = (
        select(CustomEmoji, CustomEmojiKeyword)
        .outerjoin(CustomEmojiKeyword, CustomEmojiKeyword.custom_emoji_id == CustomEmoji.id)
        .order_by(CustomEmoji.category, CustomEmoji.id, CustomEmojiKeyword.keyword)
    )
    if emoji_id is not None:
        stmt = stmt.where(CustomEmoji.id == emoji_id)
    views: dict[int, CustomEmojiView] = {}
    for emoji, keyword in (await session.execute(stmt)).all():
        view = views.setdefault(emoji.id, CustomEmojiView(emoji=emoji, keywords=[]))
        if keyword is not None:
            view.keywords.append(keyword)
    return list(views.values())


async def all_emojis(session: AsyncSession) -> list[CustomEmojiView]:
    """Every emoji of the site, by category (as Lemmy orders them), in one statement."""
    return await _views(session, None)


async def get_emoji_view(session: AsyncSession, emoji_id: int) -> CustomEmojiView:
    found = await _views(session, emoji_id)
    if not found:
        raise LemmyError("unknown", "Record not found", status=404)
    return found[0]
