"""What a person's settings backup lists (Lemmy 0.19's `LocalUser::export_backup`), and the local rows the ids of
an imported backup name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.comment import Comment, CommentActions
from moot.db.community import Community, CommunityBlock, CommunityFollower
from moot.db.instance import Instance
from moot.db.person import InstanceBlock, Person, PersonBlock
from moot.db.post import Post, PostActions


@dataclass(frozen=True, slots=True)
class BackupLists:
    """ActivityPub ids, except `blocked_instances` (domains), oldest first."""

    followed_communities: list[str]
    saved_posts: list[str]
    saved_comments: list[str]
    blocked_communities: list[str]
    blocked_users: list[str]
    blocked_instances: list[str]


async def backup_lists(session: AsyncSession, person_id: int) -> BackupLists:
    """Every community the person follows (accepted or pending, as Lemmy), every post and comment they saved,
    every community, person and instance they block."""
    followed = await session.scalars(
        select(Community.ap_id)
        .join(CommunityFollower, CommunityFollower.community_id == Community.id)
        .where(CommunityFollower.person_id == person_id)
        .order_by(CommunityFollower.published, Community.id)
    )
    saved_posts = await session.scalars(
        select(Post.ap_id)
        .join(PostActions, PostActions.post_id == Post.id)
        .where(PostActions.person_id == person_id, PostActions.saved.is_not(None))
        .order_by(PostActions.saved, Post.id)
    )
    saved_comments = await session.scalars(
        select(Comment.ap_id)
        .join(CommentActions, CommentActions.comment_id == Comment.id)
        .where(CommentActions.person_id == person_id, CommentActions.saved.is_not(None))
        .order_by(CommentActions.saved, Comment.id)
    )
    blocked_communities = await session.scalars(
        select(Community.ap_id)
        .join(CommunityBlock, CommunityBlock.community_id == Community.id)
        .where(CommunityBlock.person_id == person_id)
        .order_by(CommunityBlock.published, Community.id)
    )
    blocked_users = await session.scalars(
        select(Person.ap_id)
        .join(PersonBlock, PersonBlock.target_id == Person.id)
        .where(PersonBlock.person_id == person_id)
        .order_by(PersonBlock.published, Person.id)
    )
    blocked_instances = await session.scalars(
        select(Instance.domain)
        .join(InstanceBlock, InstanceBlock.instance_id == Instance.id)
        .where(InstanceBlock.person_id == person_id)
        .order_by(InstanceBlock.published, Instance.id)
    )
    return BackupLists(
        followed_communities=list(followed),
        saved_posts=list(saved_posts),
        saved_comments=list(saved_comments),
        blocked_communities=list(blocked_communities),
        blocked_users=list(blocked_users),
        blocked_instances=list(blocked_instances),
    )


# The kinds a backup names, and the table of each.
KINDS: dict[str, type[Community] | type[Person] | type[Post] | type[Comment]] = {
    "community": Community,
    "person": Person,
    "post": Post,
    "comment": Comment,
}


async def known_ids(session: AsyncSession, kind: str, ap_ids: Iterable[str]) -> dict[str, int]:
    """The ids of the `kind` rows ("community", "person", "post", "comment") this server already has for these
    ActivityPub ids, ours or other servers' (a missing one is not in the answer)."""
    model = KINDS[kind]
    wanted = list(dict.fromkeys(ap_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = await session.execute(select(model.ap_id, model.id).where(model.ap_id.in_(chunk)))
        found.update({row.ap_id: row.id for row in rows})
    return found
