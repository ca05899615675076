"""People and administration, as Lemmy 0.19 does them: community and site bans (with expiry and the removal of the
person's content), moderators, community transfer, admins, and the admins' purges.

Each action asks the access gate (actions/access.py), changes the rows and the counters, writes its modlog row
(actions/modlog.py) and records the outgoing activity (federation/outbox.py), all in the caller's transaction.

Bans with an expiry stop applying when they expire, without a job: the gate (`access.is_banned_from`,
`access.is_site_banned`) and the views (`queries.common.is_banned_from`, the person's `banned` as converted)
compare the expiry with the clock. A site ban also ends the person's logins (their login tokens are deleted, as
Lemmy's `LoginToken::invalidate_all`), and `login` refuses them with `site_ban` while it lasts.

Purges delete the rows (the database's ON DELETE CASCADE takes what hangs off them: votes, saves, reports,
replies and mentions, modlog rows about them) after correcting the counters those rows were counted in; a
purged comment takes its replies with it (the tree would drop them as orphans anyway, and they would stay
counted). The purge's own modlog row is written last and names only what is left (the community of a purged
post, the post of a purged comment).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from moot.actions import images, modlog
from moot.actions.access import (
    check_community_mod_action,
    check_community_user_action,
    check_is_admin,
    check_outranks,
    is_moderator,
)
from moot.actions.communities import count_follower
from moot.db.base import insert_if_absent
from moot.db.comment import Comment, CommentActions
from moot.db.community import Community, CommunityFollower, CommunityModerator, CommunityPersonBan
from moot.db.person import LocalUser, LoginToken, Person
from moot.db.post import Post, PostActions
from moot.db.search import unindex_comments, unindex_posts
from moot.domain import validation
from moot.domain.commentpath import comment_ids
from moot.domain.errors import LemmyError
from moot.domain.ranking import controversy_rank
from moot.domain.timefmt import as_utc, utcnow
from moot.federation import outbox
from moot.queries.common import comment_and_replies
from moot.queries.persons import PersonView, banned_people
from moot.queries.viewer import Actor

# Lemmy's MAX_BAN_TERM: a ban longer than this is a permanent one.
MAX_BAN_TERM = timedelta(days=10 * 365)
# Ids per IN list (both engines bind at most ~32k parameters per statement).
_CHUNK = 5_000


def check_expire_time(expires: datetime | None) -> datetime | None:
    """Lemmy's `check_expire_time`: an expiry in the past is refused (`ban_expiration_in_past`), one more than ten
    years ahead is a permanent ban (None)."""
    if expires is None:
        return None
    expires = as_utc(expires)
    now = utcnow()
    if expires < now:
        raise LemmyError("ban_expiration_in_past")
    if expires > now + MAX_BAN_TERM:
        return None
    return expires


def check_reason(reason: str | None) -> str | None:
    """A moderator's reason is a body field (Lemmy's `is_valid_body_field(reason, false)`: 10,000 characters)."""
    if reason is None:
        return None
    if validation.utf16_length(reason) > validation.COMMENT_MAX:
        raise LemmyError("invalid_body_field")
    return reason or None


async def load_person(session: AsyncSession, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise LemmyError("couldnt_find_person", status=404)
    return person


async def _load_community(session: AsyncSession, community_id: int) -> Community:
    community = await session.get(Community, community_id)
    if community is None:
        raise LemmyError("couldnt_find_community", status=404)
    return community


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


async def _add_counts(
    session: AsyncSession, column: InstrumentedAttribute[int], counts: Counter[int], sign: int
) -> None:
    """Add `sign * n` to `column` of each row whose id `counts` maps to n: one UPDATE per distinct n."""
    model: Any = column.class_
    by_amount: defaultdict[int, list[int]] = defaultdict(list)
    for row_id, amount in counts.items():
        if amount:
            by_amount[amount].append(row_id)
    for amount, row_ids in by_amount.items():
        for chunk in _chunks(sorted(row_ids)):
            await session.execute(
                update(model)
                .where(model.id.in_(chunk))
                .values({column.key: column + sign * amount})
                .execution_options(synchronize_session="fetch")
            )


# Removing (or restoring) a person's content: `removed` set, counters kept as Lemmy counts them (posts and
# comments that are neither deleted nor removed).


async def _set_posts_removed(session: AsyncSession, where: ColumnElement[bool], removed: bool) -> int:
    rows = (
        await session.execute(
            select(Post.id, Post.community_id, Post.creator_id, Post.deleted).where(
                where, Post.removed.is_(not removed)
            )
        )
    ).all()
    if not rows:
        return 0
    now = utcnow()
    for chunk in _chunks([r.id for r in rows]):
        await session.execute(
            update(Post)
            .where(Post.id.in_(chunk))
            .values(removed=removed, updated=now)
            .execution_options(synchronize_session="fetch")
        )
    counted = [r for r in rows if not r.deleted]
    sign = -1 if removed else 1
    await _add_counts(session, Community.posts, Counter(r.community_id for r in counted), sign)
    await _add_counts(session, Person.post_count, Counter(r.creator_id for r in counted), sign)
    return len(rows)


async def _set_comments_removed(session: AsyncSession, where: ColumnElement[bool], removed: bool) -> int:
    rows = (
        await session.execute(
            select(Comment.id, Comment.post_id, Comment.creator_id, Comment.deleted, Post.community_id)
            .join(Post, Post.id == Comment.post_id)
            .where(where, Comment.removed.is_(not removed))
        )
    ).all()
    if not rows:
        return 0
    now = utcnow()
    for chunk in _chunks([r.id for r in rows]):
        await session.execute(
            update(Comment)
            .where(Comment.id.in_(chunk))
            .values(removed=removed, updated=now)
            .execution_options(synchronize_session="fetch")
        )
    counted = [r for r in rows if not r.deleted]
    sign = -1 if removed else 1
    await _add_counts(session, Post.comments, Counter(r.post_id for r in counted), sign)
    await _add_counts(session, Community.comments, Counter(r.community_id for r in counted), sign)
    await _add_counts(session, Person.comment_count, Counter(r.creator_id for r in counted), sign)
    return len(rows)


async def _unfollow(session: AsyncSession, community: Community, person: Person) -> None:
    """Lemmy unsubscribes a banned person (locally: no Undo{Follow} is sent on their behalf)."""
    existing = await session.get(CommunityFollower, (community.id, person.id))
    if existing is not None:
        await session.delete(existing)
        await count_follower(session, community, -1, person.local)


# Community bans.


async def set_community_ban(
    session: AsyncSession,
    mod_person_id: int,
    community: Community,
    target: Person,
    ban: bool,
    reason: str | None,
    expires: datetime | None,
    remove_data: bool,
    *,
    when: datetime | None = None,
) -> None:
    """The change of a community ban without its checks and its activity (the inbox applies a checked remote
    Block with it): the ban row (upserted, so a new expiry replaces the old), the person unsubscribed, their
    posts and comments in the community removed (restored when an unban asks for it), the modlog row."""
    key = (CommunityPersonBan.community_id == community.id, CommunityPersonBan.person_id == target.id)
    if ban:
        # An upsert: two bans at once never collide, and a new expiry replaces the old one.
        values = {"community_id": community.id, "person_id": target.id, "published": when or utcnow()}
        await insert_if_absent(session, CommunityPersonBan, values, ("community_id", "person_id"))
        await session.execute(
            update(CommunityPersonBan)
            .where(*key)
            .values(expires=expires)
            .execution_options(synchronize_session="fetch")
        )
        await _unfollow(session, community, target)
    else:
        await session.execute(delete(CommunityPersonBan).where(*key).execution_options(synchronize_session="fetch"))
    await session.flush()
    if remove_data:
        await _set_posts_removed(
            session, and_(Post.creator_id == target.id, Post.community_id == community.id), removed=ban
        )
        in_community = select(Post.id).where(Post.community_id == community.id)
        await _set_comments_removed(
            session, and_(Comment.creator_id == target.id, Comment.post_id.in_(in_community)), removed=ban
        )
    await modlog.record(
        session, "ModBanFromCommunity", mod_person_id, state=ban, other_person_id=target.id,
        community_id=community.id, reason=reason, expires=expires if ban else None, when=when,
    )  # fmt: skip


async def ban_from_community(
    session: AsyncSession,
    actor: Actor,
    community_id: int,
    person_id: int,
    ban: bool,
    reason: str | None = None,
    expires: datetime | None = None,
    remove_data: bool = False,
    *,
    when: datetime | None = None,
) -> Person:
    """A moderator or admin bans (or unbans) a person from a community. Nobody may ban a moderator older than
    themself or an admin (`not_higher_mod`), nor themself."""
    expires = check_expire_time(expires)
    community = await _load_community(session, community_id)
    await check_community_mod_action(session, actor, community)
    target = await load_person(session, person_id)
    await check_outranks(session, actor, target.id, community.id)
    reason = check_reason(reason)
    await set_community_ban(session, actor.person_id, community, target, ban, reason, expires, remove_data, when=when)
    await outbox.person_banned(session, actor.person, target, community, ban, reason, expires, remove_data)
    return target


# Site bans.


async def _top_moderated(session: AsyncSession, person_id: int) -> list[Community]:
    """The communities whose first moderator (the oldest; the creator until a transfer) is this person."""
    first = aliased(CommunityModerator)
    older = aliased(CommunityModerator)
    mine = (
        select(first.community_id)
        .where(first.person_id == person_id)
        .where(
            ~select(older.person_id)
            .where(
                older.community_id == first.community_id,
                or_(
                    older.published < first.published,
                    and_(older.published == first.published, older.person_id < first.person_id),
                ),
            )
            .exists()
        )
    )
    rows = await session.scalars(select(Community).where(Community.id.in_(mine)))
    return list(rows.all())


async def set_site_ban(
    session: AsyncSession,
    mod_person_id: int,
    target: Person,
    ban: bool,
    reason: str | None,
    expires: datetime | None,
    remove_data: bool,
    *,
    when: datetime | None = None,
    only_instance_id: int | None = None,
) -> None:
    """The change of a site ban without its checks and its activity: the person's flag and expiry, their logins
    ended, with `remove_data` their profile texts and images cleared, their posts and comments everywhere and the
    communities they lead removed (an unban with `remove_data` restores the posts and comments), the modlog row.
    `only_instance_id`: a ban received from another server touches content only in that server's communities
    (never ours, and never what our moderators removed elsewhere)."""
    target.banned = ban
    target.ban_expires = expires if ban else None
    if ban:
        await session.execute(
            delete(LoginToken).where(
                LoginToken.user_id.in_(select(LocalUser.id).where(LocalUser.person_id == target.id))
            )
        )
    if remove_data:
        if ban:
            target.avatar = None
            target.banner = None
            target.bio = None
            for community in await _top_moderated(session, target.id):
                if only_instance_id is not None and community.instance_id != only_instance_id:
                    continue
                community.removed = True
                community.icon = None
                community.banner = None
        await session.flush()
        posts_where: ColumnElement[bool] = Post.creator_id == target.id
        comments_where: ColumnElement[bool] = Comment.creator_id == target.id
        if only_instance_id is not None:
            theirs = select(Community.id).where(Community.instance_id == only_instance_id)
            posts_where = and_(posts_where, Post.community_id.in_(theirs))
            comments_where = and_(comments_where, Post.community_id.in_(theirs))
        await _set_posts_removed(session, posts_where, removed=ban)
        await _set_comments_removed(session, comments_where, removed=ban)
    await session.flush()
    await modlog.record(
        session, "ModBan", mod_person_id, state=ban, other_person_id=target.id, reason=reason,
        expires=expires if ban else None, when=when,
    )  # fmt: skip


async def _local_communities_of(session: AsyncSession, person_id: int) -> list[Community]:
    """Lemmy's `list_local_community_ids`: our communities the person posted or commented in."""
    posted = select(Post.community_id).where(Post.creator_id == person_id)
    commented = (
        select(Post.community_id).join(Comment, Comment.post_id == Post.id).where(Comment.creator_id == person_id)
    )
    rows = await session.scalars(
        select(Community)
        .where(Community.local.is_(True), or_(Community.id.in_(posted), Community.id.in_(commented)))
        .order_by(Community.id)
    )
    return list(rows.all())


async def ban_from_site(
    session: AsyncSession,
    actor: Actor,
    person_id: int,
    ban: bool,
    reason: str | None = None,
    expires: datetime | None = None,
    remove_data: bool = False,
) -> Person:
    """An admin bans (or unbans) a person from this site. Not an older admin (`not_higher_admin`), nor themself.
    A person of another server is besides banned from (or unbanned in) each of our communities they wrote in,
    each with its own modlog row and activity, as Lemmy's `ban_nonlocal_user_from_local_communities`."""
    check_is_admin(actor)
    target = await load_person(session, person_id)
    await check_outranks(session, actor, target.id, None)
    reason = check_reason(reason)
    expires = check_expire_time(expires)
    await set_site_ban(session, actor.person_id, target, ban, reason, expires, remove_data)
    if not target.local:
        for community in await _local_communities_of(session, target.id):
            await set_community_ban(session, actor.person_id, community, target, ban, reason, expires, False)
            await outbox.person_banned(session, actor.person, target, community, ban, reason, expires, remove_data)
    await outbox.person_banned(session, actor.person, target, None, ban, reason, expires, remove_data)
    return target


async def list_banned(session: AsyncSession, actor: Actor) -> list[PersonView]:
    """The banned list is for admins (`not_an_admin`)."""
    check_is_admin(actor)
    return await banned_people(session)


# Moderators and admins.


async def add_moderator(
    session: AsyncSession,
    actor: Actor,
    community_id: int,
    person_id: int,
    added: bool,
    *,
    when: datetime | None = None,
) -> None:
    """A moderator or admin adds a moderator, or removes one they outrank (`not_higher_mod`); anyone may step
    down themself. An admin acting on a remote community must be one of its moderators (`not_a_moderator`):
    its home server would refuse the change otherwise. Adding a moderator twice is
    `community_moderator_already_exists`."""
    community = await _load_community(session, community_id)
    await check_community_mod_action(session, actor, community)
    target = await load_person(session, person_id)
    if not added and target.id != actor.person_id:
        await check_outranks(session, actor, target.id, community.id)
    if (
        actor.is_admin
        and actor.person.local
        and not community.local
        and not await is_moderator(session, community.id, actor.person_id)
    ):
        raise LemmyError("not_a_moderator")
    existing = await session.get(CommunityModerator, (community.id, target.id))
    if added:
        if existing is not None:
            raise LemmyError("community_moderator_already_exists")
        session.add(CommunityModerator(community_id=community.id, person_id=target.id, published=when or utcnow()))
    elif existing is not None:
        await session.delete(existing)
    await session.flush()
    await modlog.record(
        session, "ModAddCommunity", actor.person_id, state=not added, other_person_id=target.id,
        community_id=community.id, when=when,
    )  # fmt: skip
    await outbox.moderator_changed(session, actor.person, community, target, added)


async def transfer_community(session: AsyncSession, actor: Actor, community_id: int, person_id: int) -> None:
    """The top moderator or an admin makes another moderator the top one (`not_an_admin` for anyone else); the
    others keep their order below. Not federated (as Lemmy 0.19: other servers see it at the next fetch)."""
    community = await _load_community(session, community_id)
    await check_community_user_action(session, actor, community)
    mods = list(
        (
            await session.scalars(
                select(CommunityModerator)
                .where(CommunityModerator.community_id == community.id)
                .order_by(CommunityModerator.published, CommunityModerator.person_id)
            )
        ).all()
    )
    is_top = bool(mods) and mods[0].person_id == actor.person_id
    if not (is_top or actor.is_admin):
        raise LemmyError("not_an_admin")
    new_top = next((m for m in mods if m.person_id == person_id), None)
    if new_top is None:
        raise LemmyError("unknown", "the new top moderator must be a moderator of the community")
    base = utcnow()
    ordered = [new_top, *(m for m in mods if m is not new_top)]
    for i, mod in enumerate(ordered):
        mod.published = base + timedelta(microseconds=i)
    await session.flush()
    await modlog.record(
        session, "ModTransferCommunity", actor.person_id, other_person_id=person_id, community_id=community.id
    )


async def _local_user_of(session: AsyncSession, person_id: int) -> LocalUser:
    user = await session.scalar(select(LocalUser).where(LocalUser.person_id == person_id))
    if user is None:
        raise LemmyError("object_not_local")
    return user


async def add_admin(session: AsyncSession, actor: Actor, person_id: int, added: bool) -> None:
    """An admin makes a local person an admin (`object_not_local` for anyone else), or removes an admin they
    outrank (`not_higher_admin`)."""
    check_is_admin(actor)
    if not added:
        await check_outranks(session, actor, person_id, None)
    user = await _local_user_of(session, person_id)
    user.admin = added
    await session.flush()
    await modlog.record(session, "ModAdd", actor.person_id, state=not added, other_person_id=person_id)


async def leave_admin(session: AsyncSession, actor: Actor) -> None:
    """An admin steps down, unless they are the last one (`cannot_leave_admin`). Their account counts as accepted
    (admins skip registration applications)."""
    check_is_admin(actor)
    admins = await session.scalar(
        select(LocalUser.id)
        .join(Person, Person.id == LocalUser.person_id)
        .where(LocalUser.admin.is_(True), Person.deleted.is_(False), LocalUser.person_id != actor.person_id)
        .limit(1)
    )
    if admins is None:
        raise LemmyError("cannot_leave_admin")
    user = await _local_user_of(session, actor.person_id)
    user.admin = False
    user.accepted_application = True
    await session.flush()
    await modlog.record(session, "ModAdd", actor.person_id, state=True, other_person_id=actor.person_id)


# Purges.


async def _check_higher_admin(session: AsyncSession, actor: Actor, person_ids: Iterable[int]) -> None:
    """Lemmy's `is_higher_admin_check` over the people whose things are purged: an admin purges nothing of an
    older admin (`not_higher_admin`); their own things they may."""
    for person_id in sorted(set(person_ids) - {actor.person_id}):
        await check_outranks(session, actor, person_id, None)


async def _purge_comment_ids(session: AsyncSession, ids: Sequence[int]) -> None:
    """Delete these comments (a closed set: every reply of one is in it), counters corrected first."""
    if not ids:
        return
    rows: list[Any] = []
    for chunk in _chunks(ids):
        rows.extend(
            (
                await session.execute(
                    select(
                        Comment.id,
                        Comment.post_id,
                        Comment.path,
                        Comment.creator_id,
                        Comment.deleted,
                        Comment.removed,
                        Post.community_id,
                    )
                    .join(Post, Post.id == Comment.post_id)
                    .where(Comment.id.in_(chunk))
                )
            ).all()
        )
    gone = {r.id for r in rows}
    counted = [r for r in rows if not (r.deleted or r.removed)]
    await _add_counts(session, Post.comments, Counter(r.post_id for r in counted), -1)
    await _add_counts(session, Community.comments, Counter(r.community_id for r in counted), -1)
    await _add_counts(session, Person.comment_count, Counter(r.creator_id for r in counted), -1)
    # `child_count` counts every reply below a comment: the ancestors that stay lose the ones that go.
    ancestors: Counter[int] = Counter()
    for r in rows:
        ancestors.update(a for a in comment_ids(r.path)[:-1] if a not in gone)
    await _add_counts(session, Comment.child_count, ancestors, -1)
    ordered = sorted(gone)
    await unindex_comments(session, ordered)
    for chunk in _chunks(ordered):
        await session.execute(delete(Comment).where(Comment.id.in_(chunk)).execution_options(synchronize_session=False))
    _forget(session, Comment, gone)


async def _purge_posts(session: AsyncSession, where: ColumnElement[bool]) -> None:
    """Delete the posts matching `where` with their comments, counters corrected first."""
    posts = (
        await session.execute(
            select(Post.id, Post.community_id, Post.creator_id, Post.deleted, Post.removed).where(where)
        )
    ).all()
    if not posts:
        return
    post_ids = sorted(r.id for r in posts)
    pictures = [
        u for row in (await session.execute(select(Post.url, Post.thumbnail_url).where(where))).all() for u in row
    ]
    comments: list[Any] = []
    for chunk in _chunks(post_ids):
        comments.extend(
            (
                await session.execute(
                    select(Comment.id, Comment.creator_id, Comment.deleted, Comment.removed, Post.community_id)
                    .join(Post, Post.id == Comment.post_id)
                    .where(Comment.post_id.in_(chunk))
                )
            ).all()
        )
    counted_posts = [r for r in posts if not (r.deleted or r.removed)]
    counted_comments = [r for r in comments if not (r.deleted or r.removed)]
    await _add_counts(session, Community.posts, Counter(r.community_id for r in counted_posts), -1)
    await _add_counts(session, Person.post_count, Counter(r.creator_id for r in counted_posts), -1)
    await _add_counts(session, Community.comments, Counter(r.community_id for r in counted_comments), -1)
    await _add_counts(session, Person.comment_count, Counter(r.creator_id for r in counted_comments), -1)
    comment_ids_ = sorted(r.id for r in comments)
    await unindex_comments(session, comment_ids_)
    await unindex_posts(session, post_ids)
    for chunk in _chunks(post_ids):
        # The comments, votes, saves, reports and modlog rows of the posts go with them (ON DELETE CASCADE).
        await session.execute(delete(Post).where(Post.id.in_(chunk)).execution_options(synchronize_session=False))
    _forget(session, Post, set(post_ids))
    _forget(session, Comment, set(comment_ids_))
    # Their images uploaded here and shown nowhere else go with them (the files by the image job).
    await images.release_uploads(session, pictures)


def _forget(session: AsyncSession, model: Any, ids: set[int]) -> None:
    """Drop deleted rows from the session's identity map, so that nothing flushes them again."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and obj.id in ids:
            session.expunge(obj)


def _subtree(root_path: str, post_id: int) -> ColumnElement[bool]:
    return and_(Comment.post_id == post_id, comment_and_replies(root_path))


async def purge_comment(session: AsyncSession, actor: Actor, comment_id: int, reason: str | None = None) -> None:
    """An admin deletes a comment and its replies from the database."""
    check_is_admin(actor)
    comment = await session.get(Comment, comment_id)
    if comment is None:
        raise LemmyError("couldnt_find_comment", status=404)
    await _check_higher_admin(session, actor, [comment.creator_id])
    reason = check_reason(reason)
    post = await session.get(Post, comment.post_id)
    assert post is not None
    community = await _load_community(session, post.community_id)
    await outbox.mod_removed(session, actor.person, comment.ap_id, community, True, reason)
    ids = list(await session.scalars(select(Comment.id).where(_subtree(comment.path, comment.post_id))))
    post_id = comment.post_id
    await _purge_comment_ids(session, ids)
    await modlog.record(session, "AdminPurgeComment", actor.person_id, post_id=post_id, reason=reason)


async def purge_post(session: AsyncSession, actor: Actor, post_id: int, reason: str | None = None) -> None:
    """An admin deletes a post, with its comments, from the database."""
    check_is_admin(actor)
    post = await session.get(Post, post_id)
    if post is None:
        raise LemmyError("couldnt_find_post", status=404)
    await _check_higher_admin(session, actor, [post.creator_id])
    reason = check_reason(reason)
    community = await _load_community(session, post.community_id)
    await outbox.mod_removed(session, actor.person, post.ap_id, community, True, reason)
    await _purge_posts(session, Post.id == post.id)
    await modlog.record(session, "AdminPurgePost", actor.person_id, community_id=community.id, reason=reason)


async def purge_community(session: AsyncSession, actor: Actor, community_id: int, reason: str | None = None) -> None:
    """An admin deletes a community, with its posts and comments, from the database. Not one an older admin
    moderates (`not_higher_admin`)."""
    check_is_admin(actor)
    community = await _load_community(session, community_id)
    mods = await session.scalars(
        select(CommunityModerator.person_id).where(CommunityModerator.community_id == community.id)
    )
    await _check_higher_admin(session, actor, mods.all())
    reason = check_reason(reason)
    await outbox.community_removed(session, actor.person, community, True, reason)
    await _purge_posts(session, Post.community_id == community.id)
    # Followers, moderators, bans, blocks and languages go with it (ON DELETE CASCADE).
    await session.execute(
        delete(Community).where(Community.id == community.id).execution_options(synchronize_session=False)
    )
    session.expunge(community)
    await modlog.record(session, "AdminPurgeCommunity", actor.person_id, reason=reason)


async def _take_back_votes(session: AsyncSession, person_id: int) -> None:
    """The person's votes go with them: the scores of what they voted on lose them. The counts are written as
    read, so the rows are read locked until the commit (PostgreSQL): a vote of someone else's on one of them
    waits, as votes take turns on an item (actions/votes.py), and then moves the counts written here."""
    await session.flush()  # what the session changed is written first: the locked reads below replace its copies
    post_votes = (
        await session.execute(
            select(Post, PostActions.like_score)
            .join(PostActions, PostActions.post_id == Post.id)
            .where(PostActions.person_id == person_id, PostActions.like_score.is_not(None))
            .with_for_update(of=Post)
            .execution_options(populate_existing=True)  # the counts as locked, over any copy the session holds
        )
    ).all()
    for post, score in post_votes:
        post.upvotes -= 1 if score == 1 else 0
        post.downvotes -= 1 if score == -1 else 0
        post.score -= score or 0
        post.controversy_rank = controversy_rank(post.upvotes, post.downvotes)
    comment_votes = (
        await session.execute(
            select(Comment, CommentActions.like_score)
            .join(CommentActions, CommentActions.comment_id == Comment.id)
            .where(CommentActions.person_id == person_id, CommentActions.like_score.is_not(None))
            .with_for_update(of=Comment)
            .execution_options(populate_existing=True)
        )
    ).all()
    for comment, score in comment_votes:
        comment.upvotes -= 1 if score == 1 else 0
        comment.downvotes -= 1 if score == -1 else 0
        comment.score -= score or 0
        comment.controversy_rank = controversy_rank(comment.upvotes, comment.downvotes)
    await session.flush()


async def purge_person(session: AsyncSession, actor: Actor, person_id: int, reason: str | None = None) -> None:
    """An admin deletes a person from the database: their posts (with every comment under them), their comments
    (with every reply under them), their votes, follows, moderator seats, bans, blocks, reports and account.
    Not an older admin, nor themself (`not_higher_admin`). Other servers are told with a site ban that removes
    the person's content (as Lemmy)."""
    check_is_admin(actor)
    target = await load_person(session, person_id)
    await check_outranks(session, actor, target.id, None)
    reason = check_reason(reason)
    await outbox.person_banned(session, actor.person, target, None, True, reason, None, True)
    # Every upload of the account goes, used or not (as Lemmy's purge); the files by the image job.
    await images.delete_images_of_person(session, target.id)
    await _purge_posts(session, Post.creator_id == target.id)
    root = aliased(Comment)
    ids = list(
        await session.scalars(
            select(Comment.id)
            .join(
                root,
                and_(
                    root.post_id == Comment.post_id,
                    comment_and_replies(root.path),
                ),
            )
            .where(root.creator_id == target.id)
            .distinct()
        )
    )
    await _purge_comment_ids(session, ids)
    await _take_back_votes(session, target.id)
    follows = await session.scalars(
        select(Community)
        .join(CommunityFollower, CommunityFollower.community_id == Community.id)
        .where(CommunityFollower.person_id == target.id)
    )
    for community in follows.all():
        await count_follower(session, community, -1, target.local)
    await session.execute(delete(Person).where(Person.id == target.id).execution_options(synchronize_session=False))
    session.expunge(target)
    await modlog.record(session, "AdminPurgePerson", actor.person_id, reason=reason)
