"""Reports: create, resolve and list post and comment reports, and the report counts of moderators and admins.
The rules are in actions/reports.py and the access gate; the views in queries/reports.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import Field

from moot.actions import access, reports
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok, query_form
from moot.api.lemmy_v3.forms import Flag, Form, Id, QueryFlag, QueryForm, QueryId, QueryInt64
from moot.api.openapi import API_PREFIX, v3
from moot.domain.timefmt import lemmy_time
from moot.queries.reports import (
    CommentReportView,
    PostReportView,
    ReportQuery,
    get_comment_report_view,
    get_post_report_view,
    list_comment_reports,
    list_post_reports,
    report_counts,
)

router = APIRouter(prefix=API_PREFIX)

# An outer bound only: the action refuses more than Lemmy's 1000 characters with `report_too_long`.
_REASON = 100_000


class CreatePostReport(Form):
    post_id: Id
    reason: str = Field(max_length=_REASON)


class CreateCommentReport(Form):
    comment_id: Id
    reason: str = Field(max_length=_REASON)


class ResolveReport(Form):
    report_id: Id
    resolved: Flag


class ListPostReports(QueryForm):
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None
    unresolved_only: QueryFlag | None = None
    community_id: QueryId | None = None
    post_id: QueryId | None = None


class ListCommentReports(QueryForm):
    comment_id: QueryId | None = None
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None
    unresolved_only: QueryFlag | None = None
    community_id: QueryId | None = None


class GetReportCount(QueryForm):
    community_id: QueryId | None = None


def _resolver(person: Any) -> dict[str, Any]:
    return {} if person is None else {"resolver": convert.person(person)}


def post_report_view(v: PostReportView) -> dict[str, Any]:
    r, pv = v.report, v.post_view
    return {
        "post_report": convert.compact(
            {
                "id": r.id,
                "creator_id": r.creator_id,
                "post_id": r.post_id,
                "original_post_name": r.original_post_name,
                "original_post_url": r.original_post_url,
                "original_post_body": r.original_post_body,
                "reason": r.reason,
                "resolved": r.resolved,
                "resolver_id": r.resolver_id,
                "published": lemmy_time(r.published),
                "updated": None if r.updated is None else lemmy_time(r.updated),
            }
        ),
        "post": convert.post(pv.post),
        "community": convert.community(pv.community),
        "creator": convert.person(v.reporter),
        "post_creator": convert.person(pv.creator),
        "creator_banned_from_community": pv.creator_banned_from_community,
        "creator_is_moderator": pv.creator_is_moderator,
        "creator_is_admin": pv.creator_is_admin,
        "subscribed": pv.subscribed.value,
        "saved": pv.saved,
        "read": pv.read,
        "hidden": pv.hidden,
        "creator_blocked": pv.creator_blocked,
        **({} if pv.my_vote is None else {"my_vote": pv.my_vote}),
        "unread_comments": pv.unread_comments,
        "counts": convert.post_counts(pv.post),
        **_resolver(v.resolver),
    }


def comment_report_view(v: CommentReportView) -> dict[str, Any]:
    r, cv = v.report, v.comment_view
    return {
        "comment_report": convert.compact(
            {
                "id": r.id,
                "creator_id": r.creator_id,
                "comment_id": r.comment_id,
                "original_comment_text": r.original_comment_text,
                "reason": r.reason,
                "resolved": r.resolved,
                "resolver_id": r.resolver_id,
                "published": lemmy_time(r.published),
                "updated": None if r.updated is None else lemmy_time(r.updated),
            }
        ),
        "comment": convert.comment(cv.comment),
        "post": convert.post(cv.post),
        "community": convert.community(cv.community),
        "creator": convert.person(v.reporter),
        "comment_creator": convert.person(cv.creator),
        "counts": convert.comment_counts(cv.comment),
        "creator_banned_from_community": cv.creator_banned_from_community,
        "creator_is_moderator": cv.creator_is_moderator,
        "creator_is_admin": cv.creator_is_admin,
        "creator_blocked": cv.creator_blocked,
        "subscribed": cv.subscribed.value,
        "saved": cv.saved,
        **({} if cv.my_vote is None else {"my_vote": cv.my_vote}),
        **_resolver(v.resolver),
    }


async def _post_report_response(c: Ctx, report_id: int) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        view = await get_post_report_view(session, report_id, viewer)
    return ok({"post_report_view": post_report_view(view)}, viewer)


async def _comment_report_response(c: Ctx, report_id: int) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        view = await get_comment_report_view(session, report_id, viewer)
    return ok({"comment_report_view": comment_report_view(view)}, viewer)


@router.post("/post/report", **v3("createPostReport", "PostReportResponse", login=True, not_found=True))
async def create_post_report(form: CreatePostReport, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        report = await reports.create_post_report(session, viewer, form.post_id, form.reason, settings=c.settings)
    return await _post_report_response(c, report.id)


@router.put("/post/report/resolve", **v3("resolvePostReport", "PostReportResponse", login=True, not_found=True))
async def resolve_post_report(form: ResolveReport, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await reports.resolve_post_report(session, viewer, form.report_id, form.resolved)
    return await _post_report_response(c, form.report_id)


@router.get("/post/report/list", **v3("listPostReports", "ListPostReportsResponse", login=True))
async def list_post_report_views(
    form: ListPostReports = Depends(query_form(ListPostReports)), c: Ctx = Depends(context)
) -> JSONResponse:
    viewer = c.require_viewer()
    query = ReportQuery(
        unresolved_only=bool(form.unresolved_only),
        community_id=form.community_id,
        post_id=form.post_id,
        page=form.page,
        limit=form.limit,
    )
    async with c.db.read() as session:
        await access.check_mod_of_any_or_admin(session, viewer)
        views = await list_post_reports(session, query, viewer)
    return ok({"post_reports": [post_report_view(v) for v in views]}, viewer)


@router.post("/comment/report", **v3("createCommentReport", "CommentReportResponse", login=True, not_found=True))
async def create_comment_report(form: CreateCommentReport, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        report = await reports.create_comment_report(session, viewer, form.comment_id, form.reason, settings=c.settings)
    return await _comment_report_response(c, report.id)


@router.put(
    "/comment/report/resolve", **v3("resolveCommentReport", "CommentReportResponse", login=True, not_found=True)
)
async def resolve_comment_report(form: ResolveReport, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await reports.resolve_comment_report(session, viewer, form.report_id, form.resolved)
    return await _comment_report_response(c, form.report_id)


@router.get("/comment/report/list", **v3("listCommentReports", "ListCommentReportsResponse", login=True))
async def list_comment_report_views(
    form: ListCommentReports = Depends(query_form(ListCommentReports)), c: Ctx = Depends(context)
) -> JSONResponse:
    viewer = c.require_viewer()
    query = ReportQuery(
        unresolved_only=bool(form.unresolved_only),
        community_id=form.community_id,
        comment_id=form.comment_id,
        page=form.page,
        limit=form.limit,
    )
    async with c.db.read() as session:
        await access.check_mod_of_any_or_admin(session, viewer)
        views = await list_comment_reports(session, query, viewer)
    return ok({"comment_reports": [comment_report_view(v) for v in views]}, viewer)


@router.get("/user/report_count", **v3("getReportCount", "GetReportCountResponse", login=True))
async def get_report_count(
    form: GetReportCount = Depends(query_form(GetReportCount)), c: Ctx = Depends(context)
) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        await access.check_mod_of_any_or_admin(session, viewer)
        counts = await report_counts(session, viewer, form.community_id)
    body: dict[str, Any] = {
        "comment_reports": counts.comment_reports,
        "post_reports": counts.post_reports,
    }
    if form.community_id is not None:
        body["community_id"] = form.community_id
    if counts.private_message_reports is not None:
        # Lemmy counts private message reports for admins of the whole site.
        body["private_message_reports"] = counts.private_message_reports
    return ok(body, viewer)
