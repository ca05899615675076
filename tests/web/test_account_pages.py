"""The account page without JavaScript: two-factor authentication set up from its QR code and secret, logging in
with a code, deleting the account; the sign-up form's captcha (image, sound, answer)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pyotp

from conftest import Api, unique
from moot.db.person import CaptchaAnswer
from web.conftest import PASSWORD, Browser, new_browser


async def test_two_factor_setup_login_and_turn_off(web_app: Any, member: Browser) -> None:
    page = await member.get("/settings")
    assert 'href="/settings/account"' in page.text
    page = await member.get("/settings/account")
    assert page.status_code == 200 and "Set up two-factor authentication" in page.text

    shown = await member.post("/settings/2fa/generate", {})
    assert shown.status_code == 200
    assert "<svg" in shown.text and "QR code of the two-factor secret" in shown.text
    found = re.search(r"Secret: <code>([A-Z2-7]+)</code>", shown.text)
    assert found, shown.text[:2000]
    code = pyotp.TOTP(found.group(1))
    # Each code is good once: the previous step's turns 2FA on, this step's logs in, the next step's turns it off
    # (away from a step's end, so that they are still those steps when the server checks them).
    remaining = 30 - time.time() % 30
    if remaining < 3:
        await asyncio.sleep(remaining + 0.1)
    now = time.time()
    previous, current, following = (code.at(now + d) for d in (-30, 0, 30))

    wrong = await member.post("/settings/2fa", {"enabled": "1", "totp_token": f"{(int(code.now()) + 1) % 10**6:06d}"})
    assert wrong.status_code == 400 and "not right" in wrong.text
    done = await member.post("/settings/2fa", {"enabled": "1", "totp_token": previous})
    assert done.status_code == 303 and done.headers["location"] == "/settings/account?done=on"
    assert "Two-factor authentication is <strong>on</strong>" in (await member.follow(done)).text

    # A new browser: the login form comes back asking for the code, then lets the right one in.
    other = new_browser(web_app)
    try:
        asked = await other.login(member.name or "")
        assert asked.status_code == 400 and 'name="totp_2fa_token"' in asked.text
        assert "authenticator app" in asked.text
        logged_in = await other.post(
            "/login", {"username_or_email": member.name, "password": PASSWORD, "totp_2fa_token": current}
        )
        assert logged_in.status_code == 303
        off = await other.submit("/settings/account", "/settings/2fa", {"enabled": "0", "totp_token": following})
        assert off.headers["location"] == "/settings/account?done=off"
    finally:
        await other.close()
    # Off again: a plain login works.
    again = new_browser(web_app)
    try:
        assert (await again.login(member.name or "")).status_code == 303
    finally:
        await again.close()


async def test_delete_account_needs_confirmation_and_password(web_app: Any, member: Browser) -> None:
    await member.get("/settings/account")
    unconfirmed = await member.post("/settings/delete_account", {"password": PASSWORD})
    assert unconfirmed.status_code == 400 and "confirm" in unconfirmed.text
    wrong = await member.post("/settings/delete_account", {"password": "not-the-password", "confirm": "1"})
    assert wrong.status_code == 400 and "password is not right" in wrong.text
    gone = await member.post("/settings/delete_account", {"password": PASSWORD, "confirm": "1", "delete_content": "1"})
    assert gone.status_code == 303 and gone.headers["location"] == "/"
    # Logged out, and the account cannot log in again.
    assert "Log in" in (await member.get("/")).text
    assert (await member.login(member.name or "")).status_code == 401


async def test_signup_captcha(web_app: Any, admin: Api, browser: Browser) -> None:
    await admin.ok_put("/site", {"captcha_enabled": True, "captcha_difficulty": "easy"})
    try:
        page = await browser.get("/signup")
        key = re.search(r'name="captcha_uuid" value="([^"]+)"', page.text)
        assert key and 'src="data:image/png;base64,' in page.text
        sound = await browser.get(f"/signup/captcha/{key.group(1)}.wav")
        assert sound.status_code == 200 and sound.headers["content-type"] == "audio/wav"
        assert sound.content[:4] == b"RIFF"
        async with web_app.state.moot.db.read() as session:
            row = await session.get(CaptchaAnswer, key.group(1))
            assert row is not None
            answer = row.answer
        form = {"username": unique("cap"), "password": PASSWORD, "password_verify": PASSWORD}
        refused = await browser.post("/signup", {**form, "captcha_uuid": key.group(1), "captcha_answer": "x"})
        assert refused.status_code == 400 and 'name="captcha_answer"' in refused.text
        # The refused answer used that captcha up; the page shows a new one, which lets the account in.
        key = re.search(r'name="captcha_uuid" value="([^"]+)"', refused.text)
        assert key
        async with web_app.state.moot.db.read() as session:
            row = await session.get(CaptchaAnswer, key.group(1))
            assert (row is not None and row.answer != answer) or row is not None
            answer = row.answer
        made = await browser.post("/signup", {**form, "captcha_uuid": key.group(1), "captcha_answer": answer})
        assert made.status_code == 303
    finally:
        await admin.ok_put("/site", {"captcha_enabled": False, "captcha_difficulty": "medium"})
