"""Personal blocks of people (communities are blocked in actions.communities)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.person import LocalUser, Person, PersonBlock
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.queries.viewer import Viewer


async def block_person(session: AsyncSession, viewer: Viewer, target_id: int, block: bool) -> None:
    if target_id == viewer.person_id:
        raise LemmyError("cant_block_yourself")
    target = await session.get(Person, target_id)
    if target is None:
        raise LemmyError("couldnt_find_person", status=404)
    target_is_admin = await session.scalar(select(LocalUser.admin).where(LocalUser.person_id == target_id))
    if target_is_admin:
        raise LemmyError("cant_block_admin")
    existing = await session.get(PersonBlock, (viewer.person_id, target_id))
    if block and existing is None:
        session.add(PersonBlock(person_id=viewer.person_id, target_id=target_id, published=utcnow()))
    elif not block and existing is not None:
        await session.delete(existing)
