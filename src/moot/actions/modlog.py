"""The modlog's one writer: every moderator and admin action adds its row here, in the action's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.moderation import ModlogEntry
from moot.domain.timefmt import utcnow

# Lemmy's ModlogActionType, one per list of GetModlogResponse.
ModlogKind = Literal[
    "ModRemovePost",
    "ModLockPost",
    "ModFeaturePost",
    "ModRemoveComment",
    "ModRemoveCommunity",
    "ModBanFromCommunity",
    "ModAddCommunity",
    "ModTransferCommunity",
    "ModAdd",
    "ModBan",
    "ModHideCommunity",
    "AdminPurgePerson",
    "AdminPurgeCommunity",
    "AdminPurgePost",
    "AdminPurgeComment",
]


async def record(
    session: AsyncSession,
    kind: ModlogKind,
    mod_person_id: int,
    *,
    state: bool = True,
    other_person_id: int | None = None,
    community_id: int | None = None,
    post_id: int | None = None,
    comment_id: int | None = None,
    reason: str | None = None,
    featured_community: bool = False,
    expires: datetime | None = None,
    when: datetime | None = None,
) -> ModlogEntry:
    """`state` is the kind's yes/no (removed, locked, featured, banned, hidden; for ModAdd/ModAddCommunity:
    whether the person was *removed* as admin or moderator). `when` is the remote activity's time, else now."""
    entry = ModlogEntry(
        kind=kind,
        mod_person_id=mod_person_id,
        other_person_id=other_person_id,
        community_id=community_id,
        post_id=post_id,
        comment_id=comment_id,
        reason=reason or None,
        state=state,
        featured_community=featured_community,
        expires=expires,
        published=when or utcnow(),
    )
    session.add(entry)
    await session.flush()
    return entry
