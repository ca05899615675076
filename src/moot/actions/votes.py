"""A vote's write, the same for posts and comments: the voter's row and the item's counters, moved by increments,
with the controversy rank of the counts they leave.

The caller has read the item with its row locked until the commit (PostgreSQL; SQLite's writers take turns
anyway): votes on one item take turns, so two votes of one person at once each see the vote they replace, and the
counts the move starts from are the latest. The statements are built once, with bound parameters (building one
costs more Python than the database takes to run it), as Core statements on the tables (through the ORM, a
data-modifying statement is copied for every execution and its cache key computed anew)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    DateTime,
    Float,
    Integer,
    SmallInteger,
    Table,
    Update,
    bindparam,
    case,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from moot.db.base import table_of
from moot.db.comment import Comment, CommentActions
from moot.db.fast_read import FastWrite
from moot.db.post import Post, PostActions
from moot.domain.ranking import controversy_rank
from moot.domain.timefmt import utcnow


class Voted(Protocol):
    """The item voted on, as locked: an entity of the session's, or a view's row of it."""

    @property
    def id(self) -> int: ...

    @property
    def upvotes(self) -> int: ...

    @property
    def downvotes(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Counts:
    """An item's vote counts, as a vote left them."""

    upvotes: int
    downvotes: int
    score: int
    controversy_rank: float


def hold(item: Post | Comment, counts: Counts) -> None:
    """The counts land on the item in the session: a view read later in the same transaction shows them."""
    for name, value in asdict(counts).items():
        set_committed_value(item, name, value)


@dataclass(frozen=True, slots=True)
class _Move:
    """What a vote does to an item's counters, given the vote it replaces."""

    up: int
    down: int
    score: int
    rank: float  # the controversy rank of the counts it leaves


def _move(upvotes: int, downvotes: int, old: int, new: int) -> _Move:
    up = (1 if new == 1 else 0) - (1 if old == 1 else 0)
    down = (1 if new == -1 else 0) - (1 if old == -1 else 0)
    return _Move(up, down, new - old, controversy_rank(upvotes + up, downvotes + down))


# The parameters of each move, named after the vote replaced: `up_was_down`, `rank_was_none`...
_WAS = {-1: "was_down", 0: "was_none", 1: "was_up"}
# No parameter is named as a column: an UPDATE would also set a column its parameters name.
_VOTER = bindparam("voter", type_=Integer)
_ITEM = bindparam("voted_item", type_=Integer)
Moved = ColumnElement[Any]  # a bound value, or one the statement picks (PostgreSQL)


class VoteWrite:
    """The statements of one kind of vote. `also`: the voter's row's other columns a vote writes (a post's read
    mark, a comment's post), each a bound parameter; `first_wins`: those of them an existing row keeps once set."""

    def __init__(
        self,
        model: type[Post] | type[Comment],
        actions: type[PostActions] | type[CommentActions],
        key: str,
        *,
        also: dict[str, BindParameter[Any]],
        first_wins: tuple[str, ...] = (),
    ) -> None:
        self._item, self._actions, self._key = table_of(model), table_of(actions), key
        self._also, self._first_wins = also, first_wins
        row = self._actions.c
        self._replaced = select(row.like_score).where(row.person_id == _VOTER, row[key] == _ITEM)
        self._pg = FastWrite(self._pg_vote())  # compiled once, run through the driver (db/fast_read.py)
        self._sqlite_upsert = self._upsert(sqlite_insert)
        up, down, score = (bindparam(f"move_{field}", type_=Integer) for field in ("up", "down", "score"))
        self._sqlite_count = self._count(up, down, score, bindparam("move_rank", type_=Float))
        item = self._item.c
        self._rank = update(self._item).where(item.id == _ITEM).values(controversy_rank=bindparam("new_rank", Float))

    def _upsert(self, insert: Callable[[Table], PgInsert | SqliteInsert]) -> PgInsert | SqliteInsert:
        """The voter's row: the vote (an unchanged one keeps its time) and the other columns of `also`."""
        row = self._actions.c
        new_row = insert(self._actions).values(
            person_id=_VOTER,
            like_score=bindparam("vote", type_=SmallInteger),
            liked=bindparam("vote_time", type_=DateTime(timezone=True)),
            **{self._key: _ITEM},
            **self._also,
        )
        kept = {name: func.coalesce(row[name], new_row.excluded[name]) for name in self._first_wins}
        return new_row.on_conflict_do_update(
            index_elements=["person_id", self._key],
            set_={
                "like_score": new_row.excluded.like_score,
                "liked": case(
                    (row.like_score.is_not_distinct_from(new_row.excluded.like_score), row.liked),
                    else_=new_row.excluded.liked,
                ),
                **kept,
            },
        )

    def _count(self, up: Moved, down: Moved, score: Moved, rank: Moved) -> Update:
        item = self._item.c
        return (
            update(self._item)
            .where(item.id == _ITEM)
            .values(
                upvotes=item.upvotes + up,
                downvotes=item.downvotes + down,
                score=item.score + score,
                controversy_rank=rank,
            )
            .returning(item.upvotes, item.downvotes, item.score, item.controversy_rank)
        )

    def _pg_vote(self) -> Update:
        """PostgreSQL's one statement: the vote replaced (read once, as a CTE), the upsert (a data-modifying CTE,
        which the rest of the statement does not see) and the counters, moved as the vote replaced says."""
        replaced = select(func.coalesce(self._replaced.scalar_subquery(), 0).label("score")).cte("replaced")
        old = select(replaced.c.score).scalar_subquery()

        def pick(field: str, kind: type[Integer] | type[Float[float]]) -> ColumnElement[Any]:
            return case({was: bindparam(f"{field}_{name}", type_=kind) for was, name in _WAS.items()}, value=old)

        return (
            self._count(pick("up", Integer), pick("down", Integer), pick("score", Integer), pick("rank", Float))
            .where(old != bindparam("cast", type_=Integer))
            .returning(old.label("replaced"))
            .add_cte(self._upsert(pg_insert).cte("vote"))
        )

    async def write(
        self, session: AsyncSession, person_id: int, item: Voted, score: int, **also: Any
    ) -> tuple[int, Counts | None]:
        """The voter's row and the item's counters; returns the vote it replaced (0: none) and the item's counts
        as written (none when the vote was already this one). `also`: the values of the parameters of `also`.

        The counters move by increments; the controversy rank is written with them, as computed from the counts
        of the item as locked (checked against the counts written, and written again if they differ). On
        PostgreSQL this is one statement: it reads the vote it replaces (its snapshot is taken after the item's
        lock: the latest vote) and picks the move that vote gives among the three computed here. SQLite reads
        the vote first, then runs the two writes in turn (one process: its round trips cost nothing)."""
        now = utcnow()
        ids = {"voter": person_id, "voted_item": item.id}
        voted = {**ids, "vote": score or None, "vote_time": now if score else None, **also}
        moves = {old: _move(item.upvotes, item.downvotes, old, score) for old in (-1, 0, 1)}
        if session.get_bind().dialect.name == "postgresql":
            picks = {
                f"{field}_{name}": getattr(moves[was], field)
                for was, name in _WAS.items()
                for field in ("up", "down", "score", "rank")
            }
            counted = await self._pg.first(session, {**voted, **picks, "cast": score})
            # No row: the vote was already this one, and no counter moved. Else the counts, then the vote replaced.
            old = score if counted is None else int(counted[4])
        else:
            old = (await session.scalar(self._replaced, ids)) or 0
            await session.execute(self._sqlite_upsert, voted)
            counted = None
            if old != score:
                moved = {f"move_{field}": value for field, value in asdict(moves[old]).items()}
                counted = (await session.execute(self._sqlite_count, {**ids, **moved})).one()
        return old, None if counted is None else await self._settled(session, item.id, counted)

    async def _settled(self, session: AsyncSession, item_id: int, counted: Sequence[Any]) -> Counts:
        """The counts an UPDATE returned (upvotes, downvotes, score and controversy rank, first in its row), with
        the controversy rank they give written if the row does not hold it yet."""
        upvotes, downvotes, score, held_rank = counted[:4]
        rank = controversy_rank(upvotes, downvotes)
        if rank != held_rank:
            await session.execute(self._rank, {"voted_item": item_id, "new_rank": rank})
        return Counts(upvotes, downvotes, score, rank)


# A vote through the API marks a post read (`read_time`, or None); a comment's voter's row names its post.
_READ_TIME = bindparam("read_time", type_=DateTime(timezone=True))
POST_VOTES = VoteWrite(Post, PostActions, "post_id", also={"read": _READ_TIME}, first_wins=("read",))
_ITEM_POST = bindparam("item_post", type_=Integer)
COMMENT_VOTES = VoteWrite(Comment, CommentActions, "comment_id", also={"post_id": _ITEM_POST})
