"""A person's account deleted, as Lemmy 0.19 does it when its `DeleteUser` arrives (`Delete` of the Person by
that person, with `removeData`).

The person is marked deleted and their profile emptied (Lemmy's `Person::delete_account`); with `remove_data`
their posts and comments are deleted too, their words replaced (Lemmy's `permadelete_for_creator`: the rows
stay, so replies keep their thread), the counters corrected as the author's own deletion corrects them
(actions/posts.delete_post, actions/comments.delete_comment: only what was neither deleted nor removed was
counted), and they leave the communities they moderated. The access gate (actions/access.py) lets only the
person themself do it. The activity itself is the caller's: `outbox.person_deleted` for a local account."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions.access import check_account_deletion
from moot.actions.people import _add_counts, _chunks, load_person
from moot.db.comment import Comment
from moot.db.community import Community, CommunityModerator
from moot.db.person import Person
from moot.db.post import Post
from moot.db.search import unindex_comments, unindex_posts
from moot.domain.timefmt import utcnow
from moot.queries.viewer import Actor

# What Lemmy writes in place of the words of a deleted account's content.
DELETED_REPLACEMENT_TEXT = "*Permanently Deleted*"


async def delete_person(session: AsyncSession, actor: Actor, person_id: int, remove_data: bool) -> Person:
    """Marks the person deleted (again is harmless: a repeated Delete changes nothing more)."""
    person = await load_person(session, person_id)
    check_account_deletion(actor, person)
    now = utcnow()
    person.deleted = True
    person.display_name = None
    person.avatar = None
    person.banner = None
    person.bio = None
    person.matrix_user_id = None
    person.updated = now
    if remove_data:
        await _delete_posts(session, person.id)
        await _delete_comments(session, person.id)
        await session.execute(delete(CommunityModerator).where(CommunityModerator.person_id == person.id))
    await session.flush()
    return person


async def _delete_posts(session: AsyncSession, person_id: int) -> None:
    rows = (
        await session.execute(
            select(Post.id, Post.community_id, Post.deleted, Post.removed).where(Post.creator_id == person_id)
        )
    ).all()
    if not rows:
        return
    now = utcnow()
    ids = [r.id for r in rows]
    for chunk in _chunks(ids):
        await session.execute(
            update(Post)
            .where(Post.id.in_(chunk))
            .values(
                deleted=True,
                name=DELETED_REPLACEMENT_TEXT,
                body=DELETED_REPLACEMENT_TEXT,
                url=None,
                url_match=None,
                embed_title=None,
                embed_description=None,
                embed_video_url=None,
                thumbnail_url=None,
                url_content_type=None,
                alt_text=None,
                updated=now,
            )
            .execution_options(synchronize_session="fetch")
        )
    counted = [r for r in rows if not (r.deleted or r.removed)]
    await _add_counts(session, Community.posts, Counter(r.community_id for r in counted), -1)
    await _add_counts(session, Person.post_count, Counter(person_id for _ in counted), -1)
    await unindex_posts(session, ids)


async def _delete_comments(session: AsyncSession, person_id: int) -> None:
    rows = (
        await session.execute(
            select(Comment.id, Comment.post_id, Comment.deleted, Comment.removed, Post.community_id)
            .join(Post, Post.id == Comment.post_id)
            .where(Comment.creator_id == person_id)
        )
    ).all()
    if not rows:
        return
    now = utcnow()
    ids = [r.id for r in rows]
    for chunk in _chunks(ids):
        await session.execute(
            update(Comment)
            .where(Comment.id.in_(chunk))
            .values(deleted=True, content=DELETED_REPLACEMENT_TEXT, updated=now)
            .execution_options(synchronize_session="fetch")
        )
    counted = [r for r in rows if not (r.deleted or r.removed)]
    await _add_counts(session, Post.comments, Counter(r.post_id for r in counted), -1)
    await _add_counts(session, Community.comments, Counter(r.community_id for r in counted), -1)
    await _add_counts(session, Person.comment_count, Counter(person_id for _ in counted), -1)
    await unindex_comments(session, ids)
