"""Posts: create, edit, delete and restore, vote, save, mark read, hide."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    DateTime,
    Integer,
    Table,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from moot.actions import images, previews
from moot.actions.access import banned_here, check_can_post, check_community_user_action, check_not_a_bot
from moot.actions.urlblocklist import check_blocked_urls
from moot.actions.votes import POST_VOTES, Counts, hold
from moot.db.base import table_of
from moot.db.community import Community, CommunityLanguage
from moot.db.fast_read import Entities, EntityRow, FastRead
from moot.db.person import Person
from moot.db.post import Post, PostActions
from moot.db.search import index_post
from moot.db.site import LocalSite
from moot.domain import validation
from moot.domain.apids import post_ap_id
from moot.domain.errors import LemmyError
from moot.domain.languages import LANGUAGE_BY_ID
from moot.domain.timefmt import utcnow
from moot.federation import outbox
from moot.queries.posts import PostView, post_to_vote_on
from moot.queries.rows import PostRow
from moot.queries.site import load_local_site
from moot.queries.viewer import Actor, Viewer
from moot.settings import Settings


async def load_post(session: AsyncSession, post_id: int) -> Post:
    post = await session.get(Post, post_id)
    if post is None:
        raise LemmyError("couldnt_find_post", status=404)
    return post


# Lemmy refuses a longer list of ids in one request (MAX_API_PARAM_ELEMENTS).
MAX_IDS = 10_000


async def _check_language(session: AsyncSession, community_id: int, language_id: int | None) -> int:
    """A known language, and one of the community's if it restricts them (no rows: every language)."""
    if language_id is None:
        return 0
    if language_id not in LANGUAGE_BY_ID:
        raise LemmyError("language_not_allowed")
    allowed = set(
        await session.scalars(
            select(CommunityLanguage.language_id).where(CommunityLanguage.community_id == community_id)
        )
    )
    if allowed and language_id not in allowed:
        raise LemmyError("language_not_allowed")
    return language_id


async def _check_posts_exist(session: AsyncSession, post_ids: set[int], error: str) -> None:
    if len(post_ids) > MAX_IDS:
        raise LemmyError("too_many_items")
    found = set(await session.scalars(select(Post.id).where(Post.id.in_(post_ids)))) if post_ids else set()
    if found != post_ids:
        raise LemmyError(error)


async def create_post(
    session: AsyncSession,
    settings: Settings,
    viewer: Actor,
    *,
    community_id: int,
    name: str,
    url: str | None = None,
    body: str | None = None,
    alt_text: str | None = None,
    nsfw: bool = False,
    language_id: int | None = None,
    honeypot: str | None = None,
    ap_id: str | None = None,
    published: datetime | None = None,
    updated: datetime | None = None,
    custom_thumbnail: str | None = None,
) -> Post:
    """A new post is upvoted by its author and marked read for them, as on Lemmy. `ap_id` is given for
    posts that come from another instance (they keep their id and are not local, and their document's
    `published` and `updated`)."""
    if honeypot:
        raise LemmyError("honeypot_failed")
    # The form is checked before anything is looked up, in Lemmy's order.
    loaded = await load_local_site(session)
    slurs = validation.slur_pattern(loaded.local_site.slur_filter_regex if loaded else None)
    name = validation.check_title(name)
    validation.check_slurs(name, slurs)
    url = validation.clean_url(url)
    validation.check_alt_text(alt_text)
    body = validation.check_post_body(validation.remove_slurs(previews.original_markdown(settings, body), slurs))
    await check_blocked_urls(session, url, body)
    community = await session.get(Community, community_id)
    if community is None:
        raise LemmyError("couldnt_find_community", status=404)
    await check_can_post(session, viewer, community)
    # Every post of an NSFW community is NSFW, whatever the form says.
    nsfw = nsfw or community.nsfw
    if nsfw and loaded is not None and not loaded.local_site.enable_nsfw:
        nsfw = False
    now = published or utcnow()
    post = Post(
        name=name,
        url=url,
        url_match=validation.normalize_url_for_match(url) if url else None,
        body=body or None,
        alt_text=alt_text or None,
        creator_id=viewer.person_id,
        community_id=community_id,
        nsfw=nsfw,
        language_id=await _check_language(session, community_id, language_id),
        ap_id=ap_id or f"urn:moot:pending:{uuid.uuid4()}",
        local=ap_id is None,
        instance_id=viewer.person.instance_id,
        published=now,
        updated=updated,
        newest_comment_time=now,
        newest_comment_time_necro=now,
    )
    session.add(post)
    await session.flush()
    if ap_id is None:
        post.ap_id = post_ap_id(settings.base_url, post.id)
    # The link's preview is read in the background (actions/previews.py), never while the author waits.
    post.thumbnail_url = await previews.custom_thumbnail(session, settings, custom_thumbnail)
    await previews.queue_preview(session, settings, post)
    await previews.record_markdown_images(session, settings, body)
    await session.execute(update(Community).where(Community.id == community_id).values(posts=Community.posts + 1))
    await session.execute(update(Person).where(Person.id == viewer.person_id).values(post_count=Person.post_count + 1))
    # The author's own upvote is implied by the Create on every server; it is not federated on its own.
    await vote_post(session, viewer, post, 1, federate=False)
    await mark_read(session, viewer, [post.id], read=True)
    await index_post(session, post)
    await outbox.post_saved(session, viewer.person, post, created=True)
    return post


async def _slur_filter(session: AsyncSession) -> re.Pattern[str] | None:
    loaded = await load_local_site(session)
    return validation.slur_pattern(loaded.local_site.slur_filter_regex if loaded else None)


async def edit_post(
    session: AsyncSession,
    viewer: Actor,
    post_id: int,
    changes: dict[str, object],
    updated: datetime | None = None,
    *,
    settings: Settings,
) -> Post:
    """`updated` is the time of a remote edit, from its Update (every server shows the same); else now. A new URL
    (or `custom_thumbnail`) queues the link's preview again."""
    post = await load_post(session, post_id)
    if post.creator_id != viewer.person_id:
        raise LemmyError("no_post_edit_allowed")
    community = await session.get(Community, post.community_id)
    if community is not None:
        await check_community_user_action(session, viewer, community)
    slurs = await _slur_filter(session) if changes.keys() & {"name", "body"} else None
    if "name" in changes and changes["name"] is not None:
        post.name = validation.check_title(str(changes["name"]))
        validation.check_slurs(post.name, slurs)
    url_before = post.url
    if "url" in changes and changes["url"] is not None:
        post.url = validation.clean_url(str(changes["url"]))
        post.url_match = validation.normalize_url_for_match(post.url) if post.url else None
    if "body" in changes and changes["body"] is not None:
        body = previews.original_markdown(settings, str(changes["body"]))
        post.body = validation.check_post_body(validation.remove_slurs(body, slurs)) or None
    # What the edit brings is checked against the blocked URLs, not what it leaves as it was (as Lemmy).
    await check_blocked_urls(session, *(getattr(post, key) for key in ("url", "body") if changes.get(key)))
    if "alt_text" in changes and changes["alt_text"] is not None:
        validation.check_alt_text(str(changes["alt_text"]))
        post.alt_text = str(changes["alt_text"]) or None
    if changes.get("nsfw") is not None:
        post.nsfw = bool(changes["nsfw"])
    if changes.get("language_id") is not None:
        post.language_id = await _check_language(session, post.community_id, int(str(changes["language_id"])))
    post.updated = updated or utcnow()
    if post.url != url_before or changes.get("custom_thumbnail"):
        await _requeue_preview(session, settings, post, changes.get("custom_thumbnail"), post.url != url_before)
    await previews.record_markdown_images(session, settings, post.body if changes.get("body") else None)
    await session.flush()
    await index_post(session, post)
    await outbox.post_saved(session, viewer.person, post, created=False)
    if post.url != url_before:
        # A replaced image that was uploaded here and is shown nowhere else goes (the file by the image job).
        await images.release_uploads(session, [url_before])
    return post


async def _requeue_preview(
    session: AsyncSession, settings: Settings, post: Post, thumbnail: object, url_changed: bool
) -> None:
    """A new URL is read again; a new custom thumbnail replaces the old thumbnail (Lemmy's EditPost)."""
    custom = await previews.custom_thumbnail(session, settings, str(thumbnail)) if thumbnail else None
    if url_changed:
        previews.clear_preview(post)
    if custom is not None:
        post.thumbnail_url = custom
    await previews.queue_preview(session, settings, post)


async def delete_post(session: AsyncSession, viewer: Actor, post_id: int, deleted: bool) -> Post:
    """The author deletes or restores; a moderator's removal is a different flag and a different action."""
    post = await load_post(session, post_id)
    if post.deleted == deleted:
        raise LemmyError("couldnt_update_post")
    community = await session.get(Community, post.community_id)
    if community is not None:
        await check_community_user_action(session, viewer, community)
    if post.creator_id != viewer.person_id:
        raise LemmyError("no_post_edit_allowed")
    # Counted are posts neither deleted nor removed: deleting a removed post changes no count.
    was_counted = not (post.deleted or post.removed)
    post.deleted = deleted
    post.updated = utcnow()
    if was_counted != (not (post.deleted or post.removed)):
        delta = -1 if deleted else 1
        await session.execute(
            update(Community).where(Community.id == post.community_id).values(posts=Community.posts + delta)
        )
        await session.execute(
            update(Person).where(Person.id == post.creator_id).values(post_count=Person.post_count + delta)
        )
    await outbox.deleted(session, viewer.person, post.ap_id, post.community_id, restored=not deleted)
    if deleted:
        # Its image, when uploaded here and shown nowhere else, goes with it (the file by the image job).
        await images.release_uploads(session, [post.url, post.thumbnail_url])
    return post


async def _actions_row(session: AsyncSession, person_id: int, post_id: int) -> PostActions:
    row = await session.get(PostActions, (person_id, post_id))
    if row is None:
        row = PostActions(person_id=person_id, post_id=post_id)
        session.add(row)
    return row


async def _actions_rows(session: AsyncSession, person_id: int, post_ids: set[int]) -> list[PostActions]:
    """The rows for many posts at once (created where missing): one query, not one per post."""
    rows = list(
        await session.scalars(
            select(PostActions).where(PostActions.person_id == person_id, PostActions.post_id.in_(post_ids))
        )
    )
    missing = post_ids - {row.post_id for row in rows}
    fresh = [PostActions(person_id=person_id, post_id=post_id) for post_id in missing]
    session.add_all(fresh)
    return rows + fresh


_Voted = TypeVar("_Voted", Post, PostRow)  # the post voted on: an entity of the session's, or a view's row


@dataclass(frozen=True, slots=True)
class _VoteTarget(Generic[_Voted]):
    post: _Voted  # its counts as locked: the vote's move starts from them
    community: Community | None
    banned: bool  # the voter, from the post's community (the access gate's question, read with the post)
    downvotes_enabled: bool


# The vote's statements are built once, with bound parameters: building one costs more Python (about a
# millisecond) than the database takes to run it. The target is sent to the driver (db/fast_read.py): the post
# and the community come back as columns, made entities of the session's here.
_POSTS, _COMMUNITIES = Entities(Post), Entities(Community)
_VOTE_TARGET = FastRead(
    select(
        *_POSTS.columns,
        *_COMMUNITIES.columns,
        banned_here(Post.community_id, bindparam("voter", type_=Integer)),
        select(LocalSite.enable_downvotes).scalar_subquery(),
    )
    .outerjoin(Community, Community.id == Post.community_id)
    .where(Post.id == bindparam("voted_post", type_=Integer))
    .with_for_update(of=Post)
)


async def _vote_target(session: AsyncSession, person_id: int, post_id: int) -> _VoteTarget[Post]:
    """The post, its community, the voter's ban there and the site's `enable_downvotes`: one statement. The
    post's row is locked until the commit (PostgreSQL; SQLite's writers take turns anyway), so that votes on one
    post take turns: two votes of one person at once each see the vote they replace, and the counts read here
    are the latest. The post and the community are the session's (later `session.get` calls run no SQL)."""
    row = await _VOTE_TARGET.first(session, {"voter": person_id, "voted_post": post_id})
    if row is None:
        raise LemmyError("couldnt_find_post", status=404)
    read = EntityRow(session, row)
    post, community = read.entity(_POSTS), read.entity_or_none(_COMMUNITIES)
    # No site yet (never in a running server) is no switch turned off, as before.
    return _VoteTarget(post, community, banned=bool(read.value()), downvotes_enabled=read.value() is not False)


# A post's read marks are written by Core statements on the tables, built once (as a vote's: actions/votes.py).
_POST = table_of(Post)
_POST_ACTIONS = table_of(PostActions)


def _check_score(score: int) -> None:
    if score not in (-1, 0, 1):
        raise LemmyError("couldnt_like_post")


async def _cast(
    session: AsyncSession, viewer: Actor, target: _VoteTarget[Any], score: int, *, read: bool = False, federate: bool
) -> Counts | None:
    """The vote on a target read with the post's row locked: its checks, its write and its activity. Returns
    the post's counts as written (none when the vote was already this one)."""
    if score == -1 and not target.downvotes_enabled:
        raise LemmyError("downvotes_are_disabled")
    if target.community is not None:
        await check_community_user_action(session, viewer, target.community, banned=target.banned)
    post = target.post
    old, counts = await POST_VOTES.write(session, viewer.person_id, post, score, read_time=utcnow() if read else None)
    if federate and old != score:
        await outbox.vote(session, viewer.person, post.ap_id, post.community_id, old, score)
    return counts


async def vote_post(
    session: AsyncSession,
    viewer: Actor,
    post: Post | int,
    score: int,
    *,
    federate: bool = True,
) -> Post:
    """+1, 0 (take the vote back) or -1. Counters and the controversy rank change in the same transaction. The
    entity path, for the inbox and the author's own first vote; a vote cast here by hand is `like_post`."""
    _check_score(score)
    # The post's row is locked first, as a new comment locks it before the commenter's read mark: the two writes
    # take their locks in the same order.
    target = await _vote_target(session, viewer.person_id, post if isinstance(post, int) else post.id)
    counts = await _cast(session, viewer, target, score, federate=federate)
    if counts is not None:
        hold(target.post, counts)
    return target.post


async def like_post(session: AsyncSession, viewer: Viewer, post_id: int, score: int) -> PostView:
    """A vote cast here through the API: bots may not vote, and voting on a post marks it read (as on Lemmy).
    Returns the post's view as the vote leaves it: read first, with the post's row locked (the vote's target
    and its answer in one statement, `post_to_vote_on`), with what the vote changed written into it."""
    check_not_a_bot(viewer.person)
    _check_score(score)
    found = await post_to_vote_on(session, post_id, viewer)
    view = found.view
    target = _VoteTarget(view.post, found.community, view.banned_from_community, found.downvotes_enabled)
    counts = await _cast(session, viewer, target, score, read=True, federate=True)
    post = view.post if counts is None else dataclasses.replace(view.post, **asdict(counts))
    return dataclasses.replace(view, post=post, my_vote=score or None, read=True)


async def save_post(session: AsyncSession, viewer: Actor, post_id: int, save: bool) -> None:
    """Saving (or unsaving) also marks the post read, as Lemmy does."""
    await load_post(session, post_id)
    row = await _actions_row(session, viewer.person_id, post_id)
    row.saved = utcnow() if save else None
    row.read = row.read or utcnow()
    await session.flush()


async def mark_read(session: AsyncSession, viewer: Actor, post_ids: list[int], read: bool) -> None:
    ids = set(post_ids)
    await _check_posts_exist(session, ids, "couldnt_mark_post_as_read")
    for row in await _actions_rows(session, viewer.person_id, ids):
        row.read = (row.read or utcnow()) if read else None
    await session.flush()


def opening_writes(view: PostView) -> bool:
    """Whether opening a post changes the reader's marks: not when they read it before and no comment came since
    (GetPost and the post's page both skip the write then)."""
    return not (view.read and view.unread_comments == 0)


def _opened_statement(insert: Callable[[Table], PgInsert | SqliteInsert]) -> PgInsert | SqliteInsert:
    post, actions = _POST.c, _POST_ACTIONS
    now = bindparam("opened_at", type_=DateTime(timezone=True))
    reader = bindparam("reader", type_=Integer)
    # From the post's row: nothing is written for a post purged since it was read, and the count is the latest.
    opened = select(reader, post.id, now, post.comments, now).where(post.id == bindparam("opened_post", type_=Integer))
    row = insert(actions).from_select(["person_id", "post_id", "read", "read_comments_amount", "read_comments"], opened)
    return row.on_conflict_do_update(
        index_elements=["person_id", "post_id"],
        set_={
            "read": func.coalesce(actions.c.read, row.excluded.read),
            "read_comments_amount": row.excluded.read_comments_amount,
            "read_comments": row.excluded.read_comments,
        },
    )


_OPENED = {"postgresql": _opened_statement(pg_insert), "sqlite": _opened_statement(sqlite_insert)}


async def mark_opened(session: AsyncSession, viewer: Actor, post_id: int) -> None:
    """Opening a post marks it read (an earlier read time stays) and remembers how many comments it had, for
    `unread_comments`: one upsert."""
    statement = _OPENED[session.get_bind().dialect.name]
    await session.execute(statement, {"reader": viewer.person_id, "opened_post": post_id, "opened_at": utcnow()})


async def mark_comments_read(session: AsyncSession, viewer: Actor, post: Post) -> None:
    """A new comment's author has read the thread up to it: the post's comment count remembered, for
    `unread_comments`. One upsert, unless the row is in the session already (then it is written from there).
    Opening a post goes through `mark_opened`."""
    amount, now = post.comments, utcnow()
    row = session.sync_session.identity_map.get(identity_key(PostActions, (viewer.person_id, post.id)))
    if isinstance(row, PostActions):
        row.read_comments_amount, row.read_comments = amount, now
        await session.flush()
        return
    postgresql = session.get_bind().dialect.name == "postgresql"
    marked = {"reader": viewer.person_id, "read_post": post.id, "amount": amount, "read_time": now}
    await session.execute(_MARK_COMMENTS_READ[postgresql], marked)


def _mark_comments_read(insert: Callable[[Table], PgInsert | SqliteInsert]) -> PgInsert | SqliteInsert:
    """`mark_comments_read`'s upsert, built once with bound parameters (on the table: see _POST)."""
    values = {
        "read_comments_amount": bindparam("amount", type_=Integer),
        "read_comments": bindparam("read_time", type_=DateTime(timezone=True)),
    }
    return (
        insert(_POST_ACTIONS)
        .values(person_id=bindparam("reader", type_=Integer), post_id=bindparam("read_post", type_=Integer), **values)
        .on_conflict_do_update(index_elements=["person_id", "post_id"], set_=values)
    )


_MARK_COMMENTS_READ = {True: _mark_comments_read(pg_insert), False: _mark_comments_read(sqlite_insert)}


async def hide_posts(session: AsyncSession, viewer: Actor, post_ids: list[int], hide: bool) -> None:
    ids = set(post_ids)
    await _check_posts_exist(session, ids, "couldnt_hide_post")
    for row in await _actions_rows(session, viewer.person_id, ids):
        row.hidden = utcnow() if hide else None
    await session.flush()
