"""The account page: two-factor authentication (its QR code drawn here, as inline SVG), the logins, deleting
the account; and the sign-up captcha's image and sound. The same actions as the API."""

from __future__ import annotations

import base64

import segno
from fastapi import Depends
from fastapi.responses import Response
from markupsafe import Markup

from moot.actions import account_lifecycle, accounts, captcha, totp
from moot.db.person import LocalUser
from moot.domain.errors import LemmyError
from moot.queries.logins import list_logins
from moot.queries.site import load_local_site
from moot.web.context import Web, web_context
from moot.web.routing import message_for, posted_form, web_router
from moot.web.security import AUTH_COOKIE

router = web_router()

MESSAGES = {
    "incorrect_totp_token": "That code is not right (or has expired): enter the current one.",
    "missing_totp_secret": "Start again: set up two-factor authentication first.",
    "totp_already_enabled": "Two-factor authentication is already on.",
    "incorrect_login": "That password is not right.",
}


def _message(exc: LemmyError) -> str:
    return MESSAGES.get(exc.error) or message_for(exc)


def qr_svg(data: str) -> Markup:
    """A QR code as inline SVG (presentation attributes only: nothing the Content-Security-Policy refuses)."""
    code = segno.make(data, error="m")
    # segno writes only its own elements and numbers (the data is encoded as module paths, never as text).
    return Markup(code.svg_inline(scale=5, dark="#000", light="#fff", title="QR code of the two-factor secret"))  # noqa: S704


async def new_captcha(web: Web) -> dict[str, str] | None:
    """A captcha for the sign-up form when the site asks for one: the image as a data: URL, the sound's link."""
    async with web.db.write() as session:
        loaded = await load_local_site(session)
        made = await captcha.create(session, loaded.local_site) if loaded is not None else None
    if made is None:
        return None
    return {
        "uuid": made.uuid,
        "png": "data:image/png;base64," + base64.b64encode(made.png).decode(),
        "wav": f"/signup/captcha/{made.uuid}.wav",
    }


async def redeem_captcha(web: Web, key: str | None, answer: str | None) -> bool:
    """In its own transaction, as the API does: a captcha is used up even when the sign-up is then refused."""
    if not key:
        return False
    async with web.db.write() as session:
        return await captcha.redeem(session, key, answer)


@router.get("/signup/captcha/{key}.wav")
async def captcha_sound(key: str, web: Web = Depends(web_context)) -> Response:
    async with web.db.read() as session:
        sound = await captcha.sound_of(session, key)
    if sound is None:
        return Response(status_code=404, content=b"", media_type="text/plain")
    return Response(content=sound, media_type="audio/wav", headers={"Cache-Control": "no-store"})


async def _account_page(
    web: Web, *, error: str | None = None, notice: str | None = None, setup_url: str | None = None, status: int = 200
) -> Response:
    viewer = web.require_viewer()
    async with web.db.read() as session:
        user = await session.get(LocalUser, viewer.local_user.id)
        logins = await list_logins(session, viewer.local_user.id)
    if user is None:
        raise LemmyError("not_logged_in", status=401)
    secret = None
    if setup_url is not None:
        secret = setup_url.split("secret=", 1)[1].split("&", 1)[0]
    return web.render(
        "account_security.html",
        status=400 if error and status == 200 else status,
        title="Account and security",
        enabled=user.totp_2fa_enabled,
        setup_qr=qr_svg(setup_url) if setup_url else None,
        setup_url=setup_url,
        secret=secret,
        logins=logins,
        error=error,
        notice=notice,
    )


@router.get("/settings/account")
async def account_page(done: str | None = None, web: Web = Depends(web_context)) -> Response:
    notices = {
        "on": "Two-factor authentication is on: logging in now asks for a code.",
        "off": "Two-factor authentication is off.",
    }
    return await _account_page(web, notice=notices.get(done or ""))


@router.post("/settings/2fa/generate")
async def generate_2fa(web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    try:
        async with web.db.write() as session:
            loaded = await load_local_site(session)
            user = await accounts.own_user(session, viewer)
            if loaded is None:
                raise LemmyError("not_logged_in", status=401)
            url = totp.generate_secret(user, viewer.person, loaded.site.name)
    except LemmyError as exc:
        return await _account_page(web, error=_message(exc))
    return await _account_page(web, setup_url=url)


@router.post("/settings/2fa")
async def update_2fa(web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(web.request)
    enabled = form.flag("enabled")
    try:
        async with web.db.write() as session:
            user = await accounts.own_user(session, viewer)
            totp.update(user, form.text("totp_token"), enabled)
    except LemmyError as exc:
        return await _account_page(web, error=_message(exc))
    return web.redirect("/settings/account?done=" + ("on" if enabled else "off"))


@router.post("/settings/delete_account")
async def delete_account(web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(web.request)
    if not form.flag("confirm"):
        return await _account_page(web, error="Tick the box to confirm that the account should be deleted.")
    try:
        async with web.db.write() as session:
            user = await accounts.own_user(session, viewer)
            await account_lifecycle.delete_account(
                session, viewer, user, form.text("password"), form.flag("delete_content")
            )
    except LemmyError as exc:
        return await _account_page(web, error=_message(exc))
    web.cookies[AUTH_COOKIE] = None
    return web.redirect("/")
