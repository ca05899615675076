"""Post and comment reports as moderators read them: PostReportView, CommentReportView, the report counts.

Built on the post and comment read models (the same columns and viewer flags as PostView and CommentView), with
the report, its reporter and its resolver joined in: one statement per view or page. Admins read every report,
moderators the reports of the communities they moderate (Lemmy 0.19's PostReportQuery); who may list at all is
the access gate's question (`actions.access.check_mod_of_any_or_admin`), asked before these run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from moot.db.comment import Comment
from moot.db.community import CommunityModerator
from moot.db.moderation import CommentReport, PostReport
from moot.db.person import Person
from moot.db.post import Post
from moot.domain.errors import LemmyError
from moot.queries.comments import CommentView, comment_view_of, select_comment_views
from moot.queries.common import Col, page_of, without_keys
from moot.queries.messages import unresolved_private_message_reports
from moot.queries.posts import PostView, post_view_of, select_post_views
from moot.queries.viewer import Viewer

Reporter = aliased(Person, name="reporter")
Resolver = aliased(Person, name="resolver")


@dataclass(frozen=True, slots=True)
class PostReportView:
    report: PostReport
    post_view: PostView  # the post as the moderator sees it now (creator, community, counts, viewer flags)
    reporter: Person
    resolver: Person | None


@dataclass(frozen=True, slots=True)
class CommentReportView:
    report: CommentReport
    comment_view: CommentView
    reporter: Person
    resolver: Person | None


@dataclass(frozen=True, slots=True)
class ReportQuery:
    unresolved_only: bool = False
    community_id: int | None = None
    post_id: int | None = None  # post reports only
    comment_id: int | None = None  # comment reports only
    page: int | None = None
    limit: int | None = None


def _moderated_by(community_id: Col[Any], viewer: Viewer) -> ColumnElement[bool]:
    """Admins read every report; a moderator those of the communities they moderate."""
    if viewer.is_admin:
        return true()
    return exists().where(
        CommunityModerator.community_id == community_id, CommunityModerator.person_id == viewer.person_id
    )


def _post_reports(viewer: Viewer) -> Select[Any]:
    return (
        select_post_views(viewer)
        .add_columns(PostReport, Reporter, Resolver)
        .join(PostReport, PostReport.post_id == Post.id)
        .join(Reporter, Reporter.id == PostReport.creator_id)
        .outerjoin(Resolver, Resolver.id == PostReport.resolver_id)
        .options(*without_keys(Reporter, Resolver))
    )


def _post_report_view(row: Any) -> PostReportView:
    return PostReportView(
        report=row.PostReport, post_view=post_view_of(row), reporter=row.reporter, resolver=row.resolver
    )


def _comment_reports(viewer: Viewer) -> Select[Any]:
    return (
        select_comment_views(viewer)
        .add_columns(CommentReport, Reporter, Resolver)
        .join(CommentReport, CommentReport.comment_id == Comment.id)
        .join(Reporter, Reporter.id == CommentReport.creator_id)
        .outerjoin(Resolver, Resolver.id == CommentReport.resolver_id)
        .options(*without_keys(Reporter, Resolver))
    )


def _comment_report_view(row: Any, viewer: Viewer) -> CommentReportView:
    return CommentReportView(
        report=row.CommentReport,
        comment_view=comment_view_of(row, viewer),
        reporter=row.reporter,
        resolver=row.resolver,
    )


async def get_post_report_view(session: AsyncSession, report_id: int, viewer: Viewer) -> PostReportView:
    row = (await session.execute(_post_reports(viewer).where(PostReport.id == report_id))).first()
    if row is None:
        raise LemmyError("couldnt_find_post_report", status=404)
    return _post_report_view(row)


async def get_comment_report_view(session: AsyncSession, report_id: int, viewer: Viewer) -> CommentReportView:
    row = (await session.execute(_comment_reports(viewer).where(CommentReport.id == report_id))).first()
    if row is None:
        raise LemmyError("couldnt_find_comment_report", status=404)
    return _comment_report_view(row, viewer)


def _ordered(stmt: Select[Any], model: type[PostReport] | type[CommentReport], q: ReportQuery) -> Select[Any]:
    """Lemmy's order: everything newest first, but the unresolved queue oldest first (first in, first out)."""
    paging = page_of(q.page, q.limit)
    if q.unresolved_only:
        stmt = stmt.where(model.resolved.is_(False)).order_by(model.published.asc(), model.id.asc())
    else:
        stmt = stmt.order_by(model.published.desc(), model.id.desc())
    return stmt.limit(paging.limit).offset(paging.offset)


async def list_post_reports(session: AsyncSession, q: ReportQuery, viewer: Viewer) -> list[PostReportView]:
    stmt = _post_reports(viewer).where(_moderated_by(Post.community_id, viewer))
    if q.community_id is not None:
        stmt = stmt.where(Post.community_id == q.community_id)
    if q.post_id is not None:
        stmt = stmt.where(Post.id == q.post_id)
    rows = (await session.execute(_ordered(stmt, PostReport, q))).all()
    return [_post_report_view(row) for row in rows]


async def list_comment_reports(session: AsyncSession, q: ReportQuery, viewer: Viewer) -> list[CommentReportView]:
    stmt = _comment_reports(viewer).where(_moderated_by(Post.community_id, viewer))
    if q.community_id is not None:
        stmt = stmt.where(Post.community_id == q.community_id)
    if q.comment_id is not None:
        stmt = stmt.where(Comment.id == q.comment_id)
    rows = (await session.execute(_ordered(stmt, CommentReport, q))).all()
    return [_comment_report_view(row, viewer) for row in rows]


@dataclass(frozen=True, slots=True)
class ReportCounts:
    post_reports: int
    comment_reports: int
    private_message_reports: int | None = None  # admins, for the whole site only


async def report_counts(session: AsyncSession, viewer: Viewer, community_id: int | None) -> ReportCounts:
    """Unresolved reports the viewer can act on (all for admins, their communities' for moderators), in one
    statement."""
    post_filter = [PostReport.resolved.is_(False), _moderated_by(Post.community_id, viewer)]
    comment_filter = [CommentReport.resolved.is_(False), _moderated_by(Post.community_id, viewer)]
    if community_id is not None:
        post_filter.append(Post.community_id == community_id)
        comment_filter.append(Post.community_id == community_id)
    posts = select(func.count(PostReport.id)).join(Post, Post.id == PostReport.post_id).where(and_(*post_filter))
    comments = (
        select(func.count(CommentReport.id))
        .join(Comment, Comment.id == CommentReport.comment_id)
        .join(Post, Post.id == Comment.post_id)
        .where(and_(*comment_filter))
    )
    counted = [posts.scalar_subquery(), comments.scalar_subquery()]
    if viewer.is_admin and community_id is None:
        counted.append(unresolved_private_message_reports())
    row = (await session.execute(select(*counted))).one()
    private_messages = int(row[2]) if len(row) > 2 else None
    return ReportCounts(post_reports=int(row[0]), comment_reports=int(row[1]), private_message_reports=private_messages)
