"""The site's slur filter and blocked URLs beyond posts and comments, as Lemmy 0.19 applies them: names (a username
at sign-up, a community's name and title, the site's name and description) with a slur are refused (`slurs`);
markdown (a bio, a community's description, the site's sidebar) loses its slurs and may not link to a blocked URL
(`blocked_url`). Display names are refused with a slur too (Lemmy refuses such a person when it arrives by
federation). The switches are the site's, so every test puts them back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from conftest import Api, make_community, register, unique

SLUR = "zorgblat"
BLOCKED = "https://blocked-for-slur-tests.example/page"


@pytest.fixture
async def filtered(admin: Api) -> AsyncIterator[Api]:
    await admin.ok_put("/site", {"slur_filter_regex": SLUR, "blocked_urls": ["blocked-for-slur-tests.example"]})
    try:
        yield admin
    finally:
        await admin.ok_put("/site", {"slur_filter_regex": "", "blocked_urls": []})


async def test_a_username_with_a_slur_is_refused_at_sign_up(http: httpx.AsyncClient, filtered: Api) -> None:
    body = {"username": f"x{SLUR}{unique('')[-6:]}", "password": "password-1234", "password_verify": "password-1234"}
    assert await Api(client=http).post("/user/register", body) == (400, {"error": "slurs"})
    # In any case, as the filter is.
    body["username"] = f"{SLUR.upper()}_{unique('')[-6:]}"
    assert await Api(client=http).post("/user/register", body) == (400, {"error": "slurs"})
    body["username"] = unique("clean")
    assert (await Api(client=http).ok_post("/user/register", body))["jwt"]


async def test_display_names_and_bios(http: httpx.AsyncClient, filtered: Api) -> None:
    person = await register(http)
    assert await person.put("/user/save_user_settings", {"display_name": f"Mr {SLUR}"}) == (400, {"error": "slurs"})
    refused = await person.put("/user/save_user_settings", {"bio": f"see [this]({BLOCKED})", "display_name": "Fine"})
    assert refused == (400, {"error": "blocked_url"})
    await person.ok_put("/user/save_user_settings", {"bio": f"I say {SLUR} often", "display_name": "Fine Name"})
    me = (await person.ok_get("/site"))["my_user"]["local_user_view"]["person"]
    assert me["bio"] == "I say *removed* often" and me["display_name"] == "Fine Name"
    # The settings backup goes through the same checks.
    assert await person.post("/user/import_settings", {"display_name": f"{SLUR}!"}) == (400, {"error": "slurs"})


async def test_community_names_titles_and_descriptions(http: httpx.AsyncClient, filtered: Api) -> None:
    mod = await register(http)
    refusals = [
        ({"name": f"c{SLUR}{unique('')[-5:]}", "title": "Fine"}, "slurs"),
        ({"name": unique("c"), "title": f"The {SLUR} club"}, "slurs"),
        ({"name": unique("c"), "title": "Fine", "description": f"[x]({BLOCKED})"}, "blocked_url"),
    ]
    for form, error in refusals:
        assert await mod.post("/community", form) == (400, {"error": error}), form
    made = await mod.ok_post("/community", {"name": unique("c"), "title": "Fine", "description": f"no {SLUR} here"})
    community = made["community_view"]["community"]
    assert community["description"] == "no *removed* here"
    edits = [({"title": f"{SLUR}"}, "slurs"), ({"description": f"<{BLOCKED}>"}, "blocked_url")]
    for form, error in edits:
        assert await mod.put("/community", {"community_id": community["id"], **form}) == (400, {"error": error})
    edited = await mod.ok_put("/community", {"community_id": community["id"], "description": f"{SLUR} again"})
    assert edited["community_view"]["community"]["description"] == "*removed* again"


async def test_the_site_name_description_and_sidebar(filtered: Api) -> None:
    before = (await filtered.ok_get("/site"))["site_view"]["site"]
    assert await filtered.put("/site", {"name": f"{SLUR}"}) == (400, {"error": "slurs"})
    assert await filtered.put("/site", {"description": f"A {SLUR} site"}) == (400, {"error": "slurs"})
    assert await filtered.put("/site", {"sidebar": f"Read [this]({BLOCKED})"}) == (400, {"error": "blocked_url"})
    # The filter the same edit sets is the one that counts.
    assert await filtered.put("/site", {"slur_filter_regex": "quuxword", "description": "a quuxword site"}) == (
        400,
        {"error": "slurs"},
    )
    try:
        site = (await filtered.ok_put("/site", {"sidebar": f"Rules: no {SLUR}."}))["site_view"]["site"]
        assert site["sidebar"] == "Rules: no *removed*."
    finally:
        await filtered.ok_put("/site", {"sidebar": before.get("sidebar") or ""})
    # Without a filter, the same words pass.
    await filtered.ok_put("/site", {"slur_filter_regex": ""})
    community = await make_community(filtered, title=f"The {SLUR} club")
    assert community["title"] == f"The {SLUR} club"
