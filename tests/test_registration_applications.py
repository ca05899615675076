"""Registration applications (`RequireApplication`), as Lemmy 0.19: sign up with an answer, wait, be approved or
denied by an admin; the admin's list, count and read of one application.

The app is shared by this worker's tests: every test that changes the registration mode puts it back (`Open`,
no question) in `finally`, or every later sign-up would be an application."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conftest import Api, register, unique
from lemmy_shapes import assert_shape
from moot.db.engine import count_queries

PASSWORD = "password-1234"
QUESTION = "Why do you want to join?"


def registration(name: str, answer: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"username": name, "password": PASSWORD, "password_verify": PASSWORD}
    if answer is not None:
        body["answer"] = answer
    return body


def login_form(name: str) -> dict[str, Any]:
    return {"username_or_email": name, "password": PASSWORD}


@pytest.fixture
async def applications(admin: Api) -> AsyncIterator[None]:
    """The site requires applications for the test's length."""
    await admin.ok_put("/site", {"registration_mode": "RequireApplication", "application_question": QUESTION})
    try:
        yield
    finally:
        await admin.ok_put("/site", {"registration_mode": "Open", "application_question": ""})


async def apply(anon: Api, answer: str = "I like links") -> tuple[str, dict[str, Any]]:
    """Signs up; returns the name and the admin-side application (by the applicant's person id)."""
    name = unique("app")
    data = await anon.ok_post("/user/register", registration(name, answer))
    assert data == {"registration_created": True, "verify_email_sent": False}
    assert_shape(data, "LoginResponse")
    return name, data


async def application_of(admin: Api, name: str) -> dict[str, Any]:
    person = (await admin.ok_get("/user", username=name))["person_view"]["person"]
    data = await admin.ok_get("/admin/registration_application", person_id=person["id"])
    assert_shape(data, "RegistrationApplicationResponse")
    view: dict[str, Any] = data["registration_application"]
    return view


async def test_sign_up_creates_an_application_and_no_login(applications: None, admin: Api, anon: Api) -> None:
    name, _ = await apply(anon, "Because I read everything")
    view = await application_of(admin, name)
    assert view["registration_application"]["answer"] == "Because I read everything"
    assert "admin_id" not in view["registration_application"] and "admin" not in view
    assert view["creator"]["name"] == name
    assert view["creator_local_user"]["accepted_application"] is False
    assert view["creator_local_user"]["person_id"] == view["creator"]["id"]
    assert await anon.post("/user/login", login_form(name)) == (400, {"error": "registration_application_is_pending"})


async def test_an_answer_is_required_and_may_be_empty(applications: None, anon: Api) -> None:
    status, data = await anon.post("/user/register", registration(unique("app")))
    assert (status, data) == (400, {"error": "registration_application_answer_required"})
    # As Lemmy: only a missing answer is refused.
    await anon.ok_post("/user/register", registration(unique("app"), ""))


async def test_approve_then_login_works(applications: None, admin: Api, anon: Api) -> None:
    name, _ = await apply(anon)
    view = await application_of(admin, name)
    approved = await admin.ok_put(
        "/admin/registration_application/approve", {"id": view["registration_application"]["id"], "approve": True}
    )
    assert_shape(approved, "RegistrationApplicationResponse")
    decided = approved["registration_application"]
    assert decided["registration_application"]["admin_id"] == admin.person_id
    assert decided["admin"]["id"] == admin.person_id
    assert decided["creator_local_user"]["accepted_application"] is True
    data = await anon.ok_post("/user/login", login_form(name))
    assert data["jwt"] and data["registration_created"] is False
    me = await Api(client=anon.client, jwt=data["jwt"]).ok_get("/site")
    assert me["my_user"]["local_user_view"]["person"]["name"] == name


async def test_deny_with_a_reason_is_shown_at_login(applications: None, admin: Api, anon: Api) -> None:
    name, _ = await apply(anon)
    app_id = (await application_of(admin, name))["registration_application"]["id"]
    denied = await admin.ok_put(
        "/admin/registration_application/approve", {"id": app_id, "approve": False, "deny_reason": "Spam account"}
    )
    view = denied["registration_application"]
    assert view["registration_application"]["deny_reason"] == "Spam account"
    assert view["creator_local_user"]["accepted_application"] is False
    status, data = await anon.post("/user/login", login_form(name))
    assert (status, data) == (400, {"error": "registration_denied", "message": "Spam account"})
    # An admin may change their mind: approved later, the applicant logs in.
    await admin.ok_put("/admin/registration_application/approve", {"id": app_id, "approve": True})
    assert (await anon.ok_post("/user/login", login_form(name)))["jwt"]


async def test_deny_without_a_reason(applications: None, admin: Api, anon: Api) -> None:
    name, _ = await apply(anon)
    app_id = (await application_of(admin, name))["registration_application"]["id"]
    await admin.ok_put("/admin/registration_application/approve", {"id": app_id, "approve": False})
    assert await anon.post("/user/login", login_form(name)) == (400, {"error": "registration_denied"})


async def test_list_and_unread_count(applications: None, admin: Api, anon: Api) -> None:
    before = (await admin.ok_get("/admin/registration_application/count"))["registration_applications"]
    first, _ = await apply(anon)
    second, _ = await apply(anon)
    count = await admin.ok_get("/admin/registration_application/count")
    assert_shape(count, "GetUnreadRegistrationApplicationCountResponse")
    assert count["registration_applications"] == before + 2
    unread = await admin.ok_get("/admin/registration_application/list", unread_only=True, limit=50)
    assert_shape(unread, "ListRegistrationApplicationsResponse")
    names = [v["creator"]["name"] for v in unread["registration_applications"]]
    # Unread ones oldest first (first come, first served); all of them newest first.
    assert names.index(first) < names.index(second)
    listed = await admin.ok_get("/admin/registration_application/list", limit=50)
    names = [v["creator"]["name"] for v in listed["registration_applications"]]
    assert names.index(second) < names.index(first)
    first_id = (await application_of(admin, first))["registration_application"]["id"]
    await admin.ok_put("/admin/registration_application/approve", {"id": first_id, "approve": True})
    assert (await admin.ok_get("/admin/registration_application/count"))["registration_applications"] == before + 1
    unread = await admin.ok_get("/admin/registration_application/list", unread_only=True, limit=50)
    assert first not in [v["creator"]["name"] for v in unread["registration_applications"]]
    listed = await admin.ok_get("/admin/registration_application/list", limit=50)
    assert first in [v["creator"]["name"] for v in listed["registration_applications"]]
    one = await admin.ok_get("/admin/registration_application/list", limit=1)
    assert len(one["registration_applications"]) == 1


async def test_the_list_is_one_statement(applications: None, admin: Api, anon: Api) -> None:
    for _ in range(3):
        await apply(anon)
    await admin.ok_get("/admin/registration_application/list", limit=3)
    async with count_queries() as few:
        await admin.ok_get("/admin/registration_application/list", limit=1)
    async with count_queries() as more:
        await admin.ok_get("/admin/registration_application/list", limit=3)
    assert len(more) == len(few)


async def test_everything_is_for_admins_only(user: Api, applications: None, admin: Api, anon: Api) -> None:
    """(`user` signs up before the site requires applications.)"""
    name, _ = await apply(anon)
    app_id = (await application_of(admin, name))["registration_application"]["id"]
    person_id = (await admin.ok_get("/user", username=name))["person_view"]["person"]["id"]
    for status, data in (
        await user.get("/admin/registration_application/list"),
        await user.get("/admin/registration_application/count"),
        await user.get("/admin/registration_application", person_id=person_id),
        await user.put("/admin/registration_application/approve", {"id": app_id, "approve": True}),
    ):
        assert (status, data) == (400, {"error": "not_an_admin"})
    status, data = await anon.get("/admin/registration_application/count")
    assert (status, data) == (401, {"error": "not_logged_in"})
    # Nothing was decided.
    assert await anon.post("/user/login", login_form(name)) == (400, {"error": "registration_application_is_pending"})


async def test_unknown_applications(admin: Api, user: Api) -> None:
    status, data = await admin.put("/admin/registration_application/approve", {"id": 2_000_000_000, "approve": True})
    assert (status, data) == (404, {"error": "couldnt_find_registration_application"})
    # An account that never applied has no application.
    status, data = await admin.get("/admin/registration_application", person_id=user.person_id)
    assert (status, data) == (404, {"error": "couldnt_find_registration_application"})


async def test_the_mode_needs_a_question(admin: Api) -> None:
    try:
        status, data = await admin.put("/site", {"registration_mode": "RequireApplication"})
        assert (status, data) == (400, {"error": "application_question_required"})
        assert (await admin.ok_get("/site"))["site_view"]["local_site"]["registration_mode"] == "Open"
        await admin.ok_put("/site", {"registration_mode": "RequireApplication", "application_question": QUESTION})
        status, data = await admin.put("/site", {"application_question": ""})
        assert (status, data) == (400, {"error": "application_question_required"})
        # Changing the question while the mode is on is fine.
        await admin.ok_put("/site", {"application_question": "What brings you here?"})
    finally:
        await admin.ok_put("/site", {"registration_mode": "Open", "application_question": ""})


async def test_existing_accounts_are_accepted_when_applications_begin(admin: Api, user: Api, anon: Api) -> None:
    """Accounts from before were never asked; they log in as before (and new sign-ups apply)."""
    try:
        await admin.ok_put("/site", {"registration_mode": "RequireApplication", "application_question": QUESTION})
        data = await anon.ok_post("/user/login", login_form(str(user.name)))
        assert data["jwt"]
        me = await Api(client=anon.client, jwt=data["jwt"]).ok_get("/site")
        assert me["my_user"]["local_user_view"]["local_user"]["accepted_application"] is True
    finally:
        await admin.ok_put("/site", {"registration_mode": "Open", "application_question": ""})


async def test_a_pending_applicant_still_cannot_log_in_when_the_site_closes(admin: Api, anon: Api) -> None:
    """As Lemmy: `Closed` keeps unaccepted accounts out too; `Open` lets them in."""
    try:
        await admin.ok_put("/site", {"registration_mode": "RequireApplication", "application_question": QUESTION})
        name, _ = await apply(anon)
        await admin.ok_put("/site", {"registration_mode": "Closed"})
        status, data = await anon.post("/user/login", login_form(name))
        assert (status, data) == (400, {"error": "registration_application_is_pending"})
        assert await anon.post("/user/register", registration(unique("app"), "hi")) == (
            400,
            {"error": "registration_closed"},
        )
        await admin.ok_put("/site", {"registration_mode": "Open"})
        assert (await anon.ok_post("/user/login", login_form(name)))["jwt"]
    finally:
        await admin.ok_put("/site", {"registration_mode": "Open", "application_question": ""})


async def test_open_registration_makes_no_application(admin: Api, http: httpx.AsyncClient) -> None:
    api = await register(http)
    status, data = await admin.get("/admin/registration_application", person_id=api.person_id)
    assert (status, data) == (404, {"error": "couldnt_find_registration_application"})
    me = await api.ok_get("/site")
    assert me["my_user"]["local_user_view"]["local_user"]["accepted_application"] is True


async def test_the_answer_passes_the_slur_filter(applications: None, admin: Api, anon: Api) -> None:
    try:
        await admin.ok_put("/site", {"slur_filter_regex": "badword"})
        status, data = await anon.post("/user/register", registration(unique("app"), "a badword answer"))
        assert (status, data) == (400, {"error": "slurs"})
    finally:
        await admin.ok_put("/site", {"slur_filter_regex": ""})


async def test_the_sign_up_page_asks_the_question_and_says_what_happens(
    applications: None, admin: Api, app: Any
) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://moot.test:8536") as browser:
        page = await browser.get("/signup")
        assert f"{QUESTION}</label>" in page.text and 'name="answer"' in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        name = unique("app")
        answered = await browser.post("/signup", data={**registration(name, "From the page"), "csrf_token": token[1]})
    assert answered.status_code == 200, answered.text
    assert "Your application was sent" in answered.text
    assert "jwt" not in answered.cookies
    view = await application_of(admin, name)
    assert view["registration_application"]["answer"] == "From the page"
