"""Every setting `PUT /api/v3/site` accepts does something, or is refused: one test (or more) per setting.

A setting stored and then ignored is a bug: the admin believes the site behaves in a way it does not. Settings
Moot does not implement yet (registration applications, email, a modlog) are refused unless set to
what Moot does (README.md, "Site settings", has the table). The site's switches are global, so this module runs
its own app on its own database; rate limits are per client address, so each test that needs a clean bucket
asks from an address of its own."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from starlette.routing import Route

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    Api,
    DatabaseUnderTest,
    drop_database,
    make_comment,
    make_community,
    make_database,
    make_post,
    settings_for,
    unique,
)
from moot.api.lemmy_v3.forms import EditSite
from moot.app import create_app
from moot.db.federation import SentActivity
from moot.http.ratelimit import Bucket, api_bucket
from moot.settings import Settings

BASE = "http://moot.test:8536"
AP = "application/activity+json"
HIGH = 100_000
_addresses = count(10)


# ------------------------------------------------------------------ an app of this module's own


@pytest.fixture(scope="module")
def site_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    db = make_database(tmp_path_factory.mktemp("site_settings"))
    yield db
    drop_database(db)


@pytest.fixture(scope="module")
def site_settings(site_db: DatabaseUnderTest) -> Settings:
    return settings_for(site_db)


@pytest.fixture(scope="module")
async def site_app(site_settings: Settings) -> AsyncIterator[Any]:
    application = create_app(site_settings)
    async with application.router.lifespan_context(application):
        yield application


def client(app: Any) -> httpx.AsyncClient:
    """A client from an address of its own (127.0.6.N): its rate-limit buckets are fresh."""
    address = f"127.0.6.{next(_addresses)}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url=BASE)


@dataclass
class Site:
    app: Any
    admin: Api
    anon: Api

    async def edit(self, **changes: Any) -> dict[str, Any]:
        data: dict[str, Any] = await self.admin.ok_put("/site", changes)
        return data

    async def refused(self, **changes: Any) -> str:
        status, data = await self.admin.put("/site", changes)
        assert status == 400, (changes, status, data)
        return str(data.get("message", data["error"]))

    async def user(self) -> Api:
        name = unique()
        password = "password-1234"
        api = Api(client=self.anon.client)
        body = {"username": name, "password": password, "password_verify": password}
        data = await api.ok_post("/user/register", body)
        api.jwt, api.name = data["jwt"], name
        api.person_id = (await api.ok_get("/site"))["my_user"]["local_user_view"]["person"]["id"]
        return api

    async def page(self, path: str, jwt: str | None = None) -> httpx.Response:
        headers = {"Cookie": f"jwt={jwt}"} if jwt else {}
        return await self.anon.client.get(path, headers=headers)


@pytest.fixture(scope="module")
async def site(site_app: Any) -> Site:
    http = client(site_app)
    admin = Api(client=http)
    data = await admin.ok_post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
    admin.jwt, admin.name = data["jwt"], ADMIN_NAME
    admin.person_id = (await admin.ok_get("/site"))["my_user"]["local_user_view"]["person"]["id"]
    await admin.ok_put("/site", {f"rate_limit_{b}": HIGH for b in ("register", "post", "comment", "search", "message")})
    return Site(app=site_app, admin=admin, anon=Api(client=http))


async def sent_activities(site: Site) -> int:
    async with site.app.state.moot.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(SentActivity)) or 0)


# ------------------------------------------------------------------ what the site shows: name, texts, images


async def test_name_is_the_sites_name_everywhere(site: Site) -> None:
    name = "Renamed " + unique("")[1:5]
    try:
        await site.edit(name=name)
        assert (await site.anon.ok_get("/site"))["site_view"]["site"]["name"] == name
        assert f">{name}</a>" in (await site.page("/")).text
        assert f"<title>{name}: all posts</title>" in (await site.page("/feeds/all.xml")).text
        actor = (await site.anon.client.get("/", headers={"Accept": AP})).json()
        assert actor["name"] == name
    finally:
        await site.edit(name="Moot Test")


async def test_description_sidebar_and_banner_are_on_the_front_page_and_the_site_actor(site: Site) -> None:
    try:
        await site.edit(
            description="A place for tests", sidebar="Rules: **be kind**", banner="https://img.example/banner.png"
        )
        front = (await site.page("/")).text
        assert '<p class="site-description">A place for tests</p>' in front
        assert "<strong>be kind</strong>" in front
        assert 'src="https://img.example/banner.png"' in front
        assert "<description>A place for tests</description>" in (await site.page("/feeds/all.xml")).text
        actor = (await site.anon.client.get("/", headers={"Accept": AP})).json()
        assert actor["summary"] == "A place for tests"
        assert actor["source"]["content"] == "Rules: **be kind**"
        assert actor["image"]["url"] == "https://img.example/banner.png"
    finally:
        await site.edit(description="", sidebar="", banner="")
    assert "site-description" not in (await site.page("/")).text


async def test_icon_is_in_every_page_header_and_the_site_actor(site: Site) -> None:
    try:
        await site.edit(icon="https://img.example/icon.png")
        assert '<img class="site-icon" src="https://img.example/icon.png"' in (await site.page("/communities")).text
        actor = (await site.anon.client.get("/", headers={"Accept": AP})).json()
        assert actor["icon"]["url"] == "https://img.example/icon.png"
    finally:
        await site.edit(icon="")
    assert "site-icon" not in (await site.page("/communities")).text


async def test_content_warning_is_shown_and_nsfw_is_then_listed_for_visitors(site: Site) -> None:
    author = await site.user()
    community = await make_community(author)
    nsfw = await make_post(author, community["id"], nsfw=True)

    async def listed() -> list[int]:
        data = await site.anon.ok_get("/post/list", community_id=community["id"])
        return [p["post"]["id"] for p in data["posts"]]

    assert nsfw["id"] not in await listed()
    try:
        await site.edit(content_warning="Adult content ahead")
        # As Lemmy 0.19: a site with a content warning shows anonymous readers NSFW content (after the warning).
        assert nsfw["id"] in await listed()
        assert "Adult content ahead" in (await site.page("/")).text
        assert "Adult content ahead" not in (await site.page("/", jwt=author.jwt)).text
        actor = (await site.anon.client.get("/", headers={"Accept": AP})).json()
        assert actor["contentWarning"] == "Adult content ahead"
    finally:
        await site.edit(content_warning="")
    assert nsfw["id"] not in await listed()


async def test_taglines_are_shown_on_the_front_page(site: Site) -> None:
    try:
        data = await site.edit(taglines=["Welcome to *the* test site"])
        assert [t["content"] for t in data["taglines"]] == ["Welcome to *the* test site"]
        assert '<p class="tagline">Welcome to <em>the</em> test site</p>' in (await site.page("/")).text
    finally:
        await site.edit(taglines=[])
    assert 'class="tagline"' not in (await site.page("/")).text


async def test_legal_information_has_its_page_linked_from_every_page(site: Site) -> None:
    assert (await site.page("/legal")).status_code == 404
    try:
        await site.edit(legal_information="We keep **no** logs.")
        assert '<a href="/legal">Legal information</a>' in (await site.page("/communities")).text
        legal = await site.page("/legal")
        assert legal.status_code == 200
        assert "<strong>no</strong> logs" in legal.text
    finally:
        await site.edit(legal_information="")
    assert (await site.page("/legal")).status_code == 404
    assert 'href="/legal"' not in (await site.page("/communities")).text


async def test_default_theme_is_what_visitors_get(site: Site) -> None:
    user = await site.user()
    try:
        await site.edit(default_theme="dark")
        assert '<html lang="en" data-theme="dark">' in (await site.page("/")).text
        # An account keeps its own choice ("browser": the device's).
        assert '<html lang="en">' in (await site.page("/", jwt=user.jwt)).text
        assert "default_theme" in await site.refused(default_theme="darkly")
    finally:
        await site.edit(default_theme="browser")
    assert '<html lang="en">' in (await site.page("/")).text


# ------------------------------------------------------------------ what people may do


async def test_enable_downvotes(site: Site) -> None:
    author, voter = await site.user(), await site.user()
    post = await make_post(author, (await make_community(author))["id"])
    try:
        await site.edit(enable_downvotes=False)
        status, data = await voter.post("/post/like", {"post_id": post["id"], "score": -1})
        assert (status, data) == (400, {"error": "downvotes_are_disabled"})
    finally:
        await site.edit(enable_downvotes=True)
    await voter.ok_post("/post/like", {"post_id": post["id"], "score": -1})


async def test_enable_nsfw(site: Site) -> None:
    author = await site.user()
    community = await make_community(author)
    try:
        await site.edit(enable_nsfw=False)
        assert (await make_post(author, community["id"], nsfw=True))["nsfw"] is False
        assert 'name="nsfw"' not in (await site.page("/create_post", jwt=author.jwt)).text
    finally:
        await site.edit(enable_nsfw=True)
    assert (await make_post(author, community["id"], nsfw=True))["nsfw"] is True


async def test_community_creation_admin_only(site: Site) -> None:
    user = await site.user()
    try:
        await site.edit(community_creation_admin_only=True)
        status, data = await user.post("/community", {"name": unique("c"), "title": "Mine"})
        assert (status, data) == (400, {"error": "only_admins_can_create_communities"})
        await make_community(site.admin)
    finally:
        await site.edit(community_creation_admin_only=False)
    await make_community(user)


async def test_require_email_verification_needs_mail_settings(site: Site, site_settings: Settings) -> None:
    """Without MOOT_SMTP_URL no verification mail could arrive, so the switch cannot be turned on. With it, sign-ups
    need an email and wait for the mailed link (tests/test_email.py follows the links through a real SMTP server)."""
    before = (await site.anon.ok_get("/site"))["site_view"]["local_site"]
    assert await site.admin.put("/site", {"require_email_verification": True}) == (400, {"error": "no_email_setup"})
    assert (await site.anon.ok_get("/site"))["site_view"]["local_site"] == before
    await site.edit(require_email_verification=False)
    # The same site on a server with mail settings (no mail job here: the mail waits in the queue).
    mail_app = create_app(replace(site_settings, smtp_url="smtp://127.0.0.1:9"))
    async with mail_app.router.lifespan_context(mail_app), client(mail_app) as http:
        admin, anon = Api(client=http, jwt=site.admin.jwt), Api(client=http)
        body = {"username": unique(), "password": "password-1234", "password_verify": "password-1234"}
        try:
            await admin.ok_put("/site", {"require_email_verification": True})
            assert (await anon.ok_get("/site"))["site_view"]["local_site"]["require_email_verification"] is True
            assert await anon.post("/user/register", body) == (400, {"error": "email_required"})
            answer = await anon.ok_post("/user/register", {**body, "email": f"{body['username']}@example.org"})
            assert answer == {"registration_created": False, "verify_email_sent": True}
            login = {"username_or_email": body["username"], "password": body["password"]}
            assert await anon.post("/user/login", login) == (400, {"error": "email_not_verified"})
        finally:
            await admin.ok_put("/site", {"require_email_verification": False})


async def test_registration_mode(site: Site) -> None:
    body = {"username": unique(), "password": "password-1234", "password_verify": "password-1234"}
    try:
        await site.edit(registration_mode="Closed")
        assert await site.anon.post("/user/register", body) == (400, {"error": "registration_closed"})
        # Applications need a question to ask.
        assert await site.admin.put("/site", {"registration_mode": "RequireApplication"}) == (
            400,
            {"error": "application_question_required"},
        )
    finally:
        await site.edit(registration_mode="Open")
    await site.anon.ok_post("/user/register", body)


async def test_application_question_is_asked_at_sign_up(site: Site) -> None:
    body = {"username": unique(), "password": "password-1234", "password_verify": "password-1234"}
    try:
        await site.edit(registration_mode="RequireApplication", application_question="Why join us?")
        assert (await site.anon.ok_get("/site"))["site_view"]["local_site"]["application_question"] == "Why join us?"
        assert "Why join us?</label>" in (await site.page("/signup")).text
        refused = await site.anon.post("/user/register", body)
        assert refused == (400, {"error": "registration_application_answer_required"})
        created = await site.anon.ok_post("/user/register", {**body, "answer": "To test"})
        assert created == {"registration_created": True, "verify_email_sent": False}
        login = {"username_or_email": body["username"], "password": body["password"]}
        assert await site.anon.post("/user/login", login) == (400, {"error": "registration_application_is_pending"})
        # A site that requires applications keeps its question.
        assert await site.admin.put("/site", {"application_question": ""}) == (
            400,
            {"error": "application_question_required"},
        )
    finally:
        await site.edit(registration_mode="Open", application_question="")
    assert "application_question" not in (await site.anon.ok_get("/site"))["site_view"]["local_site"]


async def test_blocked_urls_refuse_posts_and_comments_linking_to_them(site: Site) -> None:
    author = await site.user()
    community = await make_community(author)
    post = await make_post(author, community["id"])
    try:
        await site.edit(blocked_urls=["https://Spam.example/"])
        assert [u["url"] for u in (await site.anon.ok_get("/site"))["blocked_urls"]] == ["spam.example"]
        link = {"name": "Cheap", "community_id": community["id"], "url": "https://www.spam.example/deal"}
        assert await author.post("/post", link) == (400, {"error": "blocked_url"})
        comment = {"post_id": post["id"], "content": "see [this](http://spam.example)"}
        assert await author.post("/comment", comment) == (400, {"error": "blocked_url"})
    finally:
        await site.edit(blocked_urls=[])
    assert (await site.anon.ok_get("/site"))["blocked_urls"] == []
    await make_comment(author, post["id"], "see [this](http://spam.example)")


async def test_actor_name_max_length(site: Site) -> None:
    long_name = "n" + unique("")[1:] + "xyz"  # 12 characters
    body = {"username": long_name, "password": "password-1234", "password_verify": "password-1234"}
    try:
        await site.edit(actor_name_max_length=10)
        assert await site.anon.post("/user/register", body) == (400, {"error": "invalid_name"})
        status, data = await site.admin.post("/community", {"name": long_name, "title": "Long"})
        assert (status, data) == (400, {"error": "invalid_name"})
    finally:
        await site.edit(actor_name_max_length=20)
    await site.anon.ok_post("/user/register", body)


async def test_slur_filter_regex_covers_posts_comments_and_communities(site: Site) -> None:
    author = await site.user()
    community = await make_community(author)
    post = await make_post(author, community["id"])
    try:
        await site.edit(slur_filter_regex="badword")
        status, data = await author.post("/post", {"name": "A badword title", "community_id": community["id"]})
        assert (status, data) == (400, {"error": "slurs"})
        comment = await make_comment(author, post["id"], "this badword goes")
        assert comment["content"] == "this *removed* goes"
        edited = await author.ok_put("/comment", {"comment_id": comment["id"], "content": "again badword"})
        assert edited["comment_view"]["comment"]["content"] == "again *removed*"
        status, data = await author.post("/community", {"name": unique("c"), "title": "The badword club"})
        assert (status, data) == (400, {"error": "slurs"})
        made = await make_community(author, description="no badword here")
        assert made["description"] == "no *removed* here"
    finally:
        await site.edit(slur_filter_regex="")
    assert (await make_comment(author, post["id"], "this badword stays"))["content"] == "this badword stays"


async def test_default_post_listing_type_and_sort_are_a_visitors_defaults(site: Site) -> None:
    author = await site.user()
    community = await make_community(author)
    first = await make_post(author, community["id"])
    second = await make_post(author, community["id"])

    async def order() -> list[int]:
        data = await site.anon.ok_get("/post/list", community_id=community["id"])
        return [p["post"]["id"] for p in data["posts"]]

    try:
        await site.edit(default_sort_type="Old", default_post_listing_type="All")
        assert await order() == [first["id"], second["id"]]
        assert re.search(r'href="/\?type=All[^"]*" aria-current="page"', (await site.page("/")).text)
        new_user = await site.user()
        local_user = (await new_user.ok_get("/site"))["my_user"]["local_user_view"]["local_user"]
        assert local_user["default_listing_type"] == "All"
        await site.edit(default_sort_type="New", default_post_listing_type="Local")
        assert await order() == [second["id"], first["id"]]
        assert re.search(r'href="/\?type=Local[^"]*" aria-current="page"', (await site.page("/")).text)
    finally:
        await site.edit(default_sort_type="Active", default_post_listing_type="Local")


async def test_default_post_listing_mode_is_a_new_accounts(site: Site) -> None:
    try:
        await site.edit(default_post_listing_mode="SmallCard")
        local_user = (await (await site.user()).ok_get("/site"))["my_user"]["local_user_view"]["local_user"]
        assert local_user["post_listing_mode"] == "SmallCard"
    finally:
        await site.edit(default_post_listing_mode="List")


async def test_discussion_languages_are_a_new_accounts(site: Site) -> None:
    try:
        await site.edit(discussion_languages=[0, 37])
        user = await site.user()
        assert sorted((await user.ok_get("/site"))["my_user"]["discussion_languages"]) == [0, 37]
    finally:
        await site.edit(discussion_languages=[])


# ------------------------------------------------------------------ rate limits


BUCKET_REQUESTS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "message": ("GET", "/api/v3/post/list", None),
    "post": ("POST", "/api/v3/post", {}),
    "register": ("POST", "/api/v3/user/login", {}),
    "comment": ("POST", "/api/v3/comment", {}),
    "search": ("GET", "/api/v3/search", None),
}


@pytest.mark.parametrize("bucket", sorted(BUCKET_REQUESTS))
async def test_rate_limit_and_its_interval(site: Site, bucket: str) -> None:
    """`rate_limit_<bucket>` requests per `rate_limit_<bucket>_per_second` seconds, from one address: the second
    of two is refused, and told to come back after the interval."""
    method, path, body = BUCKET_REQUESTS[bucket]
    try:
        await site.edit(**{f"rate_limit_{bucket}": 1, f"rate_limit_{bucket}_per_second": 4321})
        async with client(site.app) as fresh:
            first = await fresh.request(method, path, json=body, params={"q": "x"} if method == "GET" else None)
            assert first.json() != {"error": "rate_limit_error"}, first.text
            second = await fresh.request(method, path, json=body, params={"q": "x"} if method == "GET" else None)
        assert (second.status_code, second.json()) == (400, {"error": "rate_limit_error"})
        assert 4300 <= int(second.headers["Retry-After"]) <= 4321
    finally:
        await site.edit(**{f"rate_limit_{bucket}": HIGH, f"rate_limit_{bucket}_per_second": 600})


def test_rate_limit_image_limits_uploads_only(site_app: Any) -> None:
    """The image bucket limits uploads (`POST /pictrs/image`, as Lemmy; the pages' file fields draw from it too,
    tests/test_images.py) and no other route. This keeps the README's claim true."""
    for path in _get_routes(site_app.routes):
        for method in ("GET", "POST", "PUT"):
            if (method, path) != ("POST", "/pictrs/image"):
                assert api_bucket(method, path) != Bucket.IMAGE, (method, path)
    assert api_bucket("POST", "/pictrs/image") == Bucket.IMAGE


# ------------------------------------------------------------------ federation_enabled and the instance lists


async def test_federation_enabled_off_stops_every_federation_path(site: Site) -> None:
    community = await make_community(site.admin)
    domain = "moot.test:8536"
    try:
        await site.edit(federation_enabled=False)
        # Nothing is received: the inbox answers before reading a signature.
        inbox = await site.anon.client.post("/inbox", content=b'{"type":"Create"}', headers={"Content-Type": AP})
        assert (inbox.status_code, inbox.json()) == (403, {"error": "federation_disabled"})
        # Nothing is served: actors and objects, WebFinger.
        actor = await site.anon.client.get(f"/c/{community['name']}", headers={"Accept": AP})
        assert (actor.status_code, actor.json()) == (403, {"error": "federation_disabled"})
        site_actor = await site.anon.client.get("/", headers={"Accept": AP})
        assert site_actor.status_code == 403
        finger = await site.anon.client.get(
            "/.well-known/webfinger", params={"resource": f"acct:{community['name']}@{domain}"}
        )
        assert finger.status_code == 404
        # Nothing is queued for delivery, and people still get their pages.
        before = await sent_activities(site)
        await make_post(site.admin, community["id"])
        assert await sent_activities(site) == before
        assert (await site.page(f"/c/{community['name']}")).status_code == 200
        assert "federated_instances" not in await site.anon.ok_get("/federated_instances")
    finally:
        await site.edit(federation_enabled=True)
    actor = await site.anon.client.get(f"/c/{community['name']}", headers={"Accept": AP})
    assert actor.status_code == 200 and actor.json()["type"] == "Group"
    before = await sent_activities(site)
    await make_post(site.admin, community["id"])
    assert await sent_activities(site) > before
    assert "federated_instances" in await site.anon.ok_get("/federated_instances")


async def test_blocked_and_allowed_instances_are_refused_at_the_inbox(site: Site) -> None:
    def create_from(host: str) -> bytes:
        actor = f"https://{host}/u/someone"
        follow = {
            "id": f"https://{host}/activities/follow/1",
            "type": "Follow",
            "actor": actor,
            "object": f"{BASE}/c/x",
        }
        return json.dumps(follow).encode()

    async def inbox(host: str) -> httpx.Response:
        return await site.anon.client.post("/inbox", content=create_from(host), headers={"Content-Type": AP})

    try:
        await site.edit(blocked_instances=["blocked.example"])
        response = await inbox("blocked.example")
        assert response.status_code == 403 and "blocked" in response.text
        await site.edit(blocked_instances=[], allowed_instances=["friend.example"])
        response = await inbox("stranger.example")
        assert response.status_code == 403 and "allowlist" in response.text
    finally:
        await site.edit(blocked_instances=[], allowed_instances=[])
    assert (await inbox("stranger.example")).status_code != 403


# ------------------------------------------------------------------ private_instance


def _get_routes(routes: Iterable[Any], prefix: str = "") -> Iterable[str]:
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:  # FastAPI's included routers keep their own routes and prefix
            yield from _get_routes(inner.routes, prefix + route.include_context.prefix)
        elif "GET" in (getattr(route, "methods", None) or ()) and isinstance(route, APIRoute | Route):
            yield prefix + route.path


# What stays open on a private instance: what a client needs to log in or sign up, and what other servers and
# crawlers of NodeInfo read (Lemmy keeps these open too).
OPEN_API = {"/api/v3/site", "/api/v3/user/validate_auth", "/api/v3/user/get_captcha"}
OPEN_PAGES = {"/login", "/signup", "/signup/captcha/{key}.wav", "/legal", "/feeds/front/{token}.xml"}
# The links mailed to people who cannot log in yet, and the form that mails one.
OPEN_PAGES |= {"/verify_email/{token}", "/password_reset", "/password_change/{token}"}
NOT_SITE_CONTENT = {"/openapi.json", "/api/docs", "/docs/oauth2-redirect", "/.well-known/webfinger"}
NOT_SITE_CONTENT |= {"/.well-known/nodeinfo", "/nodeinfo/2.0", "/nodeinfo/2.0.json", "/nodeinfo/2.1"}
NOT_SITE_CONTENT |= {"/nodeinfo/2.1.json"}
# Uploaded images: tests/test_images.py checks that a private instance serves them to members only.
NOT_SITE_CONTENT |= {"/pictrs/healthz", "/pictrs/image/{file}", "/pictrs/image/delete/{token}/{file}"}


def _fill(route: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), route)


async def test_private_instance_refuses_every_anonymous_read(site: Site) -> None:
    author = await site.user()
    community = await make_community(author)
    post = await make_post(author, community["id"], name="Members only")
    comment = await make_comment(author, post["id"], "members only words")
    ids = {
        "post_id": post["id"],
        "comment_id": comment["id"],
        "community_id": community["id"],
        "person_id": author.person_id,
        "name": community["name"],
        "token": author.jwt,
        "key": "no-such-captcha",
    }
    params = {"id": post["id"], "q": "Members", "person_id": author.person_id, "post_id": post["id"]}
    routes = sorted(set(_get_routes(site.app.routes)) - NOT_SITE_CONTENT)
    api_routes = [r for r in routes if r.startswith("/api/v3/")]
    pages = [r for r in routes if not r.startswith("/api/v3/")]
    assert "/api/v3/post/list" in api_routes and "/" in pages and "/feeds/all.xml" in pages
    try:
        await site.edit(private_instance=True)
        for route in api_routes:
            status, data = await site.anon.get(route.removeprefix("/api/v3"), **params)
            if route in OPEN_API:
                assert "Members only" not in json.dumps(data), route
                continue
            assert (status, data) == (400, {"error": "instance_is_private"}), route
        for route in pages:
            response = await site.page(_fill(route, ids))
            if route in OPEN_PAGES:
                assert response.status_code in (200, 404), (route, response.status_code)
            elif route.startswith("/feeds/"):
                assert response.status_code == 400, (route, response.status_code)
                assert "This site is private" in response.text
            else:
                # As lemmy-ui: a visitor is sent to the login form (which comes back here afterwards).
                assert response.status_code == 303, (route, response.status_code)
                assert response.headers["location"].startswith("/login?next="), route
            assert "members only words" not in response.text, route
        # The site's own description stays readable (clients show it on their login page), and so does NodeInfo.
        assert (await site.anon.ok_get("/site"))["site_view"]["local_site"]["private_instance"] is True
        assert (await site.anon.client.get("/nodeinfo/2.1")).status_code == 200
        # Members read everything as before.
        data = await author.ok_get("/post/list", community_id=community["id"])
        assert [p["post"]["id"] for p in data["posts"]] == [post["id"]]
        assert "Members only" in (await site.page(f"/post/{post['id']}", jwt=author.jwt)).text
        assert "Members only" in (await site.page(f"/feeds/front/{author.jwt}.xml")).text
    finally:
        await site.edit(private_instance=False)
    assert (await site.anon.ok_get("/post", id=post["id"]))["post_view"]["post"]["name"] == "Members only"
    assert (await site.page("/")).status_code == 200


async def test_private_instance_drops_anonymous_answers_kept_in_memory(site: Site, site_settings: Settings) -> None:
    """With MOOT_ANON_CACHE_SECONDS set, an anonymous answer from before the switch is never replayed after it."""
    cached_app = create_app(replace(site_settings, anon_cache_seconds=600))
    async with cached_app.router.lifespan_context(cached_app), client(cached_app) as http:
        admin = Api(client=http, jwt=site.admin.jwt)
        anon = Api(client=http)
        await anon.ok_get("/post/list")
        await anon.ok_get("/post/list")
        try:
            await admin.ok_put("/site", {"private_instance": True})
            assert await anon.get("/post/list") == (400, {"error": "instance_is_private"})
        finally:
            await admin.ok_put("/site", {"private_instance": False})


# ------------------------------------------------------------------ the README's table keeps up


def test_every_site_setting_is_in_the_readme_with_its_test() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Site settings", 1)[1].split("\n## ", 1)[0]
    for setting in EditSite.model_fields:
        assert f"`{setting}`" in table, f"{setting} is not in README.md's table of site settings"
    for name in re.findall(r"`(test_\w+)`", table):
        assert name in globals(), f"README.md names {name}, which is not a test here"
