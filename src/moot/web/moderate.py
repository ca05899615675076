"""Moderator tools beside posts and comments, reports and the reports queue.

The buttons call the same actions as the API (actions/moderation.py, people.py, reports.py), which ask the access
gate; a page never decides who may act, it only leaves out the tools of people who may not. Every form answers
with a 303 back to the page it came from."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Depends, Request
from fastapi.responses import Response

from moot.actions import access, moderation, people, reports
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.queries.reports import ReportQuery, list_comment_reports, list_post_reports
from moot.web.context import Web, web_context
from moot.web.routing import Form, posted_form, web_router
from moot.web.security import safe_next

router = web_router()

# The longest ban a form offers in days (about ten years; longer is permanent, as Lemmy's check_expire_time).
MAX_BAN_DAYS = 3650


def _back(form: Form, default: str) -> str:
    return safe_next(form.optional("next"), default)


def _reported(page: str) -> str:
    """The page the report was made on, saying that it was (post.html shows the notice)."""
    path = page.split("#")[0]
    return path + ("&" if "?" in path else "?") + "reported=1"


def _reason(form: Form) -> str | None:
    return form.optional("reason")


@router.post("/post/{post_id}/remove")
async def remove_post(post_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        await moderation.remove_post(session, viewer, post_id, form.flag("removed"), _reason(form))
    return web.redirect(_back(form, f"/post/{post_id}"))


@router.post("/post/{post_id}/lock")
async def lock_post(post_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        await moderation.lock_post(session, viewer, post_id, form.flag("locked"))
    return web.redirect(_back(form, f"/post/{post_id}"))


@router.post("/post/{post_id}/feature")
async def feature_post(post_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    feature_type = "Local" if form.text("feature_type") == "Local" else "Community"
    async with web.db.write() as session:
        await moderation.feature_post(session, viewer, post_id, form.flag("featured"), feature_type)
    return web.redirect(_back(form, f"/post/{post_id}"))


@router.post("/comment/{comment_id}/remove")
async def remove_comment(comment_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        comment = await moderation.remove_comment(session, viewer, comment_id, form.flag("removed"), _reason(form))
        post_id = comment.post_id
    return web.redirect(_back(form, f"/post/{post_id}#c{comment_id}"))


@router.post("/comment/{comment_id}/distinguish")
async def distinguish_comment(comment_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        comment = await moderation.distinguish_comment(session, viewer, comment_id, form.flag("distinguished"))
        post_id = comment.post_id
    return web.redirect(_back(form, f"/post/{post_id}#c{comment_id}"))


@router.post("/community/{community_id}/ban")
async def ban_from_community(community_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    """Ban (or unban) a person from the community: `days` empty or 0 is a permanent ban."""
    viewer = web.require_viewer()
    form = posted_form(request)
    person_id = form.integer("person_id")
    if person_id is None:
        raise LemmyError("couldnt_find_person", status=404)
    days = form.integer("days")
    if days is not None and not 0 <= days <= MAX_BAN_DAYS:
        raise LemmyError("ban_expiration_in_past" if days < 0 else "unknown", "A ban lasts 1 to 3650 days.")
    expires = utcnow() + timedelta(days=days) if days else None
    async with web.db.write() as session:
        await people.ban_from_community(
            session, viewer, community_id, person_id, form.flag("ban"), _reason(form), expires, form.flag("remove_data")
        )
    return web.redirect(_back(form, "/"))


@router.post("/post/{post_id}/report")
async def report_post(post_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        await reports.create_post_report(session, viewer, post_id, form.text("reason"), settings=web.settings)
    return web.redirect(_reported(_back(form, f"/post/{post_id}")))


@router.post("/comment/{comment_id}/report")
async def report_comment(comment_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        report = await reports.create_comment_report(
            session, viewer, comment_id, form.text("reason"), settings=web.settings
        )
        comment_id = report.comment_id
    return web.redirect(_reported(_back(form, f"/comment/{comment_id}")))


@router.get("/reports")
async def reports_page(resolved: str | None = None, web: Web = Depends(web_context)) -> Response:
    """The queue: unresolved post and comment reports, oldest first; `?resolved=1` shows every report, newest first."""
    viewer = web.require_viewer()
    show_all = bool(resolved)
    query = ReportQuery(unresolved_only=not show_all, limit=50)
    async with web.db.read() as session:
        if not await access.is_mod_of_any_or_admin(session, viewer):
            raise LemmyError("not_a_mod_or_admin", status=403)
        post_reports = await list_post_reports(session, query, viewer)
        comment_reports = await list_comment_reports(session, query, viewer)
    return web.render(
        "reports.html",
        title="Reports",
        post_reports=post_reports,
        comment_reports=comment_reports,
        show_all=show_all,
    )


@router.post("/reports/post/{report_id}/resolve")
async def resolve_post_report(report_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        await reports.resolve_post_report(session, viewer, report_id, form.flag("resolved"))
    return web.redirect(_back(form, "/reports"))


@router.post("/reports/comment/{report_id}/resolve")
async def resolve_comment_report(report_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        await reports.resolve_comment_report(session, viewer, report_id, form.flag("resolved"))
    return web.redirect(_back(form, "/reports"))
