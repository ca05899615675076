"""GET and PUT /site: the site view, counts, languages and my_user; admin edits; the first-run admin rule."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import (
    ADMIN_NAME,
    Api,
    drop_database,
    make_comment,
    make_community,
    make_database,
    make_post,
    register,
    settings_for,
    unique,
)
from conftest import DatabaseUnderTest as NewDatabase  # aliased so pytest does not collect it
from lemmy_shapes import assert_shape
from moot.app import create_app

SITE_NAME = "Moot Test"
HIGH = 100_000


async def get_site(api: Api) -> dict[str, Any]:
    site: dict[str, Any] = await api.ok_get("/site")
    assert_shape(site, "GetSiteResponse")
    return site


async def edit_site(admin: Api, body: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = await admin.ok_put("/site", body)
    assert_shape(data, "SiteResponse")
    return data


async def counts(api: Api) -> dict[str, int]:
    found: dict[str, int] = (await get_site(api))["site_view"]["counts"]
    return found


# ------------------------------------------------------------------------------------------ GET /site


async def test_get_site_anonymous(anon: Api) -> None:
    site = await get_site(anon)
    assert "my_user" not in site
    assert site["version"] == "0.19.20"
    view = site["site_view"]
    assert view["site"]["name"] == SITE_NAME
    assert view["site"]["actor_id"] == "http://moot.test:8536/"
    assert view["local_site"]["site_id"] == view["site"]["id"]
    assert view["local_site"]["site_setup"] is True
    assert view["counts"]["site_id"] == view["site"]["id"]
    assert view["local_site_rate_limit"]["local_site_id"] == view["local_site"]["id"]
    assert site["custom_emojis"] == [] and site["blocked_urls"] == []


async def test_get_site_languages(anon: Api) -> None:
    site = await get_site(anon)
    languages = site["all_languages"]
    assert len(languages) == 184
    by_code = {lang["code"]: lang for lang in languages}
    assert by_code["und"] == {"id": 0, "code": "und", "name": "Undetermined"}
    assert by_code["en"] == {"id": 37, "code": "en", "name": "English"}
    assert len({lang["id"] for lang in languages}) == 184
    # No site languages chosen means every language is allowed.
    assert sorted(site["discussion_languages"]) == sorted(lang["id"] for lang in languages)


async def test_get_site_admins(anon: Api, user: Api) -> None:
    admins = (await get_site(anon))["admins"]
    assert [a["person"]["name"] for a in admins] == [ADMIN_NAME]
    assert all(a["is_admin"] is True for a in admins)
    assert user.person_id not in [a["person"]["id"] for a in admins]


async def test_get_site_logged_in(user: Api) -> None:
    site = await get_site(user)
    me = site["my_user"]
    assert me["local_user_view"]["person"]["id"] == user.person_id
    assert me["local_user_view"]["person"]["name"] == user.name
    assert me["local_user_view"]["local_user"]["person_id"] == user.person_id
    assert me["follows"] == [] and me["moderates"] == []
    assert me["community_blocks"] == [] and me["person_blocks"] == [] and me["instance_blocks"] == []
    # A user who reads every language gets an empty list, as Lemmy's convert_read_languages gives it.
    assert me["discussion_languages"] == []


async def test_get_site_as_admin(admin: Api) -> None:
    me = (await get_site(admin))["my_user"]
    assert me["local_user_view"]["local_user"]["admin"] is True
    assert me["local_user_view"]["person"]["name"] == ADMIN_NAME


async def test_get_site_cache_control(anon: Api, user: Api) -> None:
    anonymous = await anon.client.get("/api/v3/site")
    assert anonymous.headers["cache-control"].startswith("public")
    mine = await anon.client.get("/api/v3/site", headers={"Authorization": f"Bearer {user.jwt}"})
    assert mine.headers["cache-control"] == "private"


async def test_site_counts_grow(http: httpx.AsyncClient, anon: Api, admin: Api) -> None:
    before = await counts(anon)
    author = await register(http)
    community = await make_community(author)
    post = await make_post(author, community["id"])
    await make_comment(author, post["id"])
    after = await counts(anon)
    assert after["users"] == before["users"] + 1
    assert after["communities"] == before["communities"] + 1
    assert after["posts"] == before["posts"] + 1
    assert after["comments"] == before["comments"] + 1


async def test_my_user_follows_and_moderates_a_new_community(user: Api, other: Api) -> None:
    community = await make_community(user)
    me = (await get_site(user))["my_user"]
    assert [(f["community"]["id"], f["follower"]["id"]) for f in me["follows"]] == [(community["id"], user.person_id)]
    assert [(m["community"]["id"], m["moderator"]["id"]) for m in me["moderates"]] == [
        (community["id"], user.person_id)
    ]
    await other.ok_post("/community/follow", {"community_id": community["id"], "follow": True})
    theirs = (await get_site(other))["my_user"]
    assert [f["community"]["id"] for f in theirs["follows"]] == [community["id"]]
    assert theirs["moderates"] == []


async def test_my_user_community_blocks(user: Api, other: Api) -> None:
    community = await make_community(other)
    await user.ok_post("/community/block", {"community_id": community["id"], "block": True})
    me = (await get_site(user))["my_user"]
    assert [(b["person"]["id"], b["community"]["id"]) for b in me["community_blocks"]] == [
        (user.person_id, community["id"])
    ]


# ------------------------------------------------------------------------------------------ PUT /site


async def test_admin_edits_the_site(admin: Api, anon: Api) -> None:
    try:
        data = await edit_site(
            admin,
            {
                "name": "Renamed Moot",
                "sidebar": "The **sidebar**",
                "description": "A short description",
                "enable_downvotes": False,
                "rate_limit_image": 123,
                "rate_limit_image_per_second": 7,
                "taglines": ["hello", "world"],
            },
        )
        view = data["site_view"]
        assert view["site"]["name"] == "Renamed Moot"
        assert view["site"]["sidebar"] == "The **sidebar**"
        assert view["site"]["description"] == "A short description"
        assert view["local_site"]["enable_downvotes"] is False
        assert view["local_site_rate_limit"]["image"] == 123
        assert view["local_site_rate_limit"]["image_per_second"] == 7
        assert [t["content"] for t in data["taglines"]] == ["hello", "world"]
        # Fields left out stay as they were.
        assert view["local_site_rate_limit"]["register"] == HIGH
        site = await get_site(anon)
        assert site["site_view"]["site"]["name"] == "Renamed Moot"
        assert site["site_view"]["local_site"]["enable_downvotes"] is False
        assert [t["content"] for t in site["taglines"]] == ["hello", "world"]
        # Empty strings clear optional text, as Lemmy does.
        data = await edit_site(admin, {"sidebar": "", "description": ""})
        assert "sidebar" not in data["site_view"]["site"]
        assert "description" not in data["site_view"]["site"]
    finally:
        data = await edit_site(
            admin,
            {
                "name": SITE_NAME,
                "enable_downvotes": True,
                "taglines": [],
                "rate_limit_image": 6,
                "rate_limit_image_per_second": 3600,
            },
        )
    assert data["site_view"]["site"]["name"] == SITE_NAME
    assert data["taglines"] == []


async def test_new_rate_limits_apply_at_once(admin: Api, anon: Api) -> None:
    try:
        await edit_site(admin, {"rate_limit_search": 2, "rate_limit_search_per_second": 3600})
        for _ in range(2):
            await anon.ok_get("/search", q="anything")
        status, data = await anon.get("/search", q="anything")
        assert (status, data) == (400, {"error": "rate_limit_error"})
    finally:
        await edit_site(admin, {"rate_limit_search": HIGH, "rate_limit_search_per_second": 60})
    await anon.ok_get("/search", q="anything")


async def test_non_admin_cannot_edit_the_site(anon: Api, user: Api) -> None:
    status, data = await user.put("/site", {"name": "Mine now"})
    assert (status, data) == (400, {"error": "not_an_admin"})
    assert (await get_site(anon))["site_view"]["site"]["name"] == SITE_NAME


async def test_anonymous_cannot_edit_the_site(anon: Api) -> None:
    status, data = await anon.put("/site", {"name": "Mine now"})
    assert (status, data) == (401, {"error": "not_logged_in"})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"name": ""}, "site_name_required"),
        ({"name": "n" * 21}, "site_name_length_overflow"),
        ({"description": "d" * 151}, "site_description_length_overflow"),
        ({"sidebar": "s" * 10_001}, "invalid_body_field"),
        ({"default_post_listing_type": "Subscribed"}, "invalid_default_post_listing_type"),
        ({"slur_filter_regex": "(unclosed"}, "invalid_regex"),
        ({"slur_filter_regex": ".*"}, "permissive_regex"),
    ],
)
async def test_edit_site_validation(admin: Api, anon: Api, body: dict[str, Any], error: str) -> None:
    status, data = await admin.put("/site", body)
    assert (status, data) == (400, {"error": error})
    view = (await get_site(anon))["site_view"]
    assert view["site"]["name"] == SITE_NAME
    assert "slur_filter_regex" not in view["local_site"]
    assert view["local_site"]["default_post_listing_type"] != "Subscribed"


async def test_edit_site_very_long_description(admin: Api) -> None:
    status, data = await admin.put("/site", {"description": "d" * 300})
    assert (status, data) == (400, {"error": "site_description_length_overflow"})


async def test_edit_site_zero_interval_leaves_the_rate_limit_alone(admin: Api) -> None:
    # Lemmy's not_zero(): an interval of 0 means "unchanged".
    before = (await admin.ok_get("/site"))["site_view"]["local_site_rate_limit"]["post_per_second"]
    data = await edit_site(admin, {"rate_limit_post_per_second": 0})
    assert data["site_view"]["local_site_rate_limit"]["post_per_second"] == before


@pytest.mark.parametrize("body", [{"registration_mode": "Whenever"}, {"enable_downvotes": "sometimes"}])
async def test_edit_site_refuses_invalid_values(admin: Api, body: dict[str, Any]) -> None:
    status, data = await admin.put("/site", body)
    assert status == 400
    assert data["error"] == "unknown"


async def test_edit_site_default_listing_type(admin: Api, anon: Api) -> None:
    original = (await get_site(anon))["site_view"]["local_site"]["default_post_listing_type"]
    changed = "All" if original != "All" else "Local"
    try:
        data = await edit_site(admin, {"default_post_listing_type": changed})
        assert data["site_view"]["local_site"]["default_post_listing_type"] == changed
    finally:
        data = await edit_site(admin, {"default_post_listing_type": original})
    assert data["site_view"]["local_site"]["default_post_listing_type"] == original


async def test_edit_site_discussion_languages(admin: Api, anon: Api) -> None:
    try:
        await edit_site(admin, {"discussion_languages": [37, 0]})
        assert (await get_site(anon))["discussion_languages"] == [0, 37]
    finally:
        await edit_site(admin, {"discussion_languages": []})
    assert len((await get_site(anon))["discussion_languages"]) == 184
    status, data = await admin.put("/site", {"discussion_languages": [37, 9999]})
    assert (status, data) == (400, {"error": "language_not_allowed"})
    assert len((await get_site(anon))["discussion_languages"]) == 184


# ------------------------------------------------------------------------------------------ first run


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[NewDatabase]:
    """A brand-new database of its own (made outside the event loop, as make_database needs)."""
    db = make_database(tmp_path)
    yield db
    drop_database(db)


@pytest.fixture
async def fresh_site(fresh_database: NewDatabase) -> AsyncIterator[httpx.AsyncClient]:
    """The app over a brand-new database, started without MOOT_SETUP_ADMIN_USERNAME."""
    settings = dataclasses.replace(settings_for(fresh_database), setup_admin_username="", setup_admin_password="")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40001))
        async with httpx.AsyncClient(transport=transport, base_url="http://moot.test:8536") as client:
            yield client


async def test_first_registered_user_becomes_admin(fresh_site: httpx.AsyncClient) -> None:
    anon = Api(client=fresh_site)
    site = await get_site(anon)
    assert site["admins"] == []
    assert site["site_view"]["local_site"]["site_setup"] is False
    first = await register(fresh_site, unique("first"))
    second = await register(fresh_site, unique("second"))
    assert (await get_site(first))["my_user"]["local_user_view"]["local_user"]["admin"] is True
    assert (await get_site(second))["my_user"]["local_user_view"]["local_user"]["admin"] is False
    site = await get_site(anon)
    assert [a["person"]["id"] for a in site["admins"]] == [first.person_id]
    assert site["site_view"]["local_site"]["site_setup"] is True
    # The first user really holds admin rights.
    await edit_site(first, {"name": "First Site"})
    status, data = await second.put("/site", {"name": "Second Site"})
    assert (status, data) == (400, {"error": "not_an_admin"})
