"""Posts: create, edit, delete and restore, vote, save, mark read, hide."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from moot.actions import images, previews
from moot.actions.access import check_can_post, check_community_user_action
from moot.actions.urlblocklist import check_blocked_urls
from moot.db.comment import Comment
from moot.db.community import Community, CommunityLanguage
from moot.db.person import Person
from moot.db.post import Post, PostActions
from moot.db.search import index_post
from moot.db.site import LocalSite
from moot.domain import validation
from moot.domain.apids import post_ap_id
from moot.domain.errors import LemmyError
from moot.domain.languages import LANGUAGE_BY_ID
from moot.domain.ranking import controversy_rank
from moot.domain.timefmt import utcnow
from moot.federation import outbox
from moot.queries.site import load_local_site
from moot.queries.viewer import Actor
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


async def load_post_and_community(
    session: AsyncSession, post_id: int, *, lock_post: bool = False
) -> tuple[Post, Community | None]:
    """The post and its community in one statement (both kept in the session, so later `session.get` calls for
    either run no SQL). `lock_post` locks the post's row until the commit (PostgreSQL; SQLite's writers take
    turns anyway)."""
    query = select(Post, Community).outerjoin(Community, Community.id == Post.community_id).where(Post.id == post_id)
    row = (await session.execute(query.with_for_update(of=Post) if lock_post else query)).first()
    if row is None:
        raise LemmyError("couldnt_find_post", status=404)
    return row[0], row[1]


async def count_vote(
    session: AsyncSession, model: type[Post] | type[Comment], item: Post | Comment, old: int, new: int
) -> None:
    """A vote's change to the counters of a post or comment, as increments: two votes at once on the same item
    both count (an absolute value written from the copy read earlier would lose one). The row's new counts
    come back with the UPDATE; the controversy rank, computed from them, is written only when it changes (an
    item with upvotes only stays at 0). The item in the session gets the new values, so a view read in the
    same transaction shows them."""
    up = (1 if new == 1 else 0) - (1 if old == 1 else 0)
    down = (1 if new == -1 else 0) - (1 if old == -1 else 0)
    counted = (
        await session.execute(
            update(model)
            .where(model.id == item.id)
            .values(upvotes=model.upvotes + up, downvotes=model.downvotes + down, score=model.score + (new - old))
            .returning(model.upvotes, model.downvotes, model.score, model.controversy_rank)
            .execution_options(synchronize_session=False)
        )
    ).one()
    rank = controversy_rank(counted.upvotes, counted.downvotes)
    if rank != counted.controversy_rank:
        await session.execute(
            update(model)
            .where(model.id == item.id)
            .values(controversy_rank=rank)
            .execution_options(synchronize_session=False)
        )
    for name, value in (("upvotes", counted.upvotes), ("downvotes", counted.downvotes), ("score", counted.score)):
        set_committed_value(item, name, value)
    set_committed_value(item, "controversy_rank", rank)


async def check_downvotes_enabled(session: AsyncSession) -> None:
    """The site's `enable_downvotes`, read alone (one column, not the whole site)."""
    if await session.scalar(select(LocalSite.enable_downvotes)) is False:
        raise LemmyError("downvotes_are_disabled")


async def vote_post(
    session: AsyncSession,
    viewer: Actor,
    post: Post | int,
    score: int,
    *,
    federate: bool = True,
    mark_read: bool = False,
) -> Post:
    """+1, 0 (take the vote back) or -1. Counters and the controversy rank change in the same transaction.
    `mark_read` also marks the post read for the voter, on the same row."""
    if score not in (-1, 0, 1):
        raise LemmyError("couldnt_like_post")
    community: Community | None
    if isinstance(post, int):
        # The post's row is locked first, as a new comment locks it before the commenter's read mark: votes on
        # one post take turns (two votes of one person at once each see the vote they replace), and the two
        # writes take their locks in the same order.
        post, community = await load_post_and_community(session, post, lock_post=True)
    else:
        community = await session.get(Community, post.community_id)
    if score == -1:
        await check_downvotes_enabled(session)
    if community is not None:
        await check_community_user_action(session, viewer, community)
    row = await _actions_row(session, viewer.person_id, post.id)
    if mark_read:
        row.read = row.read or utcnow()
    old = row.like_score or 0
    if old == score:
        await session.flush()
        return post
    row.like_score = score if score != 0 else None
    row.liked = utcnow() if score != 0 else None
    await session.flush()
    if federate:
        await outbox.vote(session, viewer.person, post.ap_id, post.community_id, old, score)
    await count_vote(session, Post, post, old, score)
    return post


async def like_post(session: AsyncSession, viewer: Actor, post_id: int, score: int) -> Post:
    """A vote cast here through the API: bots may not vote, and voting on a post marks it read (as on Lemmy)."""
    if viewer.person.bot_account:
        raise LemmyError("invalid_bot_action")
    return await vote_post(session, viewer, post_id, score, mark_read=True)


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


async def mark_comments_read(session: AsyncSession, viewer: Actor, post: Post) -> None:
    """Opening a post remembers how many comments it had, for `unread_comments`. One upsert (commenting ends
    with it), unless the row is in the session already (then it is written from there)."""
    amount, now = post.comments, utcnow()
    row = session.sync_session.identity_map.get(identity_key(PostActions, (viewer.person_id, post.id)))
    if isinstance(row, PostActions):
        row.read_comments_amount, row.read_comments = amount, now
        await session.flush()
        return
    values = {"read_comments_amount": amount, "read_comments": now}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(PostActions)
        .values(person_id=viewer.person_id, post_id=post.id, **values)
        .on_conflict_do_update(index_elements=["person_id", "post_id"], set_=values)
    )


async def hide_posts(session: AsyncSession, viewer: Actor, post_ids: list[int], hide: bool) -> None:
    ids = set(post_ids)
    await _check_posts_exist(session, ids, "couldnt_hide_post")
    for row in await _actions_rows(session, viewer.person_id, ids):
        row.hidden = utcnow() if hide else None
    await session.flush()
