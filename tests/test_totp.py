"""Two-factor authentication (Lemmy 0.19's /user/totp/*): codes generated here from the secret with pyotp."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp

from conftest import Api, register


def _secret(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    return parse_qs(parts.query)["secret"][0]


async def _login(api: Api, password: str = "password-1234", token: str | None = None) -> tuple[int, Any]:
    body: dict[str, Any] = {"username_or_email": api.name, "password": password}
    if token is not None:
        body["totp_2fa_token"] = token
    return await api.as_anonymous().post("/user/login", body)


def _wrong(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


async def _enabled(api: Api) -> bool:
    site = await api.ok_get("/site")
    return bool(site["my_user"]["local_user_view"]["local_user"]["totp_2fa_enabled"])


async def test_enable_log_in_with_codes_and_disable(http: httpx.AsyncClient, admin: Api) -> None:
    api = await register(http)
    url = (await api.ok_post("/user/totp/generate"))["totp_secret_url"]
    assert api.name in url
    secret = _secret(url)
    totp = pyotp.TOTP(secret)
    # Generated but not enabled: logging in needs no code yet.
    assert not await _enabled(api)
    status, body = await _login(api)
    assert status == 200 and body["jwt"]

    # Enabling needs a valid code from the secret.
    assert await api.post("/user/totp/update", {"totp_token": _wrong(totp.now()), "enabled": True}) == (
        400,
        {"error": "incorrect_totp_token"},
    )
    assert not await _enabled(api)
    # Each code is good once, so the steps below go forward: the previous step, this one, the next one (not
    # within 3 s of a step's end, so that they are still those steps when the server checks them).
    remaining = 30 - time.time() % 30
    if remaining < 3:
        await asyncio.sleep(remaining + 0.1)
    now = time.time()
    previous, current, following = (totp.at(now + d) for d in (-30, 0, 30))
    assert await api.ok_post("/user/totp/update", {"totp_token": previous, "enabled": True}) == {"enabled": True}
    assert await _enabled(api)
    # A second secret is refused while 2FA is on.
    assert await api.post("/user/totp/generate") == (400, {"error": "totp_already_enabled"})

    # Logging in now asks for the code, checks it, and accepts the right one.
    assert await _login(api) == (400, {"error": "missing_totp_token"})
    assert await _login(api, token=_wrong(totp.now())) == (400, {"error": "incorrect_totp_token"})
    assert await _login(api, token="abcdef") == (400, {"error": "incorrect_totp_token"})
    # The password is still checked first: a right code never makes up for a wrong password.
    status, body = await _login(api, password="wrong-password-1", token=current)
    assert (status, body) == (401, {"error": "incorrect_login"})
    status, body = await _login(api, token=current)
    assert status == 200 and body["jwt"]
    # The same code again (seen over a shoulder, or replayed) logs nobody in, nor does an older one.
    assert await _login(api, token=current) == (400, {"error": "incorrect_totp_token"})
    assert await _login(api, token=previous) == (400, {"error": "incorrect_totp_token"})
    fresh = Api(client=http, jwt=body["jwt"], name=api.name)
    assert (await fresh.ok_get("/site"))["my_user"]["local_user_view"]["person"]["id"] == api.person_id

    # Disabling needs a code too; then the secret is forgotten and logins need no code.
    assert await api.post("/user/totp/update", {"totp_token": _wrong(following), "enabled": False}) == (
        400,
        {"error": "incorrect_totp_token"},
    )
    assert await _enabled(api)
    assert await api.post("/user/totp/update", {"totp_token": current, "enabled": False}) == (
        400,
        {"error": "incorrect_totp_token"},
    )
    assert await api.ok_post("/user/totp/update", {"totp_token": following, "enabled": False}) == {"enabled": False}
    assert not await _enabled(api)
    status, body = await _login(api)
    assert status == 200 and body["jwt"]
    assert await api.post("/user/totp/update", {"totp_token": totp.now(), "enabled": True}) == (
        400,
        {"error": "missing_totp_secret"},
    )
    # A new secret is a different one: codes of the old one no longer count.
    second = _secret((await api.ok_post("/user/totp/generate"))["totp_secret_url"])
    assert second != secret


async def test_update_without_a_secret_and_anonymous(http: httpx.AsyncClient, admin: Api, anon: Api) -> None:
    api = await register(http)
    assert await api.post("/user/totp/update", {"totp_token": "123456", "enabled": True}) == (
        400,
        {"error": "missing_totp_secret"},
    )
    assert await anon.post("/user/totp/generate") == (401, {"error": "not_logged_in"})
    assert await anon.post("/user/totp/update", {"totp_token": "123456", "enabled": True}) == (
        401,
        {"error": "not_logged_in"},
    )
    # The API's login never mistakes a code for a password: a site without 2FA ignores a code sent anyway.
    status, body = await _login(api, token="000000")
    assert status == 200 and body["jwt"]


async def test_a_code_from_the_previous_step_still_counts(http: httpx.AsyncClient, admin: Api) -> None:
    """Lemmy accepts one 30-second step either side (clock skew); two steps away is refused."""
    api = await register(http)
    totp = pyotp.TOTP(_secret((await api.ok_post("/user/totp/generate"))["totp_secret_url"]))
    # Not within 3 s of a step's end, so that "the previous step" is still the previous one when the server checks.
    remaining = 30 - time.time() % 30
    if remaining < 3:
        await asyncio.sleep(remaining + 0.1)
    now = time.time()
    # Enabled with the previous step's code, then a login with this step's (each code is good once).
    await api.ok_post("/user/totp/update", {"totp_token": totp.at(now - 30), "enabled": True})
    status, _ = await _login(api, token=totp.at(now))
    assert status == 200
    assert await _login(api, token=totp.at(now - 120)) == (400, {"error": "incorrect_totp_token"})
