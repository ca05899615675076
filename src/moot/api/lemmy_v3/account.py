"""The rest of an account's life (Lemmy 0.19): two-factor authentication, the sign-up captcha, deleting the
account, its logins, the donation dialog, blocking an instance."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from moot.actions import account_lifecycle, accounts, captcha, totp
from moot.api.lemmy_v3.context import Ctx, context, ok
from moot.api.lemmy_v3.forms import Flag, Form, Id
from moot.api.openapi import API_PREFIX, REF, v3
from moot.domain.errors import LemmyError
from moot.domain.timefmt import lemmy_time
from moot.queries.logins import list_logins
from moot.queries.site import load_local_site

router = APIRouter(prefix=API_PREFIX)


class UpdateTotp(Form):
    totp_token: str
    enabled: Flag


class DeleteAccount(Form):
    password: str
    delete_content: Flag


class BlockInstance(Form):
    instance_id: Id
    block: Flag


@router.post("/user/totp/generate", **v3("generateTotpSecret", "GenerateTotpSecretResponse", login=True))
async def generate_totp_secret(c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        loaded = await load_local_site(session)
        user = await accounts.own_user(session, viewer)
        if loaded is None:
            raise LemmyError("not_logged_in", status=401)
        url = totp.generate_secret(user, viewer.person, loaded.site.name)
    return ok({"totp_secret_url": url}, viewer)


@router.post("/user/totp/update", **v3("updateTotp", "UpdateTotpResponse", login=True))
async def update_totp(form: UpdateTotp, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        user = await accounts.own_user(session, viewer)
        enabled = totp.update(user, form.totp_token, form.enabled)
    return ok({"enabled": enabled}, viewer)


@router.get("/user/get_captcha", **v3("getCaptcha", "GetCaptchaResponse"))
async def get_captcha(c: Ctx = Depends(context)) -> JSONResponse:
    async with c.db.write() as session:
        loaded = await load_local_site(session)
        if loaded is None:
            raise LemmyError("couldnt_find_object", status=404)
        made = await captcha.create(session, loaded.local_site)
    body: dict[str, object] = {}
    if made is not None:
        body["ok"] = {
            "png": base64.b64encode(made.png).decode(),
            "wav": base64.b64encode(made.wav).decode(),
            "uuid": made.uuid,
        }
    response = ok(body, c.viewer)
    # Each answer is a new captcha: never cached (Lemmy sends no-store too).
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/user/delete_account", **v3("deleteAccount", "SuccessResponse", login=True, incorrect_login=True))
async def delete_account(form: DeleteAccount, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        user = await accounts.own_user(session, viewer)
        await account_lifecycle.delete_account(session, viewer, user, form.password, form.delete_content)
    response = ok({"success": True}, viewer)
    response.delete_cookie("jwt")
    return response


# Lemmy 0.19 answers a bare array of LoginToken (lemmy-js-client 0.19: `listLogins(): Promise<LoginToken[]>`).
_LIST_LOGINS = v3("listLogins", "LoginToken", login=True)
_LIST_LOGINS["responses"][200] = {
    "description": "`LoginToken[]`",
    "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": REF + "LoginToken"}}}},
}


@router.get("/user/list_logins", **_LIST_LOGINS)
async def list_logins_route(c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        rows = await list_logins(session, viewer.local_user.id)
    logins = [
        {
            key: value
            for key, value in {
                "user_id": row.user_id,
                "published": lemmy_time(row.published),
                "ip": row.ip,
                "user_agent": row.user_agent,
            }.items()
            if value is not None
        }
        for row in rows
    ]
    return ok(logins, viewer)


@router.post("/user/donation_dialog_shown", **v3("donationDialogShown", "SuccessResponse", login=True))
async def donation_dialog_shown(c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        user = await accounts.own_user(session, viewer)
        await account_lifecycle.donation_dialog_shown(session, user)
    return ok({"success": True}, viewer)


@router.post("/site/block", **v3("blockInstance", "BlockInstanceResponse", login=True, not_found=True))
async def block_instance(form: BlockInstance, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        loaded = await load_local_site(session)
        if loaded is None:
            raise LemmyError("couldnt_find_object", status=404)
        blocked = await account_lifecycle.block_instance(
            session, viewer.person_id, loaded.site.instance_id, form.instance_id, form.block
        )
    return ok({"blocked": blocked}, viewer)
