"""PersonView: a person, their counts and whether they administer this site."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.instance import Instance
from moot.db.person import InstanceBlock, Person, PersonBlock
from moot.domain.enums import ListingType, SortType
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.queries.common import escape_like, is_admin, page_of
from moot.queries.rows import view_row


@view_row
class PersonView:
    person: Person
    is_admin: bool


# Built once: every profile page and GET /user reads it (building and hashing it again was a third of its Python).
_PERSON_VIEW = select(Person, is_admin(Person.id)).where(Person.id == bindparam("person_id", type_=Integer))


async def get_person_view(session: AsyncSession, person_id: int) -> PersonView:
    row = (await session.execute(_PERSON_VIEW, {"person_id": person_id})).first()
    if row is None:
        raise LemmyError("couldnt_find_person", status=404)
    return PersonView(person=row[0], is_admin=bool(row[1]))


async def find_person_id(session: AsyncSession, name: str, local_domain: str) -> int:
    base, _, host = name.strip().lstrip("@").partition("@")
    stmt = select(Person.id).where(func.lower(Person.name) == base.lower())
    if not host or host.lower() == local_domain.lower():
        stmt = stmt.where(Person.local.is_(True))
    else:
        stmt = stmt.join(Instance, Instance.id == Person.instance_id).where(Instance.domain == host.lower())
    found = await session.scalar(stmt.limit(1))
    if found is None:
        raise LemmyError("couldnt_find_person", status=404)
    return found


async def admins(session: AsyncSession) -> list[PersonView]:
    rows = await session.scalars(
        select(Person).where(is_admin(Person.id), Person.deleted.is_(False)).order_by(Person.id)
    )
    return [PersonView(person=p, is_admin=True) for p in rows.all()]


async def banned_people(session: AsyncSession) -> list[PersonView]:
    """Lemmy's banned list: this site's people under a site ban that has not expired (admins may be banned too)."""
    rows = await session.execute(
        select(Person, is_admin(Person.id))
        .where(
            Person.local.is_(True),
            Person.banned.is_(True),
            Person.deleted.is_(False),
            or_(Person.ban_expires.is_(None), Person.ban_expires > utcnow()),
        )
        .order_by(Person.id)
    )
    return [PersonView(person=p, is_admin=bool(a)) for p, a in rows.all()]


_PEOPLE_SORTS: dict[SortType, Any] = {
    SortType.NEW: Person.published.desc(),
    SortType.NEW_COMMENTS: Person.published.desc(),
    SortType.OLD: Person.published.asc(),
}


async def search_people(
    session: AsyncSession,
    text: str,
    page: int | None,
    limit: int | None,
    sort: SortType | None = None,
    listing_type: ListingType | None = None,
) -> list[PersonView]:
    """Name or display name contains the text (spaces match any run, as Lemmy's fuzzy search)."""
    paging = page_of(page, limit)
    if listing_type == ListingType.SUBSCRIBED:
        return []  # nobody follows people
    pattern = f"%{escape_like(text).replace(' ', '%')}%"
    stmt = select(Person, is_admin(Person.id)).where(
        Person.deleted.is_(False),
        or_(Person.name.ilike(pattern, escape="\\"), Person.display_name.ilike(pattern, escape="\\")),
    )
    if listing_type == ListingType.LOCAL:
        stmt = stmt.where(Person.local.is_(True))
    # Lemmy's default is comment score; without per-person scores, the comment count stands in for it.
    order = _PEOPLE_SORTS.get(sort, Person.comment_count.desc()) if sort else Person.comment_count.desc()
    rows = await session.execute(paging.of(stmt.order_by(order, Person.id)))
    return [PersonView(person=p, is_admin=bool(a)) for p, a in rows.all()]


async def blocked_people(session: AsyncSession, person_id: int) -> list[Person]:
    rows = await session.scalars(
        select(Person).join(PersonBlock, PersonBlock.target_id == Person.id).where(PersonBlock.person_id == person_id)
    )
    return list(rows.all())


async def blocked_instances(session: AsyncSession, person_id: int) -> list[Instance]:
    rows = await session.scalars(
        select(Instance)
        .join(InstanceBlock, InstanceBlock.instance_id == Instance.id)
        .where(InstanceBlock.person_id == person_id)
    )
    return list(rows.all())


async def find_instance_id(session: AsyncSession, domain: str) -> int | None:
    """The instance this server knows by that domain (any case), or None."""
    found: int | None = await session.scalar(select(Instance.id).where(Instance.domain == domain.strip().lower()))
    return found
