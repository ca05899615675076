"""Private messages: create, edit, delete, mark read, list, and their reports (admins list and resolve them).
The rules are in actions/messages.py and the access gate; the views in queries/messages.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import Field

from moot.actions import access, messages
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok, query_form
from moot.api.lemmy_v3.forms import Flag, Form, Id, QueryFlag, QueryForm, QueryId, QueryInt64
from moot.api.openapi import API_PREFIX, v3
from moot.domain.timefmt import lemmy_time
from moot.queries.messages import (
    PrivateMessageQuery,
    PrivateMessageReportView,
    PrivateMessageView,
    get_private_message_report_view,
    get_private_message_view,
    list_private_message_reports,
    list_private_messages,
)

router = APIRouter(prefix=API_PREFIX)

# Outer bounds only: the actions refuse more than Lemmy's 10,000 characters (`invalid_body_field`) and 1000 for a
# report's reason (`report_too_long`).
_TEXT = 100_000


class CreatePrivateMessage(Form):
    content: str = Field(max_length=_TEXT)
    recipient_id: Id


class EditPrivateMessage(Form):
    private_message_id: Id
    content: str = Field(max_length=_TEXT)


class DeletePrivateMessage(Form):
    private_message_id: Id
    deleted: Flag


class MarkPrivateMessageAsRead(Form):
    private_message_id: Id
    read: Flag


class GetPrivateMessages(QueryForm):
    unread_only: QueryFlag | None = None
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None
    creator_id: QueryId | None = None


class CreatePrivateMessageReport(Form):
    private_message_id: Id
    reason: str = Field(max_length=_TEXT)


class ResolvePrivateMessageReport(Form):
    report_id: Id
    resolved: Flag


class ListPrivateMessageReports(QueryForm):
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None
    unresolved_only: QueryFlag | None = None


def _t(value: Any) -> str | None:
    return None if value is None else lemmy_time(value)


def private_message(v: PrivateMessageView) -> dict[str, Any]:
    m = v.message
    return convert.compact(
        {
            "id": m.id,
            "creator_id": m.creator_id,
            "recipient_id": m.recipient_id,
            "content": m.content,
            "deleted": m.deleted,
            "read": v.read,
            "published": lemmy_time(m.published),
            "updated": _t(m.updated),
            "ap_id": m.ap_id,
            "local": m.local,
        }
    )


def private_message_view(v: PrivateMessageView) -> dict[str, Any]:
    return {
        "private_message": private_message(v),
        "creator": convert.person(v.creator),
        "recipient": convert.person(v.recipient),
    }


def private_message_report_view(v: PrivateMessageReportView) -> dict[str, Any]:
    r, m = v.report, v.message
    body: dict[str, Any] = {
        "private_message_report": convert.compact(
            {
                "id": r.id,
                "creator_id": r.creator_id,
                "private_message_id": r.private_message_id,
                "original_pm_text": r.original_pm_text,
                "reason": r.reason,
                "resolved": r.resolved,
                "resolver_id": r.resolver_id,
                "published": lemmy_time(r.published),
                "updated": _t(r.updated),
            }
        ),
        "private_message": private_message(PrivateMessageView(m, v.message_creator, v.message_creator, m.read)),
        "private_message_creator": convert.person(v.message_creator),
        "creator": convert.person(v.reporter),
    }
    if v.resolver is not None:
        body["resolver"] = convert.person(v.resolver)
    return body


async def _message_response(c: Ctx, message_id: int) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        view = await get_private_message_view(session, message_id, viewer)
    return ok({"private_message_view": private_message_view(view)}, viewer)


async def _report_response(c: Ctx, report_id: int) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        view = await get_private_message_report_view(session, report_id)
    return ok({"private_message_report_view": private_message_report_view(view)}, viewer)


@router.post("/private_message", **v3("createPrivateMessage", "PrivateMessageResponse", login=True))
async def create_private_message(form: CreatePrivateMessage, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        message = await messages.create_private_message(session, c.settings, viewer, form.recipient_id, form.content)
    return await _message_response(c, message.id)


@router.put("/private_message", **v3("editPrivateMessage", "PrivateMessageResponse", login=True, not_found=True))
async def edit_private_message(form: EditPrivateMessage, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await messages.edit_private_message(session, viewer, form.private_message_id, form.content)
    return await _message_response(c, form.private_message_id)


@router.post(
    "/private_message/delete", **v3("deletePrivateMessage", "PrivateMessageResponse", login=True, not_found=True)
)
async def delete_private_message(form: DeletePrivateMessage, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await messages.delete_private_message(session, viewer, form.private_message_id, form.deleted)
    return await _message_response(c, form.private_message_id)


@router.post(
    "/private_message/mark_as_read",
    **v3("markPrivateMessageAsRead", "PrivateMessageResponse", login=True, not_found=True),
)
async def mark_private_message_read(form: MarkPrivateMessageAsRead, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await messages.mark_private_message_read(session, viewer, form.private_message_id, form.read)
    return await _message_response(c, form.private_message_id)


@router.get("/private_message/list", **v3("getPrivateMessages", "PrivateMessagesResponse", login=True))
async def get_private_messages(
    form: GetPrivateMessages = Depends(query_form(GetPrivateMessages)), c: Ctx = Depends(context)
) -> JSONResponse:
    viewer = c.require_viewer()
    query = PrivateMessageQuery(
        unread_only=bool(form.unread_only), creator_id=form.creator_id, page=form.page, limit=form.limit
    )
    async with c.db.read() as session:
        views = await list_private_messages(session, viewer, query)
    return ok({"private_messages": [private_message_view(v) for v in views]}, viewer)


@router.post(
    "/private_message/report",
    **v3("createPrivateMessageReport", "PrivateMessageReportResponse", login=True, not_found=True),
)
async def create_private_message_report(form: CreatePrivateMessageReport, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        report = await messages.create_private_message_report(
            session, viewer, form.private_message_id, form.reason, settings=c.settings
        )
    return await _report_response(c, report.id)


@router.put(
    "/private_message/report/resolve",
    **v3("resolvePrivateMessageReport", "PrivateMessageReportResponse", login=True, not_found=True),
)
async def resolve_private_message_report(form: ResolvePrivateMessageReport, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await messages.resolve_private_message_report(session, viewer, form.report_id, form.resolved)
    return await _report_response(c, form.report_id)


@router.get(
    "/private_message/report/list",
    **v3("listPrivateMessageReports", "ListPrivateMessageReportsResponse", login=True),
)
async def list_private_message_report_views(
    form: ListPrivateMessageReports = Depends(query_form(ListPrivateMessageReports)), c: Ctx = Depends(context)
) -> JSONResponse:
    viewer = c.require_viewer()
    access.check_is_admin(viewer)
    async with c.db.read() as session:
        views = await list_private_message_reports(session, bool(form.unresolved_only), form.page, form.limit)
    return ok({"private_message_reports": [private_message_report_view(v) for v in views]}, viewer)
