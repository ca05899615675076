"""The modlog as Lemmy 0.19's GetModlog reads it: 15 lists, each newest first and paged on its own, in one statement.

Moot keeps one table (`ModlogEntry`, told apart by `kind`); Lemmy keeps fifteen and pages each of them separately,
so a page here is "the `limit` newest rows of each kind after `(page - 1) * limit`": a window (ROW_NUMBER over the
kind) does it in one statement, whatever the mix of kinds on the page.

Lemmy's filters, per kind (its db_views_moderator):
- `community_id`: the post's community for post and comment kinds, the entry's community for the community kinds;
  the site-wide kinds (ModBan, ModAdd, ModRemoveCommunity, the four purges) are listed only without it;
- `other_person_id`: the post's author (ModRemovePost, ModLockPost, ModFeaturePost), the comment's author
  (ModRemoveComment), the person acted on (bans, moderators, transfers, admins); the kinds that name nobody
  (ModHideCommunity, ModRemoveCommunity, the purges) are then empty;
- `post_id` keeps only the post kinds, `comment_id` only ModRemoveComment;
- `mod_person_id`: who acted, unless the reader may not know it (names hidden).
Entries about a community the reader may not read (LocalOnly, anonymously: queries/visibility.py) are left out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.moderation import ModlogEntry
from moot.db.person import Person
from moot.db.post import Post
from moot.queries.common import page_of, without_keys
from moot.queries.viewer import Viewer
from moot.queries.visibility import visible_communities

Moderator = aliased(Person, name="moderator")
Subject = aliased(Person, name="subject")

POST_KINDS: Final = ("ModRemovePost", "ModLockPost", "ModFeaturePost")
COMMENT_KINDS: Final = ("ModRemoveComment",)
COMMUNITY_PERSON_KINDS: Final = ("ModBanFromCommunity", "ModAddCommunity", "ModTransferCommunity")
SITE_PERSON_KINDS: Final = ("ModBan", "ModAdd")
PURGE_KINDS: Final = ("AdminPurgePerson", "AdminPurgeCommunity", "AdminPurgePost", "AdminPurgeComment")
ALL_KINDS: Final = (
    *POST_KINDS,
    *COMMENT_KINDS,
    "ModRemoveCommunity",
    *COMMUNITY_PERSON_KINDS,
    *SITE_PERSON_KINDS,
    "ModHideCommunity",
    *PURGE_KINDS,
)
# Listed only in the whole site's modlog (no community_id), as Lemmy's get_mod_log.
SITE_ONLY_KINDS: Final = frozenset({"ModRemoveCommunity", *SITE_PERSON_KINDS, *PURGE_KINDS})
# Naming no person: empty when the reader asks about one.
PERSONLESS_KINDS: Final = frozenset({"ModHideCommunity", "ModRemoveCommunity", *PURGE_KINDS})


@dataclass(frozen=True, slots=True)
class ModlogQuery:
    community_id: int | None = None
    mod_person_id: int | None = None
    other_person_id: int | None = None
    type_: str | None = None  # a ModlogActionType; None or "All" for every kind
    post_id: int | None = None
    comment_id: int | None = None
    page: int | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class ModlogRow:
    """One entry with what its view names: `moderator` is None when the reader may not see who acted;
    `subject` is the person acted on (the post's or comment's author for content kinds)."""

    entry: ModlogEntry
    moderator: Person | None
    subject: Person | None
    community: Community | None
    post: Post | None
    comment: Comment | None


def kinds_for(q: ModlogQuery) -> list[str]:
    kinds: list[str] = list(ALL_KINDS) if q.type_ in (None, "All") else [k for k in ALL_KINDS if k == q.type_]
    if q.community_id is not None:
        kinds = [k for k in kinds if k not in SITE_ONLY_KINDS]
    if q.other_person_id is not None:
        kinds = [k for k in kinds if k not in PERSONLESS_KINDS]
    if q.post_id is not None:
        kinds = [k for k in kinds if k in POST_KINDS]
    if q.comment_id is not None:
        kinds = [k for k in kinds if k in COMMENT_KINDS]
    return kinds


def _subject_id() -> ColumnElement[Any]:
    return case(
        (ModlogEntry.kind.in_(POST_KINDS), Post.creator_id),
        (ModlogEntry.kind.in_(COMMENT_KINDS), Comment.creator_id),
        else_=ModlogEntry.other_person_id,
    )


def _joined(stmt: Select[Any]) -> Select[Any]:
    """The entry's comment, post (named, or the comment's) and community (named, or the post's)."""
    return (
        stmt.outerjoin(Comment, Comment.id == ModlogEntry.comment_id)
        .outerjoin(Post, Post.id == func.coalesce(ModlogEntry.post_id, Comment.post_id))
        .outerjoin(Community, Community.id == func.coalesce(ModlogEntry.community_id, Post.community_id))
    )


def _complete() -> ColumnElement[bool]:
    """Rows whose view has everything it names (Lemmy's inner joins)."""
    return or_(
        and_(ModlogEntry.kind.in_(POST_KINDS), Post.id.is_not(None), Community.id.is_not(None)),
        and_(ModlogEntry.kind.in_(COMMENT_KINDS), Comment.id.is_not(None), Post.id.is_not(None)),
        and_(
            ModlogEntry.kind.in_((*COMMUNITY_PERSON_KINDS,)),
            Community.id.is_not(None),
            ModlogEntry.other_person_id.is_not(None),
        ),
        and_(ModlogEntry.kind.in_(("ModRemoveCommunity", "ModHideCommunity")), Community.id.is_not(None)),
        and_(ModlogEntry.kind.in_(SITE_PERSON_KINDS), ModlogEntry.other_person_id.is_not(None)),
        and_(ModlogEntry.kind == "AdminPurgePost", Community.id.is_not(None)),
        and_(ModlogEntry.kind == "AdminPurgeComment", Post.id.is_not(None)),
        ModlogEntry.kind.in_(("AdminPurgePerson", "AdminPurgeCommunity")),
    )


async def list_modlog(
    session: AsyncSession, q: ModlogQuery, viewer: Viewer | None, *, show_names: bool
) -> list[ModlogRow]:
    """Up to `limit` entries of each kind, newest first. `show_names`: whether the reader may know who acted (the
    caller applies the site's `hide_modlog_mod_names`); without it the `mod_person_id` filter is ignored too."""
    paging = page_of(q.page, q.limit)
    kinds = kinds_for(q)
    if not kinds:
        return []
    filters: list[ColumnElement[bool]] = [
        ModlogEntry.kind.in_(kinds),
        _complete(),
        or_(Community.id.is_(None), visible_communities(viewer)),
    ]
    if q.community_id is not None:
        filters.append(Community.id == q.community_id)
    if q.mod_person_id is not None and show_names:
        filters.append(ModlogEntry.mod_person_id == q.mod_person_id)
    if q.other_person_id is not None:
        filters.append(_subject_id() == q.other_person_id)
    if q.post_id is not None:
        filters.append(Post.id == q.post_id)
    if q.comment_id is not None:
        filters.append(ModlogEntry.comment_id == q.comment_id)
    newest_first = (ModlogEntry.published.desc(), ModlogEntry.id.desc())
    rank = func.row_number().over(partition_by=ModlogEntry.kind, order_by=newest_first)
    ranked = (
        _joined(select(ModlogEntry.id.label("entry_id"), rank.label("rank")).select_from(ModlogEntry))
        .where(*filters)
        .subquery("ranked")
    )
    columns: list[Any] = [ModlogEntry, Subject, Community, Post, Comment]
    stmt = _joined(select(*columns).select_from(ModlogEntry)).join(ranked, ranked.c.entry_id == ModlogEntry.id)
    stmt = stmt.outerjoin(Subject, Subject.id == _subject_id())
    options = [Subject, Community]
    if show_names:
        stmt = stmt.add_columns(Moderator).outerjoin(Moderator, Moderator.id == ModlogEntry.mod_person_id)
        options.append(Moderator)
    stmt = (
        stmt.where(ranked.c.rank > paging.offset, ranked.c.rank <= paging.offset + paging.limit)
        .order_by(*newest_first)
        .options(*without_keys(*options))
    )
    rows = (await session.execute(stmt)).all()
    return [
        ModlogRow(
            entry=row[0],
            subject=row[1],
            community=row[2],
            post=row[3],
            comment=row[4],
            moderator=row[5] if show_names else None,
        )
        for row in rows
    ]
