"""Password hashes: argon2id at the cost MOOT_PASSWORD_HASH_PROFILE names (the suite runs at the cheapest one,
conftest.py); a hash made at any cost keeps verifying after the setting changes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from conftest import Api, register, unique
from moot.db.person import LocalUser
from moot.domain.passwords import DEFAULT_PROFILE, hash_password, verify_password
from moot.settings import Settings, load_settings


def test_the_default_is_rfc_9106_low_memory() -> None:
    assert Settings().password_hash_profile == DEFAULT_PROFILE == "RFC_9106_LOW_MEMORY"
    assert load_settings({}).password_hash_profile == DEFAULT_PROFILE
    stored = hash_password("correct horse", DEFAULT_PROFILE)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct horsf")
    assert not verify_password("not a hash", "correct horse")


def test_an_unknown_profile_is_refused_at_start() -> None:
    assert load_settings({"MOOT_PASSWORD_HASH_PROFILE": "CHEAPEST"}).password_hash_profile == "CHEAPEST"
    with pytest.raises(ValueError, match="MOOT_PASSWORD_HASH_PROFILE must be one of"):
        load_settings({"MOOT_PASSWORD_HASH_PROFILE": "md5"})


async def _stored_hash(app: Any, person_id: int) -> str:
    async with app.state.moot.db.read() as session:
        return str(await session.scalar(select(LocalUser.password_encrypted).where(LocalUser.person_id == person_id)))


async def test_registration_and_password_change_hash_at_the_configured_cost(app: Any, http: Any) -> None:
    assert app.state.moot.settings.password_hash_profile == "CHEAPEST"
    api = await register(http, unique(), password="first-password-1")
    assert api.person_id is not None
    assert (await _stored_hash(app, api.person_id)).startswith("$argon2id$v=19$m=8,t=1,p=1$")

    # An account whose hash was made at the default cost (before the setting changed) still logs in, and a new
    # password is hashed at the configured cost.
    async with app.state.moot.db.write() as session:
        await session.execute(
            update(LocalUser)
            .where(LocalUser.person_id == api.person_id)
            .values(password_encrypted=hash_password("first-password-1", DEFAULT_PROFILE))
        )
    anon = Api(client=http)
    login = await anon.ok_post("/user/login", {"username_or_email": api.name, "password": "first-password-1"})
    assert login["jwt"]
    api.jwt = login["jwt"]
    await api.ok_put(
        "/user/change_password",
        {
            "new_password": "second-password-2",
            "new_password_verify": "second-password-2",
            "old_password": "first-password-1",
        },
    )
    assert (await _stored_hash(app, api.person_id)).startswith("$argon2id$v=19$m=8,t=1,p=1$")
    login = await anon.ok_post("/user/login", {"username_or_email": api.name, "password": "second-password-2"})
    assert login["jwt"]
