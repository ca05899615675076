"""The pages behind the links Moot mails (actions/mail.py): verify an email address, ask for a password reset,
choose a new password. Plain forms with CSRF tokens; a link only shows a form, so a mail scanner that opens it
uses nothing up."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response

from moot.actions import mail
from moot.domain.errors import LemmyError
from moot.web.context import Web, web_context
from moot.web.routing import message_for, posted_form, web_router

router = web_router()

_TOKEN_MAX = 200


def _token_error(error: LemmyError) -> str:
    if error.error == "token_not_found":
        return "This link is not valid: it was used already, has expired, or was copied incompletely."
    return message_for(error)


@router.get("/verify_email/{token}")
async def verify_email_page(token: str, web: Web = Depends(web_context)) -> Response:
    return web.render("verify_email.html", title="Verify your email", token=token[:_TOKEN_MAX], done=False)


@router.post("/verify_email/{token}")
async def verify_email(token: str, web: Web = Depends(web_context)) -> Response:
    try:
        async with web.db.write() as session:
            await mail.verify_email(session, web.settings, token[:_TOKEN_MAX])
    except LemmyError as exc:
        return web.render(
            "verify_email.html", status=400, title="Verify your email", token=token, done=False, error=_token_error(exc)
        )
    return web.render("verify_email.html", title="Email verified", token=token, done=True)


@router.get("/password_reset")
async def password_reset_page(web: Web = Depends(web_context)) -> Response:
    return web.render("password_reset.html", title="Forgot your password?", sent=False, email="")


@router.post("/password_reset")
async def password_reset(request: Request, web: Web = Depends(web_context)) -> Response:
    email = posted_form(request).text("email").strip()[:255]
    try:
        async with web.db.write() as session:
            await mail.request_password_reset(session, web.settings, email)
    except LemmyError as exc:
        return web.render(
            "password_reset.html",
            status=400,
            title="Forgot your password?",
            sent=False,
            email=email,
            error=message_for(exc),
        )
    return web.render("password_reset.html", title="Forgot your password?", sent=True, email=email)


@router.get("/password_change/{token}")
async def password_change_page(token: str, web: Web = Depends(web_context)) -> Response:
    return web.render("password_change.html", title="Choose a new password", token=token[:_TOKEN_MAX])


@router.post("/password_change/{token}")
async def password_change(token: str, request: Request, web: Web = Depends(web_context)) -> Response:
    form = posted_form(request)
    try:
        async with web.db.write() as session:
            await mail.change_password_after_reset(
                session, web.settings, token[:_TOKEN_MAX], form.text("password"), form.text("password_verify")
            )
    except LemmyError as exc:
        return web.render(
            "password_change.html", status=400, title="Choose a new password", token=token, error=_token_error(exc)
        )
    return web.redirect("/login?password_changed=1")
