"""The sign-up captcha (Lemmy 0.19's captcha_enabled, captcha_difficulty, /user/get_captcha): an image and a sound
of the same answer, checked once at registration, expired after ten minutes."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from conftest import Api, unique
from moot.db.person import CaptchaAnswer

PASSWORD = "password-1234"


@pytest.fixture
async def captcha_on(admin: Api) -> AsyncIterator[None]:
    await admin.ok_put("/site", {"captcha_enabled": True, "captcha_difficulty": "medium"})
    try:
        yield
    finally:
        await admin.ok_put("/site", {"captcha_enabled": False, "captcha_difficulty": "medium"})


async def _answer(app: Any, key: str) -> str:
    async with app.state.moot.db.read() as session:
        row = await session.get(CaptchaAnswer, key)
        assert row is not None
        return str(row.answer)


async def _register(anon: Api, **extra: Any) -> tuple[int, Any]:
    return await anon.post(
        "/user/register", {"username": unique(), "password": PASSWORD, "password_verify": PASSWORD, **extra}
    )


async def test_no_captcha_when_disabled(anon: Api, http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v3/user/get_captcha")
    assert response.status_code == 200 and response.json() == {}
    status, body = await _register(anon)
    assert status == 200 and body["jwt"]


async def test_captcha_image_sound_and_one_answer(
    app: Any, anon: Api, http: httpx.AsyncClient, captcha_on: None
) -> None:
    assert (await anon.ok_get("/site"))["site_view"]["local_site"]["captcha_enabled"] is True
    response = await http.get("/api/v3/user/get_captcha")
    assert response.status_code == 200
    assert "no-store" in response.headers["cache-control"]
    shown = response.json()["ok"]
    assert base64.b64decode(shown["png"]).startswith(b"\x89PNG\r\n\x1a\n")
    wav = base64.b64decode(shown["wav"])
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    answer = await _answer(app, shown["uuid"])
    assert len(answer) == 5  # medium

    # Without a captcha, or with a wrong answer, no account.
    assert await _register(anon) == (400, {"error": "captcha_incorrect"})
    assert await _register(anon, captcha_uuid="not-a-captcha", captcha_answer=answer) == (
        400,
        {"error": "captcha_incorrect"},
    )
    wrong = "0" * len(answer) if answer != "0" * len(answer) else "1" * len(answer)
    assert await _register(anon, captcha_uuid=shown["uuid"], captcha_answer=wrong) == (
        400,
        {"error": "captcha_incorrect"},
    )
    # One try per captcha: the right answer after a wrong one is too late.
    assert await _register(anon, captcha_uuid=shown["uuid"], captcha_answer=answer) == (
        400,
        {"error": "captcha_incorrect"},
    )

    second = (await anon.ok_get("/user/get_captcha"))["ok"]
    answer = await _answer(app, second["uuid"])
    status, body = await _register(anon, captcha_uuid=second["uuid"], captcha_answer=answer)
    assert status == 200 and body["jwt"]
    # Used up by the registration it let through.
    assert await _register(anon, captcha_uuid=second["uuid"], captcha_answer=answer) == (
        400,
        {"error": "captcha_incorrect"},
    )


async def test_captcha_expires_after_ten_minutes(app: Any, anon: Api, captcha_on: None) -> None:
    shown = (await anon.ok_get("/user/get_captcha"))["ok"]
    answer = await _answer(app, shown["uuid"])
    async with app.state.moot.db.write() as session:
        row = await session.get(CaptchaAnswer, shown["uuid"])
        assert row is not None
        row.published = row.published - timedelta(minutes=10, seconds=5)
    assert await _register(anon, captcha_uuid=shown["uuid"], captcha_answer=answer) == (
        400,
        {"error": "captcha_incorrect"},
    )
    # ... and an expired captcha is swept, not kept.
    async with app.state.moot.db.read() as session:
        assert await session.get(CaptchaAnswer, shown["uuid"]) is None


async def test_difficulty_sets_the_length_and_is_checked(app: Any, admin: Api, anon: Api, captcha_on: None) -> None:
    for difficulty, length in (("easy", 4), ("hard", 6)):
        await admin.ok_put("/site", {"captcha_difficulty": difficulty})
        site = (await anon.ok_get("/site"))["site_view"]["local_site"]
        assert site["captcha_difficulty"] == difficulty
        shown = (await anon.ok_get("/user/get_captcha"))["ok"]
        assert len(await _answer(app, shown["uuid"])) == length
    status, body = await admin.put("/site", {"captcha_difficulty": "impossible"})
    assert status == 400 and body["error"] == "unknown" and "captcha_difficulty" in body["message"]
    assert (await anon.ok_get("/site"))["site_view"]["local_site"]["captcha_difficulty"] == "hard"
