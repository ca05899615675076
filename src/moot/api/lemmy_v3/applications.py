"""Registration applications (admins): list, count, read one, approve or deny."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import Field

from moot.actions import applications
from moot.actions.access import check_is_admin
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok, query_form
from moot.api.lemmy_v3.forms import Flag, Form, Id, QueryFlag, QueryForm, QueryId, QueryInt64
from moot.api.openapi import API_PREFIX, v3
from moot.domain.timefmt import lemmy_time
from moot.queries.applications import (
    RegistrationApplicationView,
    get_application_view,
    get_application_view_of_person,
    list_applications,
    unread_count,
)
from moot.queries.site import load_local_site

router = APIRouter(prefix=API_PREFIX)


class ListRegistrationApplications(QueryForm):
    unread_only: QueryFlag | None = None
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None


class GetRegistrationApplication(QueryForm):
    person_id: QueryId


class ApproveRegistrationApplication(Form):
    id: Id
    approve: Flag
    deny_reason: str | None = Field(default=None, max_length=10_000)


def application_view(v: RegistrationApplicationView) -> dict[str, Any]:
    a = v.application
    body: dict[str, Any] = {
        "registration_application": convert.compact(
            {
                "id": a.id,
                "local_user_id": a.local_user_id,
                "answer": a.answer,
                "admin_id": a.admin_id,
                "deny_reason": a.deny_reason,
                "published": lemmy_time(a.published),
            }
        ),
        "creator_local_user": convert.local_user(v.creator_local_user),
        "creator": convert.person(v.creator),
    }
    if v.admin is not None:
        body["admin"] = convert.person(v.admin)
    return body


async def _verified_email_only(c: Ctx) -> bool:
    """On a site that requires email verification, admins see only applicants who verified their address."""
    async with c.db.read() as session:
        loaded = await load_local_site(session)
    return loaded is not None and loaded.local_site.require_email_verification


@router.get(
    "/admin/registration_application/list",
    **v3("listRegistrationApplications", "ListRegistrationApplicationsResponse", login=True),
)
async def list_registration_applications(
    form: ListRegistrationApplications = Depends(query_form(ListRegistrationApplications)), c: Ctx = Depends(context)
) -> JSONResponse:
    viewer = c.require_viewer()
    check_is_admin(viewer)
    verified_only = await _verified_email_only(c)
    async with c.db.read() as session:
        views = await list_applications(
            session,
            unread_only=bool(form.unread_only),
            verified_email_only=verified_only,
            page=form.page,
            limit=form.limit,
        )
    return ok({"registration_applications": [application_view(v) for v in views]}, viewer)


@router.get(
    "/admin/registration_application/count",
    **v3("getUnreadRegistrationApplicationCount", "GetUnreadRegistrationApplicationCountResponse", login=True),
)
async def unread_registration_application_count(c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    check_is_admin(viewer)
    verified_only = await _verified_email_only(c)
    async with c.db.read() as session:
        count = await unread_count(session, verified_email_only=verified_only)
    return ok({"registration_applications": count}, viewer)


@router.get(
    "/admin/registration_application",
    **v3("getRegistrationApplication", "RegistrationApplicationResponse", login=True, not_found=True),
)
async def get_registration_application(
    form: GetRegistrationApplication = Depends(query_form(GetRegistrationApplication)), c: Ctx = Depends(context)
) -> JSONResponse:
    viewer = c.require_viewer()
    check_is_admin(viewer)
    async with c.db.read() as session:
        view = await get_application_view_of_person(session, form.person_id)
    return ok({"registration_application": application_view(view)}, viewer)


@router.put(
    "/admin/registration_application/approve",
    **v3("approveRegistrationApplication", "RegistrationApplicationResponse", login=True, not_found=True),
)
async def approve_registration_application(
    form: ApproveRegistrationApplication, c: Ctx = Depends(context)
) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await applications.decide(session, viewer, form.id, form.approve, form.deny_reason, settings=c.settings)
    async with c.db.read() as session:
        view = await get_application_view(session, form.id)
    return ok({"registration_application": application_view(view)}, viewer)
