"""Issue 10, finding 3: a login names one account or none. Emails are addresses, stored normalised; a login string
with "@" matches emails only, any other names only; two matches (data older than these rules) are refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from conftest import Api, unique
from moot.db.person import LocalUser, Person

PASSWORD = "password-1234"
OTHER_PASSWORD = "other-password-5678"


def registration(name: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    return {"username": name, "password": password, "password_verify": password, **extra}


async def login_status(anon: Api, username_or_email: str, password: str) -> tuple[int, Any]:
    return await anon.post("/user/login", {"username_or_email": username_or_email, "password": password})


async def person_of(anon: Api, jwt: str) -> str:
    site = await Api(client=anon.client, jwt=jwt).ok_get("/site")
    name: str = site["my_user"]["local_user_view"]["person"]["name"]
    return name


async def login_as(anon: Api, username_or_email: str, password: str) -> str:
    """The name of the account a login reaches."""
    status, data = await login_status(anon, username_or_email, password)
    assert status == 200, data
    return await person_of(anon, data["jwt"])


async def stored_email(app: Any, name: str) -> str | None:
    async with app.state.moot.db.read() as session:
        email: str | None = await session.scalar(
            select(LocalUser.email).join(Person, Person.id == LocalUser.person_id).where(Person.name == name)
        )
    return email


async def set_email_directly(app: Any, name: str, email: str) -> None:
    """What an older Moot could have stored: any string, in any case (no longer possible through Moot)."""
    async with app.state.moot.db.write() as session:
        person_id = await session.scalar(select(Person.id).where(Person.name == name))
        await session.execute(update(LocalUser).where(LocalUser.person_id == person_id).values(email=email))


async def test_register_refuses_an_email_that_is_not_an_address(anon: Api) -> None:
    for email in ("carol", "carol@", "@example.com", "carol@example", "carol example@example.com"):
        status, data = await anon.post("/user/register", registration(unique(), email=email))
        assert (status, data) == (400, {"error": "invalid_email_address", "message": email}), email


async def test_save_user_settings_refuses_an_email_that_is_not_an_address(user: Api) -> None:
    status, data = await user.put("/user/save_user_settings", {"email": "carol"})
    assert (status, data) == (400, {"error": "invalid_email_address", "message": "carol"})


async def test_emails_are_stored_normalised(app: Any, anon: Api, user: Api) -> None:
    name, local = unique(), unique("Mail")
    await anon.ok_post("/user/register", registration(name, email=f"  {local}@Bücher.EXAMPLE "))
    assert await stored_email(app, name) == f"{local.lower()}@bücher.example"
    # The same address in its ASCII (IDNA) spelling is the same address.
    status, data = await anon.post("/user/register", registration(unique(), email=f"{local}@xn--bcher-kva.example"))
    assert (status, data) == (400, {"error": "email_already_exists"})
    assert user.name is not None
    await user.ok_put("/user/save_user_settings", {"email": f"{user.name}@Example.ORG"})
    assert await stored_email(app, user.name) == f"{user.name.lower()}@example.org"


async def test_an_email_cannot_shadow_a_name(app: Any, anon: Api) -> None:
    """The audit's case: someone registers first with carol's name as their email; carol still logs in."""
    carol, mallory = unique("carol"), unique("mallory")
    status, data = await anon.post("/user/register", registration(mallory, OTHER_PASSWORD, email=carol))
    assert (status, data["error"]) == (400, "invalid_email_address")
    await anon.ok_post("/user/register", registration(mallory, OTHER_PASSWORD))
    await anon.ok_post("/user/register", registration(carol))
    # Even with such an email stored by an older version, a name reaches the account of that name only.
    await set_email_directly(app, mallory, carol)
    assert await login_as(anon, carol, PASSWORD) == carol
    assert (await login_status(anon, carol, OTHER_PASSWORD))[0] == 401


async def test_an_address_matches_emails_only_in_any_spelling(app: Any, anon: Api) -> None:
    name, local = unique(), unique("addr")
    await anon.ok_post("/user/register", registration(name, email=f"{local}@bücher.example"))
    for spelled in (f"{local}@bücher.example", f"{local.upper()}@BÜCHER.example", f" {local}@xn--bcher-kva.example "):
        assert await login_as(anon, spelled, PASSWORD) == name
    # The name with an "@" is not the name, and an address never reaches an account by its name.
    assert (await login_status(anon, f"{name}@example.com", PASSWORD))[0] == 401


async def test_two_accounts_with_one_name_in_different_cases_are_refused(app: Any, anon: Api) -> None:
    first, second = unique("Twin"), unique("twin")
    await anon.ok_post("/user/register", registration(first))
    await anon.ok_post("/user/register", registration(second, OTHER_PASSWORD))
    # Two names that differ only by case, as two registrations racing (or an older version) could leave them.
    async with app.state.moot.db.write() as session:
        await session.execute(update(Person).where(Person.name == second).values(name=first.lower()))
    for spelled, password in ((first, PASSWORD), (first.lower(), OTHER_PASSWORD), (first.upper(), PASSWORD)):
        assert await login_status(anon, spelled, password) == (401, {"error": "incorrect_login"}), spelled


async def test_two_accounts_with_one_email_in_different_cases_are_refused(app: Any, anon: Api) -> None:
    first, second, local = unique(), unique(), unique("dup")
    await anon.ok_post("/user/register", registration(first))
    await anon.ok_post("/user/register", registration(second, OTHER_PASSWORD))
    await set_email_directly(app, first, f"{local}@example.com")
    await set_email_directly(app, second, f"{local.upper()}@example.com")
    for password in (PASSWORD, OTHER_PASSWORD):
        status, data = await login_status(anon, f"{local}@example.com", password)
        assert (status, data) == (401, {"error": "incorrect_login"})
    # Each still logs in by name.
    assert await login_as(anon, second, OTHER_PASSWORD) == second
