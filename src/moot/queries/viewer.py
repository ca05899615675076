"""Who is asking: the logged-in account behind a JWT, or nobody."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Integer, String, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.community import CommunityModerator
from moot.db.fast_read import Entities, EntityRow, FastRead
from moot.db.person import LocalUser, LoginToken, Person
from moot.domain.tokens import decode_login


class Actor(Protocol):
    """Whoever performs an action: a logged-in local account, or a remote person arriving by federation."""

    @property
    def person(self) -> Person: ...

    @property
    def person_id(self) -> int: ...

    @property
    def is_admin(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class RemoteActor:
    """A person of another instance acting here (never an admin of this site)."""

    person: Person

    @property
    def person_id(self) -> int:
        return self.person.id

    @property
    def is_admin(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Viewer:
    local_user: LocalUser
    person: Person
    token: str
    # Whether they moderate some community, read with the login (the pages' header offers them the reports queue).
    moderates_any: bool = False

    @property
    def person_id(self) -> int:
        return self.person.id

    @property
    def is_admin(self) -> bool:
        return self.local_user.admin


_USER, _PERSON = Entities(LocalUser), Entities(Person)
# Built once and sent to the driver (db/fast_read.py): every logged-in request runs it.
_VIEWER = FastRead(
    select(*_USER.columns, *_PERSON.columns, exists().where(CommunityModerator.person_id == Person.id))
    .join(Person, Person.id == LocalUser.person_id)
    .join(LoginToken, LoginToken.user_id == LocalUser.id)
    .where(
        LoginToken.token == bindparam("token", type_=String),
        LocalUser.id == bindparam("user_id", type_=Integer),
        Person.deleted.is_(False),
    )
)


async def load_viewer(session: AsyncSession, token: str | None, secret: str) -> Viewer | None:
    """A token counts only if we signed it and its login row still exists; anything else is anonymous. The
    account's entities are the session's no longer (as if read in a session of their own, which closed)."""
    if not token:
        return None
    user_id = decode_login(token, secret)
    if user_id is None:
        return None
    row = await _VIEWER.first(session, {"token": token, "user_id": user_id})
    if row is None:
        return None
    read = EntityRow(session, row)
    return Viewer(read.detached(_USER), read.detached(_PERSON), token, moderates_any=bool(read.value()))
