"""Accounts: sign up, log in and out (the `jwt` cookie). The settings page is web/settings_pages.py."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response

from moot.actions import accounts
from moot.domain.errors import LemmyError
from moot.http.ratelimit import request_address as client_address
from moot.queries.site import load_local_site
from moot.web.account_security import new_captcha, redeem_captcha
from moot.web.context import Web, web_context
from moot.web.routing import message_for, posted_form, web_router
from moot.web.security import AUTH_COOKIE, safe_next

router = web_router()

TOTP_MESSAGES = {
    "missing_totp_token": "This account uses two-factor authentication: enter the code from your authenticator app.",
    "incorrect_totp_token": "That code is not right (or has expired): enter the current one.",
}


def _address(web: Web) -> str:
    return client_address(web.request, web.settings)


def _login_form(
    web: Web, name: str, target: str, error: str | None, status: int = 200, ask_code: bool = False
) -> Response:
    return web.render(
        "login.html", status=status, title="Log in", name=name, next=target, error=error, ask_code=ask_code
    )


@router.get("/login")
async def login_page(next: str | None = None, web: Web = Depends(web_context)) -> Response:
    target = safe_next(next)
    if web.viewer is not None:
        return web.redirect(target)
    return _login_form(web, "", target, None)


@router.post("/login")
async def login(request: Request, web: Web = Depends(web_context)) -> Response:
    form = posted_form(request)
    name, target = form.text("username_or_email").strip(), safe_next(form.optional("next"))
    try:
        async with web.db.write() as session:
            token = await accounts.login(
                session,
                web.settings,
                name,
                form.text("password"),
                _address(web),
                web.request.headers.get("user-agent"),
                totp_2fa_token=form.optional("totp_2fa_token"),
            )
    except LemmyError as exc:
        # With 2FA on, the form comes back asking for the code (the password is typed again with it).
        ask_code = exc.error in ("missing_totp_token", "incorrect_totp_token")
        message = TOTP_MESSAGES.get(exc.error) or message_for(exc)
        status = exc.status if exc.status >= 400 else 400
        return _login_form(web, name, target, message, status=status, ask_code=ask_code)
    web.cookies[AUTH_COOKIE] = token
    return web.redirect(target)


async def _signup_form(
    web: Web, values: dict[str, str], error: str | None, applied: bool = False, verify_sent: bool = False
) -> Response:
    applying = web.site.registration_mode == "RequireApplication"
    question = None
    if applying and not applied:
        async with web.db.read() as session:
            loaded = await load_local_site(session)
        question = loaded.local_site.application_question if loaded else None
    return web.render(
        "signup.html",
        status=400 if error else 200,
        title="Sign up",
        values=values,
        error=error,
        closed=web.site.registration_mode == "Closed",
        applying=applying,
        applied=applied,
        verify_sent=verify_sent,
        question=question,
        captcha=None if applied or verify_sent or web.site.registration_mode == "Closed" else await new_captcha(web),
    )


@router.get("/signup")
async def signup_page(next: str | None = None, web: Web = Depends(web_context)) -> Response:
    if web.viewer is not None:
        return web.redirect(safe_next(next))
    return await _signup_form(web, {"next": safe_next(next)}, None)


@router.post("/signup")
async def signup(request: Request, web: Web = Depends(web_context)) -> Response:
    form = posted_form(request)
    values = {"username": form.text("username").strip(), "email": form.text("email").strip()}
    values["answer"] = form.text("answer")
    values["next"] = safe_next(form.optional("next"))
    registration = accounts.Registration(
        username=values["username"],
        password=form.text("password"),
        password_verify=form.text("password_verify"),
        email=values["email"] or None,
        show_nsfw=form.flag("show_nsfw"),
        answer=form.text("answer") if "answer" in form.values else None,
        captcha_passed=await redeem_captcha(web, form.optional("captcha_uuid"), form.text("captcha_answer")),
    )
    try:
        async with web.db.write() as session:
            done = await accounts.register_account(
                session, web.settings, registration, _address(web), web.request.headers.get("user-agent")
            )
    except LemmyError as exc:
        return await _signup_form(web, values, message_for(exc))
    if done.jwt is None:
        # The account waits for an admin (its application) or for its address to be verified (a mailed link).
        return await _signup_form(web, {}, None, applied=done.registration_created, verify_sent=done.verify_email_sent)
    web.cookies[AUTH_COOKIE] = done.jwt
    if done.became_admin:
        # The first account is the site's admin: the admin area tells them so (base.html's welcome notice).
        return web.redirect("/admin?welcome=admin")
    return web.redirect(values["next"])


@router.post("/logout")
async def logout(web: Web = Depends(web_context)) -> Response:
    """Ends this login on the server too (its token row goes), not just in this browser."""
    if web.viewer is not None:
        async with web.db.write() as session:
            await accounts.logout(session, web.viewer.token)
    web.cookies[AUTH_COOKIE] = None
    return web.redirect("/")
