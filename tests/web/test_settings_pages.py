"""The settings page over plain HTTP, without JavaScript: every preference saved through save_user_settings,
errors shown with what was typed, changing the password (other logins end), blocking and unblocking instances,
people and communities, and the settings backup (download and import, with the API's limits)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from conftest import Api, make_community, unique
from moot.actions.instances import get_or_create_instance
from web.conftest import BASE_URL, PASSWORD, Browser, new_browser
from web.dom import parse

_ADDRESSES = itertools.count(1)


@pytest.fixture
async def browser_from(web_app: Any) -> AsyncIterator[Callable[[], Browser]]:
    """Browsers each at an address of its own (the backup routes allow one request a day per address)."""
    made: list[Browser] = []

    def make() -> Browser:
        n = next(_ADDRESSES)
        transport = httpx.ASGITransport(app=web_app, client=(f"10.212.{n // 250}.{n % 250 + 1}", 40001))
        browser = Browser(client=httpx.AsyncClient(transport=transport, base_url=BASE_URL))
        made.append(browser)
        return browser

    yield make
    for browser in made:
        await browser.close()


async def my_user(browser: Browser) -> dict[str, Any]:
    """The API's view of the browser's own account (the API reads the same `jwt` cookie)."""
    site = (await browser.client.get("/api/v3/site")).json()
    me: dict[str, Any] = site["my_user"]
    return me


async def test_every_preference_is_saved(member: Browser) -> None:
    form = {
        "display_name": "Set Everything",
        "bio": "All *the* settings",
        "email": f"{unique('s')}@Example.org",
        "matrix_user_id": "@someone:matrix.org",
        "bot_account": "1",
        "send_notifications_to_email": "1",
        "default_sort_type": "TopWeek",
        "default_listing_type": "Subscribed",
        "theme": "dark",
        "interface_language": "de",
        "discussion_languages_sent": "1",
        "show_nsfw": "1",
        "blur_nsfw": "0",
        "show_bot_accounts": "0",
        "show_read_posts": "0",
        "show_scores": "0",
        "show_avatars": "0",
        "open_links_in_new_tab": "1",
    }
    await member.get("/settings")
    body = [
        ("csrf_token", member.token()),
        *form.items(),
        ("discussion_languages", "37"),
        ("discussion_languages", "47"),
    ]
    saved = await member.client.post(
        "/settings", content=urlencode(body), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/settings?saved=1"
    me = await my_user(member)
    user, person = me["local_user_view"]["local_user"], me["local_user_view"]["person"]
    assert person["display_name"] == "Set Everything" and person["bio"] == "All *the* settings"
    assert person["matrix_user_id"] == "@someone:matrix.org" and person["bot_account"] is True
    assert user["email"] == form["email"].lower()
    assert user["send_notifications_to_email"] is True
    assert (user["default_sort_type"], user["default_listing_type"], user["theme"]) == ("TopWeek", "Subscribed", "dark")
    assert user["interface_language"] == "de"
    assert (user["show_nsfw"], user["blur_nsfw"], user["show_bot_accounts"], user["show_read_posts"]) == (
        True,
        False,
        False,
        False,
    )
    assert (user["show_scores"], user["show_avatars"], user["open_links_in_new_tab"]) == (False, False, True)
    assert me["local_user_view"]["local_user_vote_display_mode"]["score"] is False
    assert me["discussion_languages"] == [0, 37, 47]
    # The page shows what is stored.
    doc = parse((await member.get("/settings?saved=1")).text)
    assert "Your settings are saved." in doc.find("p", cls="notice").text()
    assert doc.find("input", id="set-email").attrs["value"] == form["email"].lower()
    chosen = [o.attrs["value"] for o in doc.find("select", id="set-languages").find_all("option", selected="")]
    assert chosen == ["37", "47"]
    assert doc.find("input", id="set-show-scores").attrs.get("checked") is None
    assert doc.find("input", id="set-open-links-in-new-tab").attrs.get("checked") == ""
    # A form that names only some fields leaves the others as they are; no language chosen means every one.
    await member.submit("/settings", "/settings", {"display_name": "Only This", "discussion_languages_sent": "1"})
    me = await my_user(member)
    assert me["local_user_view"]["person"]["display_name"] == "Only This"
    assert me["local_user_view"]["local_user"]["email"] == form["email"].lower()
    assert me["local_user_view"]["local_user"]["show_scores"] is False
    assert me["discussion_languages"] == []


async def test_a_refused_form_keeps_what_was_typed(member: Browser) -> None:
    await member.get("/settings")
    bad = await member.post(
        "/settings",
        {"display_name": "Kept Name", "matrix_user_id": "not-a-matrix-id", "bio": "kept bio", "show_scores": "0"},
    )
    assert bad.status_code == 400
    doc = parse(bad.text)
    assert "A Matrix id looks like" in doc.find("div", cls="error").text()
    assert doc.find("input", id="set-display-name").attrs["value"] == "Kept Name"
    assert doc.find("input", id="set-matrix").attrs["value"] == "not-a-matrix-id"
    assert doc.find("textarea", id="set-bio").text() == "kept bio"
    assert doc.find("input", id="set-show-scores").attrs.get("checked") is None
    # Nothing was saved.
    me = await my_user(member)
    assert me["local_user_view"]["person"].get("display_name") != "Kept Name"
    taken = await member.post("/settings", {"email": "not an address"})
    assert taken.status_code == 400 and "not an email address" in taken.text


async def test_change_password_ends_the_other_logins(web_app: Any, member: Browser) -> None:
    other = new_browser(web_app)
    try:
        assert (await other.login(member.name or "")).status_code == 303
        await member.get("/settings")
        wrong = await member.post(
            "/settings/password",
            {
                "old_password": "not-it-at-all",
                "new_password": "new-password-99",
                "new_password_verify": "new-password-99",
            },
        )
        assert wrong.status_code == 400 and "The current password is not right." in wrong.text
        assert 'value="not-it-at-all"' not in wrong.text  # passwords are never shown back
        mismatch = await member.post(
            "/settings/password",
            {"old_password": PASSWORD, "new_password": "new-password-99", "new_password_verify": "new-password-98"},
        )
        assert mismatch.status_code == 400 and "The two passwords do not match." in mismatch.text
        short = await member.post(
            "/settings/password", {"old_password": PASSWORD, "new_password": "short", "new_password_verify": "short"}
        )
        assert short.status_code == 400 and "10 to 60 characters" in short.text
        done = await member.post(
            "/settings/password",
            {"old_password": PASSWORD, "new_password": "new-password-99", "new_password_verify": "new-password-99"},
        )
        assert done.status_code == 303 and done.headers["location"] == "/settings?done=password#password"
        # This browser stays logged in with its new token; the other one is logged out.
        page = await member.follow(done)
        assert "you are logged out everywhere else" in page.text
        assert (await my_user(member))["local_user_view"]["person"]["name"] == member.name
        assert (await other.get("/settings")).status_code == 303
        assert (await other.login(member.name or "")).status_code == 401
        assert (await other.login(member.name or "", "new-password-99")).status_code == 303
    finally:
        await other.close()


async def test_block_and_unblock_an_instance(web_app: Any, member: Browser) -> None:
    domain = f"{unique('blockme')}.example"
    async with web_app.state.moot.db.write() as session:
        instance_id = await get_or_create_instance(session, domain)
    await member.get("/settings")
    unknown = await member.post("/settings/block_instance", {"domain": "never-heard-of.example", "block": "1"})
    assert unknown.status_code == 400 and "knows no instance" in unknown.text
    assert parse(unknown.text).find("input", id="block-domain").attrs["value"] == "never-heard-of.example"
    local = await member.post("/settings/block_instance", {"domain": "moot.test:8536", "block": "1"})
    assert local.status_code == 400 and "This site cannot be blocked." in local.text

    blocked = await member.post("/settings/block_instance", {"domain": domain.upper(), "block": "1"})
    assert blocked.status_code == 303 and blocked.headers["location"] == "/settings?done=blocked#blocks"
    assert [i["instance"]["domain"] for i in (await my_user(member))["instance_blocks"]] == [domain]
    doc = parse((await member.follow(blocked)).text)
    [row] = doc.find("ul", cls="blocked-instances").find_all("li")
    assert domain in row.text()
    form = row.find("form")
    assert form.attrs["action"] == "/settings/block_instance"
    fields = {i.attrs["name"]: i.attrs.get("value") for i in form.find_all("input")}
    assert fields["instance_id"] == str(instance_id) and fields["block"] == "0"
    unblocked = await member.post("/settings/block_instance", {"instance_id": fields["instance_id"], "block": "0"})
    assert unblocked.headers["location"] == "/settings?done=unblocked#blocks"
    assert (await my_user(member))["instance_blocks"] == []
    assert "You block no instance." in (await member.get("/settings")).text


async def test_blocked_people_and_communities_are_listed_with_unblock(member: Browser, user: Api) -> None:
    community = await make_community(user)
    await member.get("/settings")
    await member.post(f"/person/{user.person_id}/block", {"block": "1", "next": "/settings"})
    await member.post(f"/community/{community['id']}/block", {"block": "1", "next": "/settings"})
    doc = parse((await member.get("/settings")).text)
    people = doc.find("ul", cls="blocked-people")
    assert user.name is not None and user.name in people.text()
    communities = doc.find("ul", cls="blocked-communities")
    assert community["name"] in communities.text()
    for listed in (people, communities):
        form = listed.find("form")
        fields = {i.attrs["name"]: i.attrs.get("value") for i in form.find_all("input")}
        fields.pop("csrf_token")
        response = await member.post(form.attrs["action"], fields)
        assert response.status_code == 303 and response.headers["location"] == "/settings#blocks"
    mine = await my_user(member)
    assert mine["person_blocks"] == [] and mine["community_blocks"] == []


async def test_download_and_import_a_backup(browser_from: Callable[[], Browser], user: Api) -> None:
    community = await make_community(user)
    exporter = browser_from()
    await exporter.signup()
    await exporter.submit("/settings", "/settings", {"display_name": "Backed Up", "show_scores": "0"})
    await exporter.submit(f"/c/{community['name']}", f"/community/{community['id']}/subscribe", {"follow": "1"})
    doc = parse((await exporter.get("/settings")).text)
    download = doc.find("a", href="/api/v3/user/export_settings")
    assert download.attrs["download"].endswith(".json")
    # The link is the API's own export: the same JSON as a client gets with the login as a bearer token.
    jwt = exporter.client.cookies.get("jwt")
    backup = (await exporter.get("/api/v3/user/export_settings")).json()
    again = browser_from()
    from_api = (
        await again.client.get("/api/v3/user/export_settings", headers={"Authorization": f"Bearer {jwt}"})
    ).json()
    assert backup == from_api
    assert backup["display_name"] == "Backed Up" and backup["followed_communities"] == [community["actor_id"]]

    # Read back onto another account, from the page.
    importer = browser_from()
    await importer.signup()
    await importer.get("/settings")
    done = await importer.post("/settings/import", {"backup": json.dumps(backup)})
    assert done.status_code == 303 and done.headers["location"] == "/settings?done=imported#backup"
    me = await my_user(importer)
    assert me["local_user_view"]["person"]["display_name"] == "Backed Up"
    assert me["local_user_view"]["local_user"]["show_scores"] is False
    deadline = time.monotonic() + 10
    while not (await my_user(importer))["follows"]:
        assert time.monotonic() < deadline, "the follows of the backup were not imported"
        await asyncio.sleep(0.05)
    assert [f["community"]["id"] for f in (await my_user(importer))["follows"]] == [community["id"]]
    # One import a day from an address, as the API: the next is refused (429, with when to come back).
    await importer.get("/settings")
    limited = await importer.post("/settings/import", {"backup": json.dumps({"display_name": "Again"})})
    assert limited.status_code == 429 and "Retry-After" in limited.headers


async def test_a_bad_backup_is_refused_and_kept_in_the_form(browser_from: Callable[[], Browser]) -> None:
    cases = [
        ("{not json", "not JSON"),
        ('{"display_name": 5}', "display_name"),
        ('{"settings": {"default_sort_type": "Sideways"}}', "settings.default_sort_type"),
        (json.dumps({"saved_posts": [f"https://x.example/post/{i}" for i in range(10_001)]}), "at most 10,000"),
        ('{"display_name": "@bad"}', "display name"),
    ]
    for text, message in cases:
        browser = browser_from()
        await browser.signup()
        await browser.get("/settings")
        refused = await browser.post("/settings/import", {"backup": text})
        assert refused.status_code == 400, text[:50]
        doc = parse(refused.text)
        assert message in doc.find("section", id="backup").find("div", cls="error").text(), text[:50]
        if len(text) < 1000:
            assert doc.find("textarea", id="backup-text").text() == text
