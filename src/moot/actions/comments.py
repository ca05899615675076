"""Comments: create (with the reply and mention inbox), edit, delete and restore, vote, save."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Executable,
    Insert,
    Integer,
    Update,
    any_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from moot.actions import mail, previews
from moot.actions.access import banned_here, check_can_comment, check_community_user_action, check_not_a_bot
from moot.actions.posts import load_post, mark_comments_read
from moot.actions.previews import original_markdown as original
from moot.actions.urlblocklist import check_blocked_urls
from moot.actions.votes import COMMENT_VOTES, Counts
from moot.actions.votes import hold as hold_counts
from moot.db.base import table_of
from moot.db.comment import Comment, CommentActions, CommentReply, PersonMention
from moot.db.community import Community, CommunityBlock
from moot.db.engine import write_at_commit, writes_at_commit
from moot.db.fast_read import Entities, EntityRow, FastRead, FastWrite, hold
from moot.db.person import InstanceBlock, LocalUser, Person, PersonBlock
from moot.db.post import Post, PostActions
from moot.db.search import index_comment
from moot.db.site import LocalSite
from moot.domain import validation
from moot.domain.apids import comment_ap_id
from moot.domain.commentpath import child_path, comment_ids, parent_id
from moot.domain.errors import LemmyError
from moot.domain.languages import LANGUAGE_BY_ID
from moot.domain.mentions import scrape_mentions
from moot.domain.ranking import NECRO_WINDOW
from moot.domain.timefmt import utcnow
from moot.federation import outbox
from moot.queries.comments import CommentRow, CommentView, comment_to_vote_on, written_comment_view
from moot.queries.common import follow_state, is_moderator
from moot.queries.defaults import site_switches
from moot.queries.viewer import Actor, Viewer
from moot.settings import Settings


async def load_comment(session: AsyncSession, comment_id: int) -> Comment:
    comment = await session.get(Comment, comment_id)
    if comment is None:
        raise LemmyError("couldnt_find_comment", status=404)
    return comment


@dataclass(frozen=True, slots=True)
class CreatedComment:
    comment: Comment
    recipients: list[int]  # the local user ids notified of it (reply and mention recipients)
    target: _CommentTarget  # what the write read first (the answer's view is made of it: `write_comment`)


async def write_comment(
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
    *,
    post_id: int,
    content: str,
    parent_id: int | None = None,
    language_id: int | None = None,
) -> tuple[CommentView, list[int]]:
    """A comment written here through the API: its view for the answer, made from the rows the write holds (no
    read after the commit), and the local user ids notified of it."""
    created = await create_comment(
        session, settings, viewer, post_id=post_id, content=content, parent_id=parent_id, language_id=language_id
    )
    target = created.target
    view = written_comment_view(
        created.comment,
        viewer.person,
        target.post,
        target.community,
        author_is_moderator=target.moderator,
        author_is_admin=viewer.is_admin,
        follow_pending=target.follow_pending,
    )
    return view, created.recipients


async def create_comment(
    session: AsyncSession,
    settings: Settings,
    viewer: Actor,
    *,
    post_id: int,
    content: str,
    parent_id: int | None = None,
    language_id: int | None = None,
    ap_id: str | None = None,
    published: datetime | None = None,
    updated: datetime | None = None,
) -> CreatedComment:
    """`ap_id` is given for comments from another instance (they keep their id and are not local, and their
    document's `published` and `updated`)."""
    content = validation.check_comment_content(await _without_slurs(session, original(settings, content)))
    await check_blocked_urls(session, content)
    # The authors of the post and of the parent comment are loaded with them, and held in the session: the reply
    # notification and the Note sent (outbox.comment_note) ask for them, the inbox's announce for the community.
    target = await _comment_target(session, viewer.person_id, post_id)
    post, community = target.post, target.community
    await check_can_comment(session, viewer, post, community, banned=target.banned)
    parent: Comment | None = None
    if parent_id is not None:
        parent = await _parent_comment(session, parent_id)
        if parent.post_id != post.id:
            raise LemmyError("couldnt_create_comment")
        if parent.depth >= validation.MAX_COMMENT_DEPTH:
            raise LemmyError("max_comment_depth_reached")
    if language_id is not None and language_id not in LANGUAGE_BY_ID:
        raise LemmyError("language_not_allowed")
    now = published or utcnow()
    values = {
        "creator_id": viewer.person_id,
        "post_id": post.id,
        "content": content,
        "language_id": language_id or 0,
        "ap_id": ap_id or f"urn:moot:pending:{uuid.uuid4()}",
        "local": ap_id is None,
        "instance_id": viewer.person.instance_id,
        "published": now,
        "updated": updated,
        "depth": (parent.depth if parent else 0) + 1,
        # The author's own upvote is implied by the Create on every server; it is not federated on its own. A
        # comment nobody else has seen yet has no other vote: its counts are written with it, and its vote row
        # below, with no second pass through the gate asked above.
        "score": 1,
        "upvotes": 1,
        "downvotes": 0,
    }
    if target.new_id is not None:  # its path and ap_id name it: written with the row, not by a second UPDATE
        values |= _names(settings, target.new_id, parent, ap_id)
    comment = await _insert_comment(session, values)
    if target.new_id is None:
        for key, value in _names(settings, comment.id, parent, ap_id).items():
            setattr(comment, key, value)
    await index_comment(session, comment)
    await previews.record_markdown_images(session, settings, comment.content)
    recipients = await _notify(session, settings, viewer, comment, post, community, created=True)
    if parent is not None:
        await _mark_parent_read(session, viewer, parent)
    await outbox.comment_saved(session, viewer.person, comment, created=True)
    # Counters last: the rows they update (the post, its community, the ancestors) are the ones every reply
    # in a busy thread wants, and a row stays locked until the commit. Taken here, just before it, each lock
    # is held for a few statements instead of the whole transaction (measured on PostgreSQL: inbound replies
    # to one post were queueing on the community row).
    await _count_new_comment(session, viewer, post, comment, parent)
    return CreatedComment(comment, recipients, target)


@dataclass(frozen=True, slots=True)
class _CommentTarget:
    post: Post
    community: Community
    post_author: Person
    banned: bool  # the commenter, from the post's community (the access gate's question, read with the post)
    moderator: bool  # the commenter, of the post's community (the answer's view says so)
    follow_pending: bool | None  # the commenter's follow of the community (the answer's view: `subscribed`)
    new_id: int | None  # the new comment's id, taken from its sequence (PostgreSQL)


_POSTS, _COMMUNITIES, _AUTHORS, _COMMENTS = Entities(Post), Entities(Community), Entities(Person), Entities(Comment)
# Built once and sent to the driver (db/fast_read.py), as the target's statement below.
_PARENT = FastRead(
    select(*_COMMENTS.columns, *_AUTHORS.columns)
    .join(Person, Person.id == Comment.creator_id)
    .where(Comment.id == bindparam("parent_id", type_=Integer))
)


@cache
def _comment_target_statement(postgresql: bool) -> FastRead:
    """Built once per engine kind, with bound parameters (building costs more Python than running it), and sent
    to the driver (db/fast_read.py): the post, its community and its author come back as columns."""
    new_id = func.nextval(literal("comment_id_seq")) if postgresql else null()
    commenter = bindparam("person_id", type_=Integer)
    return FastRead(
        select(
            *_POSTS.columns,
            *_COMMUNITIES.columns,
            *_AUTHORS.columns,
            banned_here(Post.community_id, commenter),
            is_moderator(Post.community_id, commenter),
            follow_state(commenter, Post.community_id),
            new_id,
        )
        .join(Community, Community.id == Post.community_id)
        .join(Person, Person.id == Post.creator_id)
        .where(Post.id == bindparam("post_id", type_=Integer))
    )


async def _comment_target(session: AsyncSession, person_id: int, post_id: int) -> _CommentTarget:
    """The post, its community and its author (entities of the session's), whether the commenter is banned
    there and, on PostgreSQL, the new comment's id: one statement. (An id taken for a comment the gate then
    refuses is a gap in the sequence, as a rolled-back insert leaves.)"""
    statement = _comment_target_statement(session.get_bind().dialect.name == "postgresql")
    row = await statement.first(session, {"person_id": person_id, "post_id": post_id})
    if row is None:
        raise LemmyError("couldnt_find_post", status=404)
    read = EntityRow(session, row)
    target = _CommentTarget(
        read.entity(_POSTS),
        read.entity(_COMMUNITIES),
        read.entity(_AUTHORS),
        banned=bool(read.value()),
        moderator=bool(read.value()),
        follow_pending=read.value(),
        new_id=read.value(),
    )
    hold(session, target.post, target.community, target.post_author)
    return target


def _names(settings: Settings, comment_id: int, parent: Comment | None, ap_id: str | None) -> dict[str, Any]:
    """The comment's id, and its path and (for a local one) ap_id, which contain it."""
    path = child_path(parent.path if parent else None, comment_id)
    return {"id": comment_id, "path": path, "ap_id": ap_id or comment_ap_id(settings.base_url, comment_id)}


@cache
def _insert_comment_statement(keys: tuple[str, ...]) -> FastWrite:
    """The new comment's INSERT for the columns given (with or without its id), returning the whole row. Built
    once per set of columns, and sent to the driver (db/fast_read.py): through the session's unit of work, an
    entity's INSERT cost more Python than the rest of a new comment's statements."""
    table = table_of(Comment)
    values: dict[str, Any] = {key: bindparam(f"new_{key}", type_=table.c[key].type) for key in keys}
    for column in table.c:
        # The columns' defaults, written into the statement: SQLAlchemy's execution adds them, the driver does not.
        default = column.default
        if column.key not in values and default is not None:
            # A computed default would be the caller's to give (every column's is a constant today).
            assert isinstance(default, ScalarElementColumnDefault), column.key
            values[column.key] = default.arg
    return FastWrite(insert(table).values(values).returning(*[table.c[column.key] for column in _COMMENTS.columns]))


async def _insert_comment(session: AsyncSession, values: dict[str, Any]) -> Comment:
    """The row written, and its entity in the session (columns not given take their defaults, as the ORM's)."""
    statement = _insert_comment_statement(tuple(sorted(values)))
    await session.flush()  # what the session holds goes first (the author, stored with the comment that came)
    row = await statement.first(session, {f"new_{key}": value for key, value in values.items()})
    assert row is not None  # an INSERT ... RETURNING returns its row
    return _COMMENTS.in_session(session, row)


async def _parent_comment(session: AsyncSession, comment_id: int) -> Comment:
    """The comment replied to and its author (held in the session, as the target's), in one statement."""
    row = await _PARENT.first(session, {"parent_id": comment_id})
    if row is None:
        raise LemmyError("couldnt_find_comment", status=404)
    read = EntityRow(session, row)
    parent = read.entity(_COMMENTS)
    hold(session, parent, read.entity(_AUTHORS))
    return parent


async def _count_new_comment(
    session: AsyncSession, viewer: Actor, post: Post, comment: Comment, parent: Comment | None
) -> None:
    newest = {"newest_comment_time": comment.published}
    if comment.creator_id != post.creator_id and comment.published - post.published < NECRO_WINDOW:
        # Only replies by others, made while the post is young, keep it "active" (Lemmy's necro rule).
        newest["newest_comment_time_necro"] = comment.published
    ancestors = comment_ids(parent.path) if parent is not None else []
    await adjust_counts(session, comment, 1, post_values=newest, created_by=viewer, ancestors=ancestors)


async def adjust_counts(
    session: AsyncSession,
    comment: Comment,
    diff: int,
    *,
    post_values: dict[str, datetime] | None = None,
    created_by: Actor | None = None,
    ancestors: list[int] | None = None,
) -> None:
    """Add `diff` to the comment counts of its post, community and creator. Lemmy counts only comments
    that are neither deleted nor removed, so deleting (or removing) takes one away and restoring gives it back;
    `child_count` keeps counting every reply (`ancestors`: the new comment's, each gets one more). Increments,
    so that comments written at once all count; the post's new count (and `post_values`, its newest comment
    times) also land on the post in the session. `created_by`: a new comment's author, whose own vote (the
    comment starts at score 1) and read mark on the post (which counts their comment) are written here too."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    # What the transaction has pending (a reply's notification, read marks) is written first: the counters lock
    # their rows until the commit, and a flush after them would hold every reply to the thread back (measured:
    # 16 inbound replies to one post spent most of their time waiting on the lock of the one writing its
    # notification).
    await session.flush()
    post_values = post_values or {}
    statements = _count_statements(postgresql, tuple(post_values), created_by is not None, bool(ancestors))
    params: dict[str, object] = {f"new_{key}": value for key, value in post_values.items()}
    params |= {"counted_post": comment.post_id, "author": comment.creator_id, "diff": diff, "new_comment": comment.id}
    params |= {"now": utcnow(), "ancestor_ids": ancestors or []}
    post = await session.get(Post, comment.post_id)  # in the session already (the callers loaded it): no statement
    if writes_at_commit(session):
        # Sent with the COMMIT (db/engine.py): the thread's rows stay locked for the statement's own time only.
        write_at_commit(session, statements[0], params, [(post, ["comments", *post_values])] if post else [])
        return
    comments = (await session.execute(statements[0], params)).scalar_one()
    for statement in statements[1:]:
        await session.execute(statement, params)
    if post is not None:
        for name, value in {"comments": comments, **post_values}.items():
            set_committed_value(post, name, value)
        if created_by is not None and not postgresql:
            await mark_comments_read(session, created_by, post)


@cache
def _count_statements(
    postgresql: bool, post_keys: tuple[str, ...], created: bool, reply: bool
) -> tuple[Executable, ...]:
    """`adjust_counts`' writes, built once for each kind of change, with bound parameters (building them costs
    more Python than running them). On PostgreSQL they are one statement (the post's UPDATE, the rest as
    data-modifying CTEs): one round trip instead of up to six, while the busiest rows of the transaction are
    locked. SQLite runs them in turn, the post's first (its round trips cost nothing, and it has no such CTEs);
    the author's read mark follows there (`mark_comments_read`)."""
    # No parameter is named as a column: an UPDATE would also set a column its parameters name. Core statements
    # on the tables: run through the ORM, an UPDATE is made anew for each execution (SQLite runs these).
    post_id, creator_id = bindparam("counted_post", type_=Integer), bindparam("author", type_=Integer)
    diff = bindparam("diff", type_=Integer)
    posts, communities, people = table_of(Post), table_of(Community), table_of(Person)
    comments = table_of(Comment)
    post_change = (
        update(posts)
        .where(posts.c.id == post_id)
        .values(
            comments=posts.c.comments + diff,
            **{key: bindparam(f"new_{key}", type_=DateTime(timezone=True)) for key in post_keys},
        )
        .returning(posts.c.comments, posts.c.community_id)
    )
    community_id: ColumnElement[int] = select(posts.c.community_id).where(posts.c.id == post_id).scalar_subquery()
    if postgresql:
        counted_post = post_change.cte("counted_post")
        community_id = select(counted_post.c.community_id).scalar_subquery()
    writes: list[Insert | Update] = [
        update(communities).where(communities.c.id == community_id).values(comments=communities.c.comments + diff),
        update(people).where(people.c.id == creator_id).values(comment_count=people.c.comment_count + diff),
    ]
    now = bindparam("now", type_=DateTime(timezone=True))
    if created:
        own_vote = {"person_id": creator_id, "comment_id": bindparam("new_comment", type_=Integer), "post_id": post_id}
        writes.append(insert(table_of(CommentActions)).values(**own_vote, like_score=1, liked=now))
    if reply:
        # An array on PostgreSQL, so that the statement can be written out whole for a simple query (db/engine.py).
        replied = (
            comments.c.id == any_(bindparam("ancestor_ids", type_=ARRAY(Integer)))
            if postgresql
            else comments.c.id.in_(bindparam("ancestor_ids", expanding=True, type_=Integer))
        )
        writes.append(update(comments).where(replied).values(child_count=comments.c.child_count + 1))
    if not postgresql:
        return (post_change, *writes)
    if created:
        # `mark_comments_read`, taking the count from the post's UPDATE.
        mark = pg_insert(table_of(PostActions)).from_select(
            ["person_id", "post_id", "read_comments_amount", "read_comments"],
            select(creator_id, post_id, counted_post.c.comments, now),
        )
        writes.append(
            mark.on_conflict_do_update(
                index_elements=["person_id", "post_id"],
                set_={"read_comments_amount": mark.excluded.read_comments_amount, "read_comments": now},
            )
        )
    return (select(counted_post.c.comments).add_cte(*(write.cte(f"write_{i}") for i, write in enumerate(writes))),)


async def _notify(
    session: AsyncSession,
    settings: Settings,
    viewer: Actor,
    comment: Comment,
    post: Post,
    community: Community,
    *,
    created: bool = False,
) -> list[int]:
    """Lemmy's order: each `@name@host` of a local person lands in their mentions, then the parent's author
    (the post's, for a top-level comment) gets a reply unless just mentioned. Nobody is notified of their own
    words or by someone they block. Safe to run again after an edit: existing rows are kept, not doubled
    (a comment just `created` has none, so nothing is looked for). Returns the local user ids notified."""
    notified: dict[int, int] = {}
    for mention in scrape_mentions(comment.content):
        if mention.domain != settings.domain:
            continue
        found = await _local_user_named(session, mention.name)
        if found is None or found[0] == viewer.person_id or found[0] in notified:
            continue
        if await _blocks(session, found[0], viewer.person_id):
            continue
        if await _add_once(session, PersonMention, found[0], comment, created):
            await mail.notify_comment(session, settings, found[1], viewer.person, comment, "mention")
        notified[found[0]] = found[1]
    reply_to = await _reply_recipient(session, comment, post)
    if reply_to == viewer.person_id or reply_to in notified:
        return list(notified.values())
    local_user_id = await _reply_inbox(session, reply_to, viewer.person_id, community)
    if local_user_id is not None:
        if await _add_once(session, CommentReply, reply_to, comment, created):
            kind = "reply" if parent_id(comment.path) is not None else "post_reply"
            await mail.notify_comment(session, settings, local_user_id, viewer.person, comment, kind)
        notified[reply_to] = local_user_id
    return list(notified.values())


async def _reply_recipient(session: AsyncSession, comment: Comment, post: Post) -> int:
    replied_to = parent_id(comment.path)
    if replied_to is None:
        return post.creator_id
    parent = await load_comment(session, replied_to)
    return parent.creator_id


async def _local_user_named(session: AsyncSession, name: str) -> tuple[int, int] | None:
    row = (
        await session.execute(
            select(Person.id, LocalUser.id)
            .join(LocalUser, LocalUser.person_id == Person.id)
            .where(func.lower(Person.name) == name.lower(), Person.local.is_(True))
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def _add_once(
    session: AsyncSession,
    kind: type[CommentReply] | type[PersonMention],
    recipient_id: int,
    comment: Comment,
    created: bool,
) -> bool:
    """Whether the row is new (an edit finds it there: no second notification mail)."""
    existing = (
        None
        if created
        else await session.scalar(
            select(kind.id).where(kind.recipient_id == recipient_id, kind.comment_id == comment.id)
        )
    )
    if existing is None:
        session.add(kind(recipient_id=recipient_id, comment_id=comment.id, published=comment.published))
    return existing is None


async def _blocks(session: AsyncSession, person_id: int, target_id: int) -> bool:
    return (await session.get(PersonBlock, (person_id, target_id))) is not None


def _reply_inbox_statement() -> FastRead:
    """Built once, with bound values (built for each reply, it cost more Python than the database's work), and
    sent to the driver (db/fast_read.py)."""
    recipient = bindparam("recipient", type_=Integer)
    shut_out = or_(
        exists().where(PersonBlock.person_id == recipient, PersonBlock.target_id == bindparam("author", type_=Integer)),
        exists().where(
            CommunityBlock.person_id == recipient, CommunityBlock.community_id == bindparam("community", type_=Integer)
        ),
        exists().where(
            InstanceBlock.person_id == recipient, InstanceBlock.instance_id == bindparam("instance", type_=Integer)
        ),
    )
    return FastRead(select(LocalUser.id, shut_out.label("shut_out")).where(LocalUser.person_id == recipient))


_REPLY_INBOX = _reply_inbox_statement()


async def _reply_inbox(session: AsyncSession, recipient_id: int, author_id: int, community: Community) -> int | None:
    """The local user whose inbox gets the reply: None for a remote recipient, or one who blocks the author, the
    community or the community's instance (Lemmy's checks). One statement, none for a recipient the session
    holds as remote (the post's or the parent's author, read with the target: they have no inbox here)."""
    held = session.sync_session.identity_map.get(identity_key(Person, recipient_id))
    if isinstance(held, Person) and not held.local:
        return None
    values = {"recipient": recipient_id, "author": author_id, "community": community.id}
    row = await _REPLY_INBOX.first(session, {**values, "instance": community.instance_id})
    if row is None or row[1]:  # (the local user's id, shut out)
        return None
    return int(row[0])


async def _mark_parent_read(session: AsyncSession, viewer: Actor, parent: Comment) -> None:
    """Answering a reply or mention you received marks it read, so you need not do it by hand."""
    for kind in (CommentReply, PersonMention):
        await session.execute(
            update(kind).where(kind.comment_id == parent.id, kind.recipient_id == viewer.person_id).values(read=True)
        )


async def _without_slurs(session: AsyncSession, content: str) -> str:
    """The site's slur filter (EditSite `slur_filter_regex`) replaces what it matches, as Lemmy does for comments."""
    slurs = validation.slur_pattern((await site_switches(session)).slur_filter_regex)
    return validation.remove_slurs(content, slurs) or ""


async def edit_comment(
    session: AsyncSession,
    settings: Settings,
    viewer: Actor,
    comment_id: int,
    content: str | None,
    language_id: int | None,
    updated: datetime | None = None,
) -> tuple[Comment, list[int]]:
    """Returns the comment and the local user ids notified (mentions added by the edit are delivered).
    `updated` is the time of a remote edit, from its Update (every server shows the same); else now."""
    comment = await load_comment(session, comment_id)
    post = await load_post(session, comment.post_id)
    community = await session.get(Community, post.community_id)
    if community is None:
        raise LemmyError("couldnt_find_community", status=404)
    await check_community_user_action(session, viewer, community)
    if comment.creator_id != viewer.person_id:
        raise LemmyError("no_comment_edit_allowed")
    if language_id is not None and language_id not in LANGUAGE_BY_ID:
        raise LemmyError("language_not_allowed")
    if content is not None:
        comment.content = validation.check_comment_content(await _without_slurs(session, original(settings, content)))
        await check_blocked_urls(session, comment.content)
    if language_id is not None:
        comment.language_id = language_id
    comment.updated = updated or utcnow()
    await session.flush()
    await index_comment(session, comment)
    await previews.record_markdown_images(session, settings, content and comment.content)
    recipients = await _notify(session, settings, viewer, comment, post, community)
    await outbox.comment_saved(session, viewer.person, comment, created=False)
    return comment, recipients


async def delete_comment(session: AsyncSession, viewer: Actor, comment_id: int, deleted: bool) -> Comment:
    comment = await load_comment(session, comment_id)
    if comment.deleted == deleted:
        raise LemmyError("couldnt_update_comment")
    post = await load_post(session, comment.post_id)
    community = await session.get(Community, post.community_id)
    if community is not None:
        await check_community_user_action(session, viewer, community)
    if comment.creator_id != viewer.person_id:
        raise LemmyError("no_comment_edit_allowed")
    was_counted = not (comment.deleted or comment.removed)
    comment.deleted = deleted
    comment.updated = utcnow()
    now_counted = not (comment.deleted or comment.removed)
    if was_counted != now_counted:
        await adjust_counts(session, comment, 1 if now_counted else -1)
    await outbox.deleted(session, viewer.person, comment.ap_id, post.community_id, restored=not deleted)
    return comment


_VotedComment = TypeVar("_VotedComment", Comment, CommentRow)  # an entity of the session's, or a view's row


@dataclass(frozen=True, slots=True)
class _CommentVoteTarget(Generic[_VotedComment]):
    comment: _VotedComment  # its counts as locked: the vote's move starts from them
    community: Community  # its post's
    banned: bool  # the voter, from the post's community (the access gate's question, read with the comment)
    downvotes_enabled: bool


# Built once and sent to the driver (db/fast_read.py): the comment and its community come back as columns.
_COMMENT_VOTE_TARGET = FastRead(
    select(
        *_COMMENTS.columns,
        *_COMMUNITIES.columns,
        banned_here(Post.community_id, bindparam("voter", type_=Integer)),
        select(LocalSite.enable_downvotes).scalar_subquery(),
    )
    .join(Post, Post.id == Comment.post_id)
    .join(Community, Community.id == Post.community_id)
    .where(Comment.id == bindparam("voted_comment", type_=Integer))
    .with_for_update(of=Comment)
)


async def _comment_vote_target(session: AsyncSession, person_id: int, comment_id: int) -> _CommentVoteTarget[Comment]:
    """The comment and its community (entities of the session's, held there), the voter's ban there and the
    site's `enable_downvotes`: one statement, built once. The comment's row is locked until the commit
    (PostgreSQL; SQLite's writers take turns anyway): votes on one comment take turns (actions/votes.py)."""
    row = await _COMMENT_VOTE_TARGET.first(session, {"voter": person_id, "voted_comment": comment_id})
    if row is None:
        raise LemmyError("couldnt_find_comment", status=404)
    read = EntityRow(session, row)
    target = _CommentVoteTarget(
        read.entity(_COMMENTS),
        read.entity(_COMMUNITIES),
        banned=bool(read.value()),
        downvotes_enabled=read.value() is not False,  # no site yet (never in a running server): no switch off
    )
    hold(session, target.community)  # the activity sent asks for the community by id
    return target


def _check_score(score: int) -> None:
    if score not in (-1, 0, 1):
        raise LemmyError("couldnt_like_comment")


async def _cast(
    session: AsyncSession, viewer: Actor, target: _CommentVoteTarget[Any], score: int, *, federate: bool
) -> Counts | None:
    """The vote on a target read with the comment's row locked: its checks, its write and its activity. Returns
    the comment's counts as written (none when the vote was already this one)."""
    if score == -1 and not target.downvotes_enabled:
        raise LemmyError("downvotes_are_disabled")
    await check_community_user_action(session, viewer, target.community, banned=target.banned)
    comment = target.comment
    old, counts = await COMMENT_VOTES.write(session, viewer.person_id, comment, score, item_post=comment.post_id)
    if federate and old != score:
        await outbox.vote(session, viewer.person, comment.ap_id, target.community.id, old, score)
    return counts


async def vote_comment(
    session: AsyncSession, viewer: Actor, comment: Comment | int, score: int, *, federate: bool = True
) -> Comment:
    """+1, 0 (take the vote back) or -1. Counters and the controversy rank change in the same transaction. The
    entity path, for the inbox; a vote cast here by hand is `like_comment`."""
    _check_score(score)
    target = await _comment_vote_target(session, viewer.person_id, comment if isinstance(comment, int) else comment.id)
    counts = await _cast(session, viewer, target, score, federate=federate)
    if counts is not None:
        hold_counts(target.comment, counts)
    return target.comment


async def like_comment(session: AsyncSession, viewer: Viewer, comment_id: int, score: int) -> CommentView:
    """A vote cast here through the API (bots may not vote, as on Lemmy). Returns the comment's view as the vote
    leaves it: read first, with the comment's row locked (the vote's target and its answer in one statement,
    `comment_to_vote_on`), with what the vote changed written into it."""
    check_not_a_bot(viewer.person)
    _check_score(score)
    found = await comment_to_vote_on(session, comment_id, viewer)
    view = found.view
    target = _CommentVoteTarget(view.comment, found.community, view.banned_from_community, found.downvotes_enabled)
    counts = await _cast(session, viewer, target, score, federate=True)
    comment = view.comment if counts is None else replace(view.comment, **asdict(counts))
    return replace(view, comment=comment, my_vote=score)


async def save_comment(session: AsyncSession, viewer: Actor, comment_id: int, save: bool) -> None:
    comment = await load_comment(session, comment_id)
    row = await session.get(CommentActions, (viewer.person_id, comment_id))
    if row is None:
        row = CommentActions(person_id=viewer.person_id, comment_id=comment_id, post_id=comment.post_id)
        session.add(row)
    row.saved = utcnow() if save else None
    await session.flush()


async def mark_reply_read(session: AsyncSession, viewer: Actor, reply_id: int, read: bool) -> CommentReply:
    reply = await session.get(CommentReply, reply_id)
    if reply is None:
        raise LemmyError("couldnt_find_comment_reply", status=404)
    if reply.recipient_id != viewer.person_id:
        raise LemmyError("couldnt_update_comment")
    reply.read = read
    return reply


async def mark_mention_read(session: AsyncSession, viewer: Actor, mention_id: int, read: bool) -> PersonMention:
    mention = await session.get(PersonMention, mention_id)
    if mention is None:
        raise LemmyError("couldnt_find_person_mention", status=404)
    if mention.recipient_id != viewer.person_id:
        raise LemmyError("couldnt_update_comment")
    mention.read = read
    return mention


async def mark_all_read(session: AsyncSession, viewer: Actor) -> None:
    me = viewer.person_id
    await session.execute(update(CommentReply).where(CommentReply.recipient_id == me).values(read=True))
    await session.execute(update(PersonMention).where(PersonMention.recipient_id == me).values(read=True))
