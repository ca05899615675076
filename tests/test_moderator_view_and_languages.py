"""ModeratorView on the post, comment and community listings, and Accept-Language at registration, as in
Lemmy 0.19 (crates/db_views/src/{post_view,comment_view}.rs, crates/api_crud/src/user/create.rs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from conftest import Api, make_comment, make_community, make_post, unique
from lemmy_shapes import assert_shape
from moot.db.community import Community
from moot.domain.accept_language import language_tags
from moot.domain.languages import LANGUAGES

PASSWORD = "password-1234"
EN, DE, FR = 37, 32, 47


async def post_ids(api: Api, **params: Any) -> list[int]:
    data = await api.ok_get("/post/list", **{"limit": 50, "sort": "New", **params})
    assert_shape(data, "GetPostsResponse")
    return [p["post"]["id"] for p in data["posts"]]


async def comment_ids(api: Api, **params: Any) -> list[int]:
    data = await api.ok_get("/comment/list", **{"limit": 50, "sort": "New", **params})
    assert_shape(data, "GetCommentsResponse")
    return [c["comment"]["id"] for c in data["comments"]]


async def community_ids(api: Api, **params: Any) -> list[int]:
    data = await api.ok_get("/community/list", **{"limit": 50, "sort": "New", **params})
    assert_shape(data, "ListCommunitiesResponse")
    return [c["community"]["id"] for c in data["communities"]]


async def hide_community(app: Any, community_id: int) -> None:
    """What an admin's "hide community" does to the row (the endpoint belongs to the moderation work)."""
    async with app.state.moot.db.write() as session:
        await session.execute(update(Community).where(Community.id == community_id).values(hidden=True))


# ------------------------------------------------------------------------------------------------ posts


async def test_post_moderator_view_is_your_communities_hidden_blocked_and_foreign_languages_included(
    app: Any, user: Api, other: Api, admin: Api, anon: Api
) -> None:
    mine = await make_community(user)
    theirs = await make_community(other)
    by_other_in_mine = (await make_post(other, mine["id"], language_id=FR))["id"]
    by_me_in_mine = (await make_post(user, mine["id"]))["id"]
    in_theirs = (await make_post(other, theirs["id"]))["id"]
    await user.ok_post("/user/block", {"person_id": other.person_id, "block": True})
    await user.ok_put("/user/save_user_settings", {"discussion_languages": [EN]})
    await user.ok_post("/community/follow", {"community_id": mine["id"], "follow": False})
    await hide_community(app, mine["id"])

    # The front page leaves out a hidden community you do not follow, people you blocked, other languages.
    everything = await post_ids(user, type_="All")
    assert by_other_in_mine not in everything
    assert by_me_in_mine not in everything
    # A moderator's view has all of it (Lemmy applies neither blocks, languages nor `hidden` there), and
    # nothing from communities moderated by others.
    moderated = await post_ids(user, type_="ModeratorView")
    assert {by_other_in_mine, by_me_in_mine} <= set(moderated)
    assert in_theirs not in moderated
    assert in_theirs in await post_ids(other, type_="ModeratorView")
    # Being an admin does not widen it: Lemmy 0.19 has no admin case in ModeratorView.
    assert not {by_other_in_mine, by_me_in_mine, in_theirs} & set(await post_ids(admin, type_="ModeratorView"))
    # Anonymously ModeratorView lists like All: every visible community, the hidden one left out.
    anonymous = await post_ids(anon, type_="ModeratorView")
    assert in_theirs in anonymous
    assert not {by_other_in_mine, by_me_in_mine} & set(anonymous)
    # Inside a community, type_ is ignored (All), as before.
    assert in_theirs in await post_ids(admin, type_="ModeratorView", community_id=theirs["id"])


# --------------------------------------------------------------------------------------------- comments


async def test_comment_moderator_view_is_your_communities_blocked_people_included(
    user: Api, other: Api, admin: Api, anon: Api
) -> None:
    mine = await make_community(user)
    theirs = await make_community(other)
    in_mine = (await make_comment(other, (await make_post(other, mine["id"]))["id"]))["id"]
    in_theirs = (await make_comment(other, (await make_post(other, theirs["id"]))["id"]))["id"]
    await user.ok_post("/user/block", {"person_id": other.person_id, "block": True})

    assert not {in_mine, in_theirs} & set(await comment_ids(user, type_="All"))
    moderated = await comment_ids(user, type_="ModeratorView")
    assert in_mine in moderated
    assert in_theirs not in moderated
    other_moderates = await comment_ids(other, type_="ModeratorView")
    assert in_theirs in other_moderates
    assert in_mine not in other_moderates
    assert not {in_mine, in_theirs} & set(await comment_ids(admin, type_="ModeratorView"))
    # Nobody moderates anonymously: Lemmy matches the moderator table against no person, and finds nothing.
    assert await comment_ids(anon, type_="ModeratorView") == []
    # Given a community, Lemmy lists all of its comments whatever type_ says.
    assert in_mine in await comment_ids(other, type_="ModeratorView", community_id=mine["id"])
    assert in_mine in await comment_ids(other, type_="Subscribed", community_name=mine["name"])


# ------------------------------------------------------------------------------------------ communities


async def test_community_list_moderator_view_lists_like_all(user: Api, other: Api, anon: Api) -> None:
    """Lemmy 0.19's community listing has no ModeratorView filter: it lists as All does."""
    community = (await make_community(user))["id"]
    for api in (user, other, anon):
        assert community in await community_ids(api, type_="ModeratorView")


# ---------------------------------------------------------------------------------------- registration


def test_accept_language_is_read_as_the_lemmy_crate_reads_it() -> None:
    assert language_tags(None) == []
    assert language_tags("") == []
    assert language_tags(" , ,") == []
    # Best first, regions cut off, `*` kept; equal qualities keep the header's order.
    assert language_tags("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5") == ["fr", "fr", "en", "de", "*"]
    assert language_tags("en;q=0.5, de;q=0.5, fr") == ["fr", "en", "de"]
    # A quality that does not parse is 0; only the first parameter after the tag is read.
    assert language_tags("en;q=high, de;q=0.1") == ["de", "en"]
    assert language_tags("en;level=1;q=0.1, de;q=0.9") == ["en", "de"]
    # Qualities are single precision: these two are equal, so the header's order stands.
    assert language_tags("de;q=0.3, en;q=0.30000001") == ["de", "en"]
    # Case is kept; a header with anything but visible ASCII counts as empty.
    assert language_tags("DE-de") == ["DE"]
    assert language_tags("fr, dé") == []


async def register_with(http: httpx.AsyncClient, accept_language: str | None) -> tuple[int, dict[str, Any]]:
    headers = {} if accept_language is None else {"Accept-Language": accept_language}
    body = {"username": unique(), "password": PASSWORD, "password_verify": PASSWORD}
    response = await http.post("/api/v3/user/register", json=body, headers=headers)
    return response.status_code, response.json()


async def languages_of_new_account(http: httpx.AsyncClient, accept_language: str | None) -> tuple[str, list[int]]:
    status, data = await register_with(http, accept_language)
    assert status == 200, data
    site = await Api(client=http, jwt=data["jwt"]).ok_get("/site")
    assert_shape(site, "GetSiteResponse")
    my_user = site["my_user"]
    return my_user["local_user_view"]["local_user"]["interface_language"], my_user["discussion_languages"]


@pytest.fixture
async def english_only_site(admin: Api) -> AsyncIterator[None]:
    before = (await admin.ok_get("/site"))["discussion_languages"]
    await admin.ok_put("/site", {"discussion_languages": [EN]})
    try:
        yield
    finally:
        await admin.ok_put("/site", {"discussion_languages": before})


async def test_accept_language_sets_the_interface_language_on_a_site_with_every_language(
    http: httpx.AsyncClient, admin: Api
) -> None:
    # A new site allows every language (GetSite lists them all, as Lemmy's read_local_raw does).
    assert len((await admin.ok_get("/site"))["discussion_languages"]) == len(LANGUAGES)
    # Every language stays on (an empty list), whatever the header says.
    assert await languages_of_new_account(http, "fr-CH, fr;q=0.9, en;q=0.8") == ("fr", [])
    assert await languages_of_new_account(http, "en;q=0.2, xx-YY") == ("xx", [])
    assert await languages_of_new_account(http, None) == ("browser", [])


async def test_accept_language_adds_known_languages_to_the_site_languages(
    http: httpx.AsyncClient, english_only_site: None
) -> None:
    # The site's languages, the header's known ones (even those the site did not choose), and undetermined.
    assert await languages_of_new_account(http, "de-DE,fr;q=0.5,xx;q=0.9") == ("de", [0, DE, EN, FR])
    # Unknown codes become the interface language all the same, and add nothing; neither does another case.
    assert await languages_of_new_account(http, "xx-YY") == ("xx", [0, EN])
    assert await languages_of_new_account(http, "en;q=0.2, FR") == ("FR", [0, EN])
    assert await languages_of_new_account(http, None) == ("browser", [0, EN])
    assert await languages_of_new_account(http, "") == ("browser", [0, EN])


async def test_an_interface_language_too_long_for_lemmy_refuses_the_registration(http: httpx.AsyncClient) -> None:
    status, data = await register_with(http, "abcdefghijklmnopqrstu, en;q=0.5")
    assert (status, data) == (400, {"error": "unknown", "message": "value too long for type character varying(20)"})
    # Twenty characters fit.
    assert (await languages_of_new_account(http, "abcdefghijklmnopqrst"))[0] == "abcdefghijklmnopqrst"
