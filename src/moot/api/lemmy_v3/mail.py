"""Email verification and password reset: the links mailed by actions/mail.py are followed here (or on the pages,
web/mail_pages.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import Field

from moot.actions import mail
from moot.api.lemmy_v3.context import Ctx, context, ok
from moot.api.lemmy_v3.forms import Form
from moot.api.openapi import API_PREFIX, v3

router = APIRouter(prefix=API_PREFIX)

_SHORT = 1_000


class VerifyEmail(Form):
    token: str = Field(max_length=_SHORT)


class PasswordReset(Form):
    email: str = Field(max_length=_SHORT)


class PasswordChangeAfterReset(Form):
    token: str = Field(max_length=_SHORT)
    password: str = Field(max_length=_SHORT)
    password_verify: str = Field(max_length=_SHORT)


@router.post("/user/verify_email", **v3("verifyEmail", "SuccessResponse"))
async def verify_email(form: VerifyEmail, c: Ctx = Depends(context)) -> JSONResponse:
    async with c.db.write() as session:
        await mail.verify_email(session, c.settings, form.token)
    return ok({"success": True}, c.viewer)


@router.post("/user/password_reset", **v3("passwordReset", "SuccessResponse"))
async def password_reset(form: PasswordReset, c: Ctx = Depends(context)) -> JSONResponse:
    async with c.db.write() as session:
        await mail.request_password_reset(session, c.settings, form.email)
    return ok({"success": True}, c.viewer)


@router.post("/user/password_change", **v3("passwordChangeAfterReset", "SuccessResponse"))
async def password_change(form: PasswordChangeAfterReset, c: Ctx = Depends(context)) -> JSONResponse:
    async with c.db.write() as session:
        await mail.change_password_after_reset(session, c.settings, form.token, form.password, form.password_verify)
    return ok({"success": True}, c.viewer)
