"""Reports of posts and comments: made here (and sent to a remote community's server as a Flag), received by Flag
from other servers, resolved and unresolved by the community's moderators and the admins.

As Lemmy 0.19: the reason is trimmed, required, at most 1000 characters and passes the slur filter; the report keeps
the post's title, link and body (the comment's text) as they read when reported; one report per person and post
(or comment); resolving records who did it, and so does unresolving."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import mail
from moot.actions.access import check_community_mod_action, check_community_user_action
from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.moderation import CommentReport, PostReport
from moot.db.person import Person
from moot.db.post import Post
from moot.domain import validation
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.federation import outbox
from moot.queries.defaults import site_switches
from moot.queries.viewer import Actor, RemoteActor
from moot.settings import Settings

# Lemmy's check_report_reason.
MAX_REASON_CHARS = 1000


async def _check_reason(session: AsyncSession, reason: str) -> str:
    reason = reason.strip()
    validation.check_slurs(reason, validation.slur_pattern((await site_switches(session)).slur_filter_regex))
    if not reason:
        raise LemmyError("report_reason_required")
    if len(reason) > MAX_REASON_CHARS:
        raise LemmyError("report_too_long")
    return reason


async def _community(session: AsyncSession, community_id: int) -> Community:
    community = await session.get(Community, community_id)
    if community is None:
        raise LemmyError("couldnt_find_community", status=404)
    return community


def _hidden_from(actor: Actor, creator_id: int, removed: bool, deleted: bool) -> bool:
    """What Lemmy's view read hides from someone who is not a moderator: removed content, and deleted content
    unless it is their own (a report of it is then `couldnt_find_*`)."""
    return removed or (deleted and creator_id != actor.person_id)


async def _post_report(
    session: AsyncSession, reporter_id: int, post: Post, reason: str, ap_id: str | None
) -> tuple[PostReport, bool]:
    """The reporter's report of this post (one per person and post, as Lemmy's unique key): the one stored, or a
    new one keeping the post as it reads now. The flag says whether it is new."""
    existing = await session.scalar(
        select(PostReport).where(PostReport.post_id == post.id, PostReport.creator_id == reporter_id)
    )
    if existing is not None:
        return existing, False
    report = PostReport(
        creator_id=reporter_id,
        post_id=post.id,
        original_post_name=post.name,
        original_post_url=post.url,
        original_post_body=post.body,
        reason=reason,
        resolved=False,
        ap_id=ap_id,
        published=utcnow(),
    )
    session.add(report)
    await session.flush()
    return report, True


async def _comment_report(
    session: AsyncSession, reporter_id: int, comment: Comment, reason: str, ap_id: str | None
) -> tuple[CommentReport, bool]:
    """As `_post_report`, for a comment."""
    existing = await session.scalar(
        select(CommentReport).where(CommentReport.comment_id == comment.id, CommentReport.creator_id == reporter_id)
    )
    if existing is not None:
        return existing, False
    report = CommentReport(
        creator_id=reporter_id,
        comment_id=comment.id,
        original_comment_text=comment.content,
        reason=reason,
        resolved=False,
        ap_id=ap_id,
        published=utcnow(),
    )
    session.add(report)
    await session.flush()
    return report, True


async def create_post_report(
    session: AsyncSession, actor: Actor, post_id: int, reason: str, *, settings: Settings | None = None
) -> PostReport:
    """`settings`: this server's, for the admins' mail (`reports_email_admins`); none is sent without them."""
    reason = await _check_reason(session, reason)
    post = await session.get(Post, post_id)
    if post is None:
        raise LemmyError("couldnt_find_post", status=404)
    community = await _community(session, post.community_id)
    if _hidden_from(actor, post.creator_id, post.removed or community.removed, post.deleted or community.deleted):
        raise LemmyError("couldnt_find_post", status=404)
    await check_community_user_action(session, actor, community)
    if post.deleted or post.removed:
        raise LemmyError("deleted")
    report, created = await _post_report(session, actor.person_id, post, reason, None)
    if not created:
        raise LemmyError("couldnt_create_report")
    await _mail_admins(session, settings, actor, post.creator_id)
    if not community.local:
        report.ap_id = await outbox.reported(session, actor.person, post.ap_id, community, reason) or None
    return report


async def create_comment_report(
    session: AsyncSession, actor: Actor, comment_id: int, reason: str, *, settings: Settings | None = None
) -> CommentReport:
    reason = await _check_reason(session, reason)
    comment = await session.get(Comment, comment_id)
    if comment is None:
        raise LemmyError("couldnt_find_comment", status=404)
    post = await session.get(Post, comment.post_id)
    if post is None:
        raise LemmyError("couldnt_find_comment", status=404)
    community = await _community(session, post.community_id)
    await check_community_user_action(session, actor, community)
    if comment.deleted or comment.removed:
        raise LemmyError("deleted")
    report, created = await _comment_report(session, actor.person_id, comment, reason, None)
    if not created:
        raise LemmyError("couldnt_create_report")
    await _mail_admins(session, settings, actor, comment.creator_id)
    if not community.local:
        report.ap_id = await outbox.reported(session, actor.person, comment.ap_id, community, reason) or None
    return report


async def _mail_admins(session: AsyncSession, settings: Settings | None, actor: Actor, reported_id: int) -> None:
    """A report made here is mailed to the admins when the site asks for it (as Lemmy, reports received by Flag
    from other servers are not)."""
    reported = await session.get(Person, reported_id)
    if reported is not None:
        await mail.notify_admins_of_report(session, settings, actor.person, reported)


async def _resolve(
    session: AsyncSession, actor: Actor, report: PostReport | CommentReport, community_id: int, resolved: bool
) -> None:
    await check_community_mod_action(session, actor, await _community(session, community_id), allow_deleted=True)
    report.resolved = resolved
    report.resolver_id = actor.person_id
    report.updated = utcnow()
    await session.flush()


async def resolve_post_report(session: AsyncSession, actor: Actor, report_id: int, resolved: bool) -> PostReport:
    """Resolve (or unresolve) a post report: moderators of the post's community and admins."""
    report = await session.get(PostReport, report_id)
    post = None if report is None else await session.get(Post, report.post_id)
    if report is None or post is None:
        raise LemmyError("couldnt_find_post_report", status=404)
    await _resolve(session, actor, report, post.community_id, resolved)
    return report


async def resolve_comment_report(session: AsyncSession, actor: Actor, report_id: int, resolved: bool) -> CommentReport:
    """Resolve (or unresolve) a comment report: moderators of the comment's community and admins."""
    report = await session.get(CommentReport, report_id)
    comment = None if report is None else await session.get(Comment, report.comment_id)
    post = None if comment is None else await session.get(Post, comment.post_id)
    if report is None or post is None:
        raise LemmyError("couldnt_find_comment_report", status=404)
    await _resolve(session, actor, report, post.community_id, resolved)
    return report


async def receive_report(
    session: AsyncSession, reporter: Person, object_ap_id: str, reason: str, ap_id: str
) -> PostReport | CommentReport:
    """A report arriving by Flag from another server (`object_ap_id`: the post or comment it reports, already
    stored here; `ap_id`: the Flag's id). As Lemmy's Report handler: the reporter may act in the community (not
    banned from it or from the site), the object is neither deleted nor removed. The same Flag twice, or a second
    report of the same object by the same person, changes nothing and answers the report already stored."""
    seen_post = await session.scalar(select(PostReport).where(PostReport.ap_id == ap_id))
    if seen_post is not None:
        return seen_post
    seen_comment = await session.scalar(select(CommentReport).where(CommentReport.ap_id == ap_id))
    if seen_comment is not None:
        return seen_comment
    actor = RemoteActor(reporter)
    reason = await _check_reason(session, reason)  # the same limits as a report made here
    post = await session.scalar(select(Post).where(Post.ap_id == object_ap_id))
    if post is not None:
        await check_community_user_action(session, actor, await _community(session, post.community_id))
        if post.deleted or post.removed:
            raise LemmyError("deleted")
        return (await _post_report(session, reporter.id, post, reason, ap_id))[0]
    comment = await session.scalar(select(Comment).where(Comment.ap_id == object_ap_id))
    if comment is None:
        raise LemmyError("couldnt_find_object", status=404)
    commented = await session.get(Post, comment.post_id)
    if commented is None:
        raise LemmyError("couldnt_find_object", status=404)
    await check_community_user_action(session, actor, await _community(session, commented.community_id))
    if comment.deleted or comment.removed:
        raise LemmyError("deleted")
    return (await _comment_report(session, reporter.id, comment, reason, ap_id))[0]
