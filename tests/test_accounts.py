"""Accounts: registration rules, login and sessions, password changes, settings, person details and blocks."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import update

from conftest import ADMIN_NAME, HOSTNAME, Api, make_comment, make_community, make_post, register, unique
from lemmy_shapes import assert_shape
from moot.db.site import LocalSite

PASSWORD = "password-1234"


def registration(name: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    return {"username": name, "password": password, "password_verify": password, **extra}


async def refused(api: Api, path: str, body: dict[str, Any], error: str, status: int = 400) -> None:
    got_status, data = await api.post(path, body)
    assert (got_status, data) == (status, {"error": error})


async def login(anon: Api, username_or_email: str, password: str = PASSWORD) -> Api:
    data = await anon.ok_post("/user/login", {"username_or_email": username_or_email, "password": password})
    assert_shape(data, "LoginResponse")
    return Api(client=anon.client, jwt=data["jwt"])


async def my_user(api: Api) -> dict[str, Any]:
    site = await api.ok_get("/site")
    assert_shape(site, "GetSiteResponse")
    mine: dict[str, Any] = site["my_user"]
    return mine


async def is_logged_in(api: Api) -> bool:
    status, site = await api.get("/site")
    assert status == 200
    return "my_user" in site


# ----------------------------------------------------------------------------------------- register


async def test_register_logs_the_new_account_in(anon: Api) -> None:
    name = unique()
    data = await anon.ok_post("/user/register", registration(name, show_nsfw=True))
    assert_shape(data, "LoginResponse")
    assert data["registration_created"] is False and data["verify_email_sent"] is False
    me = Api(client=anon.client, jwt=data["jwt"])
    view = (await my_user(me))["local_user_view"]
    assert view["person"]["name"] == name
    assert view["person"]["local"] is True
    assert view["person"]["actor_id"] == f"http://{HOSTNAME}/u/{name}"
    assert view["local_user"]["show_nsfw"] is True
    assert view["local_user"]["admin"] is False


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 21, "has space", "dash-name", "dot.name", "émile_x", "at@name", "", "名前です"],
)
async def test_register_refuses_invalid_names(anon: Api, name: str) -> None:
    await refused(anon, "/user/register", registration(name), "invalid_name")


@pytest.mark.parametrize(
    "name",
    [f"a{secrets.token_hex(1)}", f"u{secrets.token_hex(9)}_", f"ИВ_{secrets.randbelow(10**6)}"],
    # Stable ids: the names are random (fresh on every run), and parallel workers must collect the same tests.
    ids=["three-letters", "twenty-letters", "cyrillic"],
)
async def test_register_accepts_names_at_the_limits(anon: Api, name: str) -> None:
    data = await anon.ok_post("/user/register", registration(name))
    assert "jwt" in data


async def test_register_refuses_a_name_with_a_trailing_newline(anon: Api) -> None:
    await refused(anon, "/user/register", registration(unique() + "\n"), "invalid_name")


async def test_register_refuses_a_name_mixing_latin_and_cyrillic(anon: Api) -> None:
    await refused(anon, "/user/register", registration(f"abcИван{secrets.token_hex(2)}"), "invalid_name")


async def test_register_refuses_a_very_long_name_as_invalid_name(anon: Api) -> None:
    await refused(anon, "/user/register", registration("u" * 300), "invalid_name")


@pytest.mark.parametrize("password", ["123456789", "x" * 61, ""])
async def test_register_refuses_bad_password_lengths(anon: Api, password: str) -> None:
    await refused(anon, "/user/register", registration(unique(), password), "invalid_password")


@pytest.mark.parametrize("password", ["0123456789", "y" * 60, "pässwörd-ü"])
async def test_register_accepts_passwords_of_10_to_60_characters(anon: Api, password: str) -> None:
    name = unique()
    await anon.ok_post("/user/register", registration(name, password))
    await login(anon, name, password)


async def test_register_refuses_mismatched_passwords(anon: Api) -> None:
    body = {"username": unique(), "password": PASSWORD, "password_verify": PASSWORD + "x"}
    await refused(anon, "/user/register", body, "passwords_do_not_match")


async def test_register_refuses_a_taken_name_in_any_case(anon: Api) -> None:
    name = unique("Taken")
    await anon.ok_post("/user/register", registration(name))
    await refused(anon, "/user/register", registration(name.lower()), "user_already_exists")
    await refused(anon, "/user/register", registration(name.upper()), "user_already_exists")


async def test_register_refuses_the_admin_name(anon: Api) -> None:
    await refused(anon, "/user/register", registration(ADMIN_NAME.upper()), "user_already_exists")


async def test_register_refuses_a_taken_email_in_any_case(anon: Api) -> None:
    email = f"{unique('mail')}@example.com"
    await anon.ok_post("/user/register", registration(unique(), email=email))
    await refused(anon, "/user/register", registration(unique(), email=email.upper()), "email_already_exists")


async def test_register_stores_the_email_in_lower_case(anon: Api) -> None:
    local = unique("Mixed")
    data = await anon.ok_post("/user/register", registration(unique(), email=f"{local}@Example.COM"))
    view = (await my_user(Api(client=anon.client, jwt=data["jwt"])))["local_user_view"]
    assert view["local_user"]["email"] == f"{local.lower()}@example.com"


async def test_register_starts_from_the_site_defaults(admin: Api, anon: Api) -> None:
    local_site = (await my_user_site(anon))["site_view"]["local_site"]
    original = {k: local_site[k] for k in ("default_post_listing_type", "default_post_listing_mode")}
    try:
        await admin.ok_put(
            "/site",
            {"default_post_listing_type": "All", "default_post_listing_mode": "Card", "content_warning": "Adults"},
        )
        data = await anon.ok_post("/user/register", registration(unique()))
        local = (await my_user(Api(client=anon.client, jwt=data["jwt"])))["local_user_view"]["local_user"]
        assert (local["default_listing_type"], local["post_listing_mode"]) == ("All", "Card")
        # A content warning means the site is for NSFW content: shown unless the form says otherwise.
        assert local["show_nsfw"] is True
        data = await anon.ok_post("/user/register", registration(unique(), show_nsfw=False))
        local = (await my_user(Api(client=anon.client, jwt=data["jwt"])))["local_user_view"]["local_user"]
        assert local["show_nsfw"] is False
    finally:
        await admin.ok_put("/site", {**original, "content_warning": ""})
    data = await anon.ok_post("/user/register", registration(unique()))
    local = (await my_user(Api(client=anon.client, jwt=data["jwt"])))["local_user_view"]["local_user"]
    assert local["show_nsfw"] is False
    assert local["default_listing_type"] == original["default_post_listing_type"]


async def my_user_site(anon: Api) -> dict[str, Any]:
    site: dict[str, Any] = await anon.ok_get("/site")
    return site


async def test_register_refuses_a_filled_honeypot(anon: Api) -> None:
    await refused(anon, "/user/register", registration(unique(), honeypot="I am a bot"), "honeypot_failed")


async def test_register_accepts_an_empty_honeypot(anon: Api) -> None:
    data = await anon.ok_post("/user/register", registration(unique(), honeypot=""))
    assert "jwt" in data


async def test_register_without_a_username_is_a_bad_request(anon: Api) -> None:
    status, data = await anon.post("/user/register", {"password": PASSWORD, "password_verify": PASSWORD})
    assert status == 400
    assert data["error"] == "unknown"


async def test_registration_mode_closed_refuses_and_open_accepts(admin: Api, anon: Api) -> None:
    existing = unique()
    await anon.ok_post("/user/register", registration(existing))
    try:
        data = await admin.ok_put("/site", {"registration_mode": "Closed"})
        assert_shape(data, "SiteResponse")
        assert data["site_view"]["local_site"]["registration_mode"] == "Closed"
        await refused(anon, "/user/register", registration(unique()), "registration_closed")
        # Accounts that exist can still log in.
        await login(anon, existing)
    finally:
        data = await admin.ok_put("/site", {"registration_mode": "Open"})
    assert data["site_view"]["local_site"]["registration_mode"] == "Open"
    assert "jwt" in await anon.ok_post("/user/register", registration(unique()))


# -------------------------------------------------------------------------------------- login, auth


async def test_login_by_name_in_any_case(anon: Api, user: Api) -> None:
    assert user.name is not None
    for spelled in (user.name, user.name.upper()):
        session = await login(anon, spelled)
        assert (await my_user(session))["local_user_view"]["person"]["id"] == user.person_id


async def test_login_by_email_in_any_case(anon: Api) -> None:
    name, email = unique(), f"{unique('mail')}@example.com"
    await anon.ok_post("/user/register", registration(name, email=email))
    for spelled in (email, email.upper()):
        session = await login(anon, spelled)
        assert (await my_user(session))["local_user_view"]["person"]["name"] == name


async def test_login_with_a_wrong_password_is_incorrect_login(anon: Api, user: Api) -> None:
    body = {"username_or_email": user.name, "password": "wrong-password-1"}
    await refused(anon, "/user/login", body, "incorrect_login", status=401)


async def test_login_of_an_unknown_user_is_incorrect_login(anon: Api) -> None:
    body = {"username_or_email": unique("nobody"), "password": PASSWORD}
    await refused(anon, "/user/login", body, "incorrect_login", status=401)


async def test_two_logins_get_distinct_tokens(anon: Api, user: Api) -> None:
    assert user.name is not None
    first, second = await login(anon, user.name), await login(anon, user.name)
    assert len({user.jwt, first.jwt, second.jwt}) == 3


async def test_logout_ends_only_that_session(anon: Api, user: Api) -> None:
    assert user.name is not None
    other_session = await login(anon, user.name)
    data = await user.ok_post("/user/logout")
    assert_shape(data, "SuccessResponse")
    assert data == {"success": True}
    assert not await is_logged_in(user)
    status, data = await user.get("/user/validate_auth")
    assert (status, data["error"]) == (400, "not_logged_in")
    assert await is_logged_in(other_session)
    assert_shape(await other_session.ok_get("/user/validate_auth"), "SuccessResponse")


async def test_logout_needs_a_login(anon: Api) -> None:
    status, data = await anon.post("/user/logout")
    assert status == 401
    assert data == {"error": "not_logged_in"}


async def test_validate_auth(anon: Api, user: Api) -> None:
    data = await user.ok_get("/user/validate_auth")
    assert_shape(data, "SuccessResponse")
    assert data == {"success": True}
    status, data = await anon.get("/user/validate_auth")
    assert status != 200
    assert data == {"error": "not_logged_in"}


def forged_token(local_user_id: int) -> str:
    claims = {"sub": str(local_user_id), "iss": HOSTNAME, "iat": 1_700_000_000}
    return jwt.encode(claims, "not-the-site-secret-" + secrets.token_hex(16), algorithm="HS256")


@pytest.mark.parametrize("kind", ["garbage", "forged", "unsigned"])
async def test_a_bad_token_is_anonymous(admin: Api, anon: Api, kind: str) -> None:
    admin_user_id = (await my_user(admin))["local_user_view"]["local_user"]["id"]
    token = {
        "garbage": "not.a.jwt",
        "forged": forged_token(admin_user_id),
        "unsigned": jwt.encode({"sub": str(admin_user_id), "iss": HOSTNAME}, None, algorithm="none"),
    }[kind]
    bad = Api(client=anon.client, jwt=token)
    status, site = await bad.get("/site")
    assert status == 200
    assert "my_user" not in site
    assert_shape(site, "GetSiteResponse")
    status, data = await bad.get("/user/validate_auth")
    assert status != 200 and data == {"error": "not_logged_in"}
    status, data = await bad.put("/site", {"name": "Hijacked"})
    assert status == 401 and data == {"error": "not_logged_in"}
    status, data = await bad.post("/community", {"name": unique("c"), "title": "Nope"})
    assert status == 401 and data == {"error": "not_logged_in"}


async def test_the_jwt_cookie_works_like_the_bearer_header(http: httpx.AsyncClient, user: Api) -> None:
    r = await http.get("/api/v3/site", headers={"Cookie": f"jwt={user.jwt}"})
    assert r.status_code == 200
    assert r.json()["my_user"]["local_user_view"]["person"]["id"] == user.person_id
    r = await http.get("/api/v3/user/validate_auth", headers={"Cookie": f"jwt={user.jwt}"})
    assert r.status_code == 200 and r.json() == {"success": True}
    r = await http.get("/api/v3/site", headers={"Cookie": "jwt=not.a.jwt"})
    assert r.status_code == 200 and "my_user" not in r.json()


async def test_logout_removes_the_cookie(http: httpx.AsyncClient, user: Api) -> None:
    r = await http.post("/api/v3/user/logout", headers={"Cookie": f"jwt={user.jwt}"})
    assert r.status_code == 200
    assert any(h.startswith("jwt=") for h in r.headers.get_list("set-cookie"))
    assert not await is_logged_in(user)


# --------------------------------------------------------------------------------- change_password


def password_change(old: str, new: str, verify: str | None = None) -> dict[str, str]:
    return {"old_password": old, "new_password": new, "new_password_verify": new if verify is None else verify}


async def test_change_password_with_a_wrong_old_password_is_refused(user: Api) -> None:
    status, data = await user.put("/user/change_password", password_change("wrong-password-1", "new-password-99"))
    assert (status, data) == (401, {"error": "incorrect_login"})
    assert await is_logged_in(user)


async def test_change_password_checks_the_new_password(user: Api) -> None:
    status, data = await user.put("/user/change_password", password_change(PASSWORD, "short"))
    assert (status, data) == (400, {"error": "invalid_password"})
    status, data = await user.put("/user/change_password", password_change(PASSWORD, "new-password-99", "other-9999"))
    assert (status, data) == (400, {"error": "passwords_do_not_match"})


async def test_change_password_needs_a_login(anon: Api) -> None:
    status, data = await anon.put("/user/change_password", password_change(PASSWORD, "new-password-99"))
    assert (status, data) == (401, {"error": "not_logged_in"})


async def test_change_password_ends_every_other_session(anon: Api, user: Api) -> None:
    assert user.name is not None
    second = await login(anon, user.name)
    data = await user.ok_put("/user/change_password", password_change(PASSWORD, "new-password-99"))
    assert_shape(data, "LoginResponse")
    assert data["jwt"] not in (user.jwt, second.jwt)
    fresh = Api(client=anon.client, jwt=data["jwt"])
    assert await is_logged_in(fresh)
    assert not await is_logged_in(user)
    assert not await is_logged_in(second)
    await refused(anon, "/user/login", {"username_or_email": user.name, "password": PASSWORD}, "incorrect_login", 401)
    await login(anon, user.name, "new-password-99")


# ------------------------------------------------------------------------------ save_user_settings


async def save(api: Api, body: dict[str, Any]) -> None:
    data = await api.ok_put("/user/save_user_settings", body)
    assert_shape(data, "SuccessResponse")
    assert data == {"success": True}


async def test_save_user_settings_shows_in_my_user(user: Api) -> None:
    email = f"{unique('Set')}@Example.com"
    await save(
        user,
        {
            "display_name": "Display Me",
            "bio": "All about me",
            "show_nsfw": True,
            "default_sort_type": "TopWeek",
            "default_listing_type": "Local",
            "theme": "darkly",
            "email": email,
            "show_bot_accounts": False,
            "bot_account": True,
        },
    )
    view = (await my_user(user))["local_user_view"]
    assert view["person"]["display_name"] == "Display Me"
    assert view["person"]["bio"] == "All about me"
    assert view["person"]["bot_account"] is True
    local = view["local_user"]
    assert local["show_nsfw"] is True
    assert local["default_sort_type"] == "TopWeek"
    assert local["default_listing_type"] == "Local"
    assert local["theme"] == "darkly"
    assert local["email"] == email.lower()
    assert local["show_bot_accounts"] is False
    # Fields left out stay as they were; empty strings clear optional text.
    await save(user, {"theme": "litely"})
    view = (await my_user(user))["local_user_view"]
    assert view["person"]["display_name"] == "Display Me"
    assert view["local_user"]["theme"] == "litely"
    await save(user, {"display_name": "", "bio": ""})
    person = (await my_user(user))["local_user_view"]["person"]
    assert "display_name" not in person and "bio" not in person


async def test_save_user_settings_vote_display_mode(user: Api) -> None:
    await save(user, {"show_scores": False, "show_upvotes": False, "show_downvotes": False})
    mode = (await my_user(user))["local_user_view"]["local_user_vote_display_mode"]
    assert (mode["score"], mode["upvotes"], mode["downvotes"]) == (False, False, False)


async def test_save_user_settings_changed_email_logs_in(anon: Api, user: Api) -> None:
    email = f"{unique('new')}@example.com"
    await save(user, {"email": email})
    session = await login(anon, email)
    assert (await my_user(session))["local_user_view"]["person"]["id"] == user.person_id


async def test_save_user_settings_refuses_a_taken_email(anon: Api, user: Api) -> None:
    email = f"{unique('own')}@example.com"
    await anon.ok_post("/user/register", registration(unique(), email=email))
    status, data = await user.put("/user/save_user_settings", {"email": email.upper()})
    assert (status, data) == (400, {"error": "email_already_exists"})


async def test_save_user_settings_keeps_my_own_email(user: Api) -> None:
    email = f"{unique('keep')}@example.com"
    await save(user, {"email": email})
    await save(user, {"email": email})
    assert (await my_user(user))["local_user_view"]["local_user"]["email"] == email


async def test_save_user_settings_bio_limit(user: Api) -> None:
    await save(user, {"bio": "b" * 1000})
    status, data = await user.put("/user/save_user_settings", {"bio": "b" * 1001})
    assert (status, data) == (400, {"error": "bio_length_overflow"})
    assert (await my_user(user))["local_user_view"]["person"]["bio"] == "b" * 1000


async def test_save_user_settings_refused_form_changes_nothing(user: Api) -> None:
    status, data = await user.put("/user/save_user_settings", {"theme": "darkly", "bio": "b" * 1001})
    assert (status, data) == (400, {"error": "bio_length_overflow"})
    assert (await my_user(user))["local_user_view"]["local_user"]["theme"] != "darkly"


async def test_save_user_settings_profile_links(user: Api) -> None:
    await save(user, {"matrix_user_id": "@someone:matrix.org", "avatar": "https://img.example/a.png"})
    person = (await my_user(user))["local_user_view"]["person"]
    assert person["matrix_user_id"] == "@someone:matrix.org"
    assert person["avatar"] == "https://img.example/a.png"
    for body, error in (
        ({"matrix_user_id": "someone@matrix.org"}, "invalid_matrix_id"),
        ({"avatar": "javascript:alert(1)"}, "invalid_url"),
        ({"banner": "not a url"}, "invalid_url"),
    ):
        status, data = await user.put("/user/save_user_settings", body)
        assert (status, data) == (400, {"error": error})
    await save(user, {"matrix_user_id": "", "avatar": ""})
    person = (await my_user(user))["local_user_view"]["person"]
    assert "matrix_user_id" not in person and "avatar" not in person


async def _set_email_verification(app: Any, required: bool) -> None:
    """Stored directly: PUT /site refuses to turn it on while Moot has no mail settings (`no_email_setup`)."""
    async with app.state.moot.db.write() as session:
        await session.execute(update(LocalSite).values(require_email_verification=required))


async def test_email_required_when_the_site_verifies_email(app: Any, admin: Api, anon: Api, user: Api) -> None:
    await save(user, {"email": f"{unique('req')}@example.com"})
    assert await admin.put("/site", {"require_email_verification": True}) == (400, {"error": "no_email_setup"})
    try:
        await _set_email_verification(app, True)
        await refused(anon, "/user/register", registration(unique()), "email_required")
        status, data = await user.put("/user/save_user_settings", {"email": ""})
        assert (status, data) == (400, {"error": "email_required"})
    finally:
        await _set_email_verification(app, False)
    await save(user, {"email": ""})
    assert "email" not in (await my_user(user))["local_user_view"]["local_user"]


@pytest.mark.parametrize("display_name", ["@someone", "x" * 21, "ab"])
async def test_save_user_settings_refuses_bad_display_names(user: Api, display_name: str) -> None:
    status, data = await user.put("/user/save_user_settings", {"display_name": display_name})
    assert (status, data) == (400, {"error": "invalid_display_name"})


@pytest.mark.parametrize(
    "body",
    [
        {"default_sort_type": "Sideways"},
        {"default_listing_type": "Everything"},
        {"post_listing_mode": "Tiles"},
        {"show_nsfw": "perhaps"},
    ],
)
async def test_save_user_settings_refuses_invalid_values(user: Api, body: dict[str, Any]) -> None:
    status, data = await user.put("/user/save_user_settings", body)
    assert status == 400
    assert data["error"] == "unknown"
    local = (await my_user(user))["local_user_view"]["local_user"]
    assert local["default_sort_type"] != "Sideways" and local["default_listing_type"] != "Everything"


async def test_save_user_settings_discussion_languages(user: Api) -> None:
    # Every language is reported as an empty list, as Lemmy does.
    assert (await my_user(user))["discussion_languages"] == []
    await save(user, {"discussion_languages": [37, 47]})
    assert (await my_user(user))["discussion_languages"] == [0, 37, 47]
    # "Undetermined" always stays in a chosen subset.
    await save(user, {"discussion_languages": [37]})
    assert (await my_user(user))["discussion_languages"] == [0, 37]
    await save(user, {"discussion_languages": list(range(184))})
    assert (await my_user(user))["discussion_languages"] == []
    await save(user, {"discussion_languages": [47]})
    await save(user, {"discussion_languages": []})
    assert (await my_user(user))["discussion_languages"] == []


async def test_save_user_settings_refuses_unknown_languages(user: Api) -> None:
    await save(user, {"discussion_languages": [37]})
    status, data = await user.put("/user/save_user_settings", {"discussion_languages": [37, 9999]})
    assert (status, data) == (400, {"error": "language_not_allowed"})
    assert (await my_user(user))["discussion_languages"] == [0, 37]


async def test_save_user_settings_needs_a_login(anon: Api) -> None:
    status, data = await anon.put("/user/save_user_settings", {"theme": "darkly"})
    assert (status, data) == (401, {"error": "not_logged_in"})


# ---------------------------------------------------------------------------------- person details


async def test_person_details_by_id_and_name(anon: Api, user: Api) -> None:
    assert user.name is not None
    community = await make_community(user)
    post = await make_post(user, community["id"])
    comment = await make_comment(user, post["id"])
    for query in (
        {"person_id": user.person_id},
        {"username": user.name},
        {"username": user.name.upper()},
        {"username": f"{user.name}@{HOSTNAME}"},
    ):
        data = await anon.ok_get("/user", **query)
        assert_shape(data, "GetPersonDetailsResponse")
        assert data["person_view"]["person"]["id"] == user.person_id
        assert data["person_view"]["is_admin"] is False
        assert data["person_view"]["counts"]["post_count"] == 1
        assert data["person_view"]["counts"]["comment_count"] == 1
        assert [p["post"]["id"] for p in data["posts"]] == [post["id"]]
        assert [c["comment"]["id"] for c in data["comments"]] == [comment["id"]]
        assert [(m["community"]["id"], m["moderator"]["id"]) for m in data["moderates"]] == [
            (community["id"], user.person_id)
        ]
        # The person's home site comes along, as Lemmy's read_site_for_actor gives it.
        assert data["site"]["actor_id"] == f"http://{HOSTNAME}/"


async def test_person_details_of_the_admin(anon: Api, admin: Api) -> None:
    data = await anon.ok_get("/user", username=ADMIN_NAME)
    assert_shape(data, "GetPersonDetailsResponse")
    assert data["person_view"]["is_admin"] is True
    assert data["person_view"]["person"]["id"] == admin.person_id


async def test_person_details_logged_in_shape(user: Api, other: Api) -> None:
    community = await make_community(other)
    post = await make_post(other, community["id"])
    await make_comment(other, post["id"])
    data = await user.ok_get("/user", person_id=other.person_id)
    assert_shape(data, "GetPersonDetailsResponse")
    assert len(data["posts"]) == 1 and len(data["comments"]) == 1


@pytest.mark.parametrize(
    "query",
    [{"person_id": 987_654_321}, {"username": "nobody_here_at_all"}, {"username": "nobody_here@moot.test:8536"}],
)
async def test_person_details_of_an_unknown_person(anon: Api, query: dict[str, Any]) -> None:
    status, data = await anon.get("/user", **query)
    assert (status, data) == (404, {"error": "couldnt_find_person"})


async def test_person_details_without_an_id_or_name(anon: Api) -> None:
    status, data = await anon.get("/user")
    assert (status, data) == (400, {"error": "no_id_given"})


# ------------------------------------------------------------------------------------------- blocks


async def block(api: Api, person_id: int | None, blocked: bool) -> dict[str, Any]:
    data: dict[str, Any] = await api.ok_post("/user/block", {"person_id": person_id, "block": blocked})
    assert_shape(data, "BlockPersonResponse")
    return data


async def test_block_and_unblock_a_person(user: Api, other: Api) -> None:
    data = await block(user, other.person_id, True)
    assert data["blocked"] is True
    assert data["person_view"]["person"]["id"] == other.person_id
    blocks = (await my_user(user))["person_blocks"]
    assert [(b["person"]["id"], b["target"]["id"]) for b in blocks] == [(user.person_id, other.person_id)]
    # Blocking again changes nothing.
    await block(user, other.person_id, True)
    assert len((await my_user(user))["person_blocks"]) == 1
    # The block is the blocker's alone.
    assert (await my_user(other))["person_blocks"] == []
    data = await block(user, other.person_id, False)
    assert data["blocked"] is False
    assert (await my_user(user))["person_blocks"] == []


async def test_blocking_yourself_is_refused(user: Api) -> None:
    await refused(user, "/user/block", {"person_id": user.person_id, "block": True}, "cant_block_yourself")


async def test_blocking_an_admin_is_refused(user: Api, admin: Api) -> None:
    await refused(user, "/user/block", {"person_id": admin.person_id, "block": True}, "cant_block_admin")
    assert (await my_user(user))["person_blocks"] == []


async def test_blocking_an_unknown_person(user: Api) -> None:
    await refused(user, "/user/block", {"person_id": 987_654_321, "block": True}, "couldnt_find_person", 404)


async def test_blocking_needs_a_login(anon: Api, other: Api) -> None:
    status, data = await anon.post("/user/block", {"person_id": other.person_id, "block": True})
    assert (status, data) == (401, {"error": "not_logged_in"})


async def test_second_account_is_not_admin(http: httpx.AsyncClient, admin: Api) -> None:
    newcomer = await register(http)
    view = (await my_user(newcomer))["local_user_view"]
    assert view["local_user"]["admin"] is False
