"""A LocalOnly community's posts and comments, walked through every endpoint, page and feed: one rule.

The rule (domain/visibility.py, applied by queries/visibility.py): a LocalOnly community is read by people logged
in here and by nobody else. Every readable surface is listed below and read three ways: anonymously, as a local
account, and as another server fetching ActivityPub. A marker word sits in the community's name and title and
in every post and comment; each answer must carry it exactly when the reader may see the community.
`test_every_readable_route_is_walked` fails when a GET route is added without being put through the walk."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.routing import Route

from conftest import Api, make_comment, make_community, make_post, register
from moot.db.federation import SentActivity
from moot.federation.routes import _AP_PATH

AP = "application/activity+json"


@dataclass
class Secret:
    mark: str  # in the community's name and title, and in every post and comment of it
    word: str  # searched for (pages repeat the search words, so the marker itself is never searched)
    link: str  # the secret posts' link, shared by a public post (which makes them its cross-posts)
    community: dict[str, Any]
    early_post: dict[str, Any]  # written while the community was still Public
    post: dict[str, Any]
    comment: dict[str, Any]
    reply: dict[str, Any]
    public_post: dict[str, Any]  # the same link, in a Public community: its cross-posts include the secret one
    author: Api
    reader: Api  # another local account, following the community
    activities_before: int  # sent_activity rows when the community turned LocalOnly


@pytest.fixture(scope="module")
async def secret(http: httpx.AsyncClient, app: Any, admin: Api) -> Secret:
    mark = f"hush{secrets.token_hex(4)}"
    word = f"murmur{secrets.token_hex(4)}"
    author = await register(http)
    reader = await register(http)
    community = await make_community(author, name=mark, title=f"Quiet {mark} {word}")
    link = f"https://example.com/{secrets.token_hex(6)}"
    early = await make_post(author, community["id"], name=f"Early {mark}", body=f"said before {mark} {word}", url=link)
    await make_comment(author, early["id"], f"early words {mark} {word}")
    await author.ok_put("/community", {"community_id": community["id"], "visibility": "LocalOnly"})
    async with app.state.moot.db.read() as session:
        before = len((await session.scalars(select(SentActivity.id))).all())
    post = await make_post(author, community["id"], name=f"Secret {mark} {word}", url=link)
    comment = await make_comment(author, post["id"], f"a comment {mark} {word}")
    reply = await make_comment(reader, post["id"], f"a reply {mark} {word}", parent_id=comment["id"])
    await reader.ok_post("/comment/like", {"comment_id": comment["id"], "score": 1})
    await reader.ok_post("/post/like", {"post_id": post["id"], "score": 1})
    await reader.ok_post("/community/follow", {"community_id": community["id"], "follow": True})
    # A moderator's action puts the post's title in the modlog.
    await author.ok_post("/post/lock", {"post_id": post["id"], "locked": True})
    await author.ok_post("/post/lock", {"post_id": post["id"], "locked": False})
    open_community = await make_community(author)
    public_post = await make_post(author, open_community["id"], name="An open post", url=link)
    return Secret(mark, word, link, community, early, post, comment, reply, public_post, author, reader, before)


# ------------------------------------------------------------------ every readable surface


@dataclass(frozen=True)
class Probe:
    route: str  # the route (or ActivityPub path) it walks, as the app declares it
    url: Callable[[Secret], str]
    # Whether a logged-in local reader finds the marker here (feeds are read by RSS readers, which never log in:
    # the community's content stays out of them whoever asks).
    local_sees: bool = True


def api(route: str, **params: Callable[[Secret], Any]) -> Probe:
    def url(s: Secret) -> str:
        query = httpx.QueryParams({k: str(f(s)) for k, f in params.items()})
        return f"/api/v3{route}?{query}" if params else f"/api/v3{route}"

    return Probe(f"/api/v3{route}", url)


def page(route: str, url: Callable[[Secret], str], **kw: Any) -> Probe:
    return Probe(route, url, **kw)


def word(s: Secret) -> str:
    return s.word


API = [
    api("/post", id=lambda s: s.post["id"]),
    api("/post", id=lambda s: s.early_post["id"]),
    api("/post", comment_id=lambda s: s.comment["id"]),
    api("/post", id=lambda s: s.public_post["id"]),  # the secret post is one of its cross-posts
    api("/post", id=lambda s: s.public_post["id"], link_group=lambda s: "true"),
    api(
        "/comment/list",
        post_id=lambda s: s.public_post["id"],
        merge_cross_posts=lambda s: "true",
        max_depth=lambda s: 8,
    ),
    api("/post/list", type_=lambda s: "All", sort=lambda s: "New", limit=lambda s: 50),
    api("/post/list", type_=lambda s: "Local", sort=lambda s: "New", limit=lambda s: 50),
    api("/post/list", community_id=lambda s: s.community["id"]),
    api("/post/list", community_name=lambda s: s.mark),
    api("/comment", id=lambda s: s.comment["id"]),
    api("/comment", id=lambda s: s.reply["id"]),
    api("/comment/list", post_id=lambda s: s.post["id"], max_depth=lambda s: 8),
    api("/comment/list", parent_id=lambda s: s.comment["id"]),
    api("/comment/list", community_id=lambda s: s.community["id"]),
    api("/comment/list", type_=lambda s: "All", sort=lambda s: "New", limit=lambda s: 50),
    api("/search", q=word),
    api("/search", q=word, type_=lambda s: "Posts"),
    api("/search", q=word, type_=lambda s: "Comments"),
    api("/search", q=word, type_=lambda s: "Communities"),
    api("/search", q=lambda s: s.link, type_=lambda s: "Url"),
    api("/search", q=lambda s: "Secret", community_id=lambda s: s.community["id"]),
    api("/user", person_id=lambda s: s.author.person_id),
    api("/user", username=lambda s: s.reader.name),
    api("/community", id=lambda s: s.community["id"]),
    api("/community", name=lambda s: s.mark),
    api("/community/list", sort=lambda s: "New", limit=lambda s: 50),
    api("/resolve_object", q=lambda s: s.post["ap_id"]),
    api("/resolve_object", q=lambda s: s.comment["ap_id"]),
    api("/resolve_object", q=lambda s: f"!{s.mark}"),
    api("/site"),  # the reader's own follows name the community
    api("/modlog"),
    api("/modlog", community_id=lambda s: s.community["id"]),
    api("/modlog", type_=lambda s: "ModLockPost"),
    # Only for their reader: the reply to the author's comment, and the unread count's neighbour.
    Probe("/api/v3/user/replies", lambda s: "/api/v3/user/replies?sort=New"),
]

PAGES = [
    page("/", lambda s: "/?type=All&sort=New"),
    page("/", lambda s: "/?type=Local&sort=New"),
    page("/c/{name}", lambda s: f"/c/{s.mark}"),
    page("/post/{post_id}", lambda s: f"/post/{s.post['id']}"),
    page("/post/{post_id}", lambda s: f"/post/{s.public_post['id']}"),
    page("/post/{post_id}", lambda s: f"/post/{s.public_post['id']}?discussion=all"),  # the joined thread
    page("/link_discussions", lambda s: f"/link_discussions?url={s.link}"),  # the composer's question
    page("/post/{post_id}/comment/{comment_id}", lambda s: f"/post/{s.post['id']}/comment/{s.comment['id']}"),
    page("/comment/{comment_id}", lambda s: f"/comment/{s.reply['id']}"),
    page("/u/{name}", lambda s: f"/u/{s.author.name}"),
    page("/u/{name}", lambda s: f"/u/{s.author.name}?view=comments"),
    page("/search", lambda s: f"/search?q={s.word}"),
    page("/search", lambda s: f"/search?q={s.word}&type=Comments"),
    page("/search", lambda s: f"/search?q={s.word}&type=Communities"),
    page("/search", lambda s: f"/search?q={s.link}&type=Url"),
    page("/communities", lambda s: "/communities?sort=New"),
    page("/create_post", lambda s: f"/create_post?community_id={s.community['id']}"),
    page("/create_post", lambda s: f"/create_post?crosspost={s.post['id']}"),
    page("/saved", lambda s: "/saved"),  # nothing saved: walked for completeness, the marker is absent
    page("/inbox", lambda s: "/inbox"),
    page("/modlog", lambda s: "/modlog"),
    page("/modlog", lambda s: f"/modlog?community_id={s.community['id']}"),
]

FEEDS = [
    page("/feeds/all.xml", lambda s: "/feeds/all.xml?sort=New", local_sees=False),
    page("/feeds/local.xml", lambda s: "/feeds/local.xml?sort=New", local_sees=False),
    page("/feeds/c/{name}.xml", lambda s: f"/feeds/c/{s.mark}.xml", local_sees=False),
    page("/feeds/u/{name}.xml", lambda s: f"/feeds/u/{s.author.name}.xml", local_sees=False),
    # The reader's own subscriptions, by the token in the address: the reader follows the community.
    page("/feeds/front/{token}.xml", lambda s: f"/feeds/front/{s.reader.jwt}.xml"),
]

# What another server may fetch (federation/routes.py's ActivityPub paths), each with the marker absent.
FEDERATION = [
    lambda s: f"/c/{s.mark}",
    lambda s: f"/c/{s.mark}/outbox",
    lambda s: f"/c/{s.mark}/featured",
    lambda s: f"/c/{s.mark}/moderators",
    lambda s: f"/c/{s.mark}/followers",
    lambda s: f"/post/{s.post['id']}",
    lambda s: f"/post/{s.early_post['id']}",
    lambda s: f"/comment/{s.comment['id']}",
    lambda s: f"/comment/{s.reply['id']}",
    lambda s: f"/u/{s.author.name}",
    lambda s: f"/u/{s.author.name}/outbox",
    lambda s: "/",
]

# GET routes that show nothing of any community's content, and why.
NOT_CONTENT = {
    "/pictrs/image/{file}": "an uploaded image's bytes (on a private instance, for those logged in only)",
    "/pictrs/image/delete/{token}/{file}": "deletes an upload by its secret token; answers nothing",
    "/pictrs/healthz": "answers nothing",
    "/api/v3/account/list_media": "the reader's own uploads, no community content",
    "/api/v3/admin/list_all_media": "admins only: uploads and their uploaders, no community content",
    "/openapi.json": "the API's description",
    "/api/docs": "the API's documentation page",
    "/docs/oauth2-redirect": "part of the documentation page",
    "/api/v3/user/validate_auth": "says whether a token is valid",
    "/api/v3/user/unread_count": "numbers only",
    "/api/v3/user/mention": "mentions of the reader: content the reader may read (walked by /user/replies)",
    "/api/v3/federated_instances": "instance names",
    "/.well-known/nodeinfo": "counts and software",
    "/nodeinfo/2.0": "counts and software",
    "/nodeinfo/2.0.json": "counts and software",
    "/nodeinfo/2.1": "counts and software",
    "/nodeinfo/2.1.json": "counts and software",
    "/.well-known/webfinger": "walked below: test_webfinger_does_not_list_it",
    "/login": "a form",
    "/signup": "a form",
    "/settings": "the reader's own settings",
    "/create_community": "a form",
    "/legal": "the site's legal information",
    "/api/v3/admin/registration_application": "admins only: an applicant's account, no community content",
    "/api/v3/admin/registration_application/count": "admins only: a number",
    "/api/v3/admin/registration_application/list": "admins only: applicants' accounts, no community content",
    "/post/{post_id}/edit": "the author's own post, for its author only",
    "/api/v3/post/like/list": "moderators and admins only: who voted, no community content",
    "/api/v3/comment/like/list": "moderators and admins only: who voted, no community content",
    "/api/v3/post/report/list": "moderators of the community (who read it) and admins only",
    "/api/v3/comment/report/list": "moderators of the community (who read it) and admins only",
    "/api/v3/user/report_count": "numbers only",
    "/api/v3/user/banned": "admins only: people, no community content",
    "/reports": "the report queue: moderators of the community (who read it) and admins only",
    "/admin": "admins only: the site's settings",
    "/c/{name}/settings": "the community's moderators and admins only",
    "/comment/{comment_id}/edit": "the author's own comment, for its author only",
    "/api/v3/private_message/list": "the reader's own private messages, no community content",
    "/api/v3/private_message/report/list": "admins only: reported private messages, no community content",
    "/messages": "the reader's own conversations, no community content",
    "/messages/{person_id}": "the reader's own private messages with one person, no community content",
    "/api/v3/user/get_captcha": "a captcha image and sound",
    "/api/v3/user/list_logins": "the reader's own logins",
    "/api/v3/user/export_settings": "the reader's own settings backup (ids of what they follow, save, block)",
    "/signup/captcha/{key}.wav": "a captcha's sound",
    "/settings/account": "the reader's own account page",
    "/verify_email/{token}": "a form (the link mailed to verify an address)",
    "/password_reset": "a form",
    "/password_change/{token}": "a form (the link mailed to reset a password)",
    "/api/v3/post/site_metadata": "another site's page, read for a logged-in reader",
    "/api/v3/image_proxy": "an image of another host (public there), by its URL only",
}


def _get_routes(routes: Iterable[Any], prefix: str = "") -> Iterable[str]:
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:  # FastAPI's included routers keep their own routes and prefix
            yield from _get_routes(inner.routes, prefix + route.include_context.prefix)
        elif "GET" in (getattr(route, "methods", None) or ()) and isinstance(route, APIRoute | Route):
            yield prefix + route.path


def test_every_readable_route_is_walked(app: Any) -> None:
    walked = {p.route for p in (*API, *PAGES, *FEEDS)}
    unclassified = set(_get_routes(app.routes)) - walked - set(NOT_CONTENT)
    assert not unclassified, f"GET routes neither walked nor explained: {sorted(unclassified)}"


def _answer(response: httpx.Response) -> str:
    return f"{response.status_code} {response.text}"


async def _read(http: httpx.AsyncClient, url: str, jwt: str | None, api_route: bool) -> httpx.Response:
    headers: dict[str, str] = {}
    if jwt is not None:
        # The API reads the bearer token, pages the `jwt` cookie, as a client and a browser send them.
        headers = {"Authorization": f"Bearer {jwt}"} if api_route else {"Cookie": f"jwt={jwt}"}
    response = await http.get(url, headers=headers)
    for _ in range(3):  # redirects, followed with the same login (httpx drops a Cookie header it did not set)
        if response.status_code not in (301, 302, 303, 307, 308):
            break
        response = await http.get(response.headers["location"], headers=headers)
    return response


@pytest.mark.parametrize("probe", [*API, *PAGES, *FEEDS], ids=lambda p: p.route)
async def test_anonymous_readers_never_see_it(http: httpx.AsyncClient, secret: Secret, probe: Probe) -> None:
    if probe.route == "/feeds/front/{token}.xml":
        return  # the address is a login: nobody reads it anonymously
    response = await _read(http, probe.url(secret), None, probe.route.startswith("/api/"))
    assert response.status_code < 500, _answer(response)
    assert secret.mark not in response.text, _answer(response)[:3000]


@pytest.mark.parametrize("probe", [*API, *PAGES, *FEEDS], ids=lambda p: p.route)
async def test_local_accounts_see_it(http: httpx.AsyncClient, secret: Secret, probe: Probe) -> None:
    """The same surfaces for a logged-in account of this server: the content is there (feeds for RSS readers,
    which never log in, leave it out whoever asks)."""
    if probe.route in ("/saved",):
        return
    # The reply notifies the author of the comment it answers; everything else is read by another local account.
    reader = secret.author if probe.route in ("/api/v3/user/replies", "/inbox") else secret.reader
    response = await _read(http, probe.url(secret), reader.jwt, probe.route.startswith("/api/"))
    if probe.local_sees:
        assert response.status_code == 200, _answer(response)[:3000]
        assert secret.mark in response.text, _answer(response)[:3000]
    else:
        assert response.status_code < 500, _answer(response)
        assert secret.mark not in response.text, _answer(response)[:3000]


@pytest.mark.parametrize("path", FEDERATION, ids=lambda f: "ap")
async def test_other_servers_never_fetch_it(http: httpx.AsyncClient, secret: Secret, path: Callable[..., str]) -> None:
    url = path(secret)
    assert _AP_PATH.match(url), url
    response = await http.get(url, headers={"Accept": AP})
    assert response.status_code < 500, _answer(response)
    assert secret.mark not in response.text, _answer(response)[:3000]
    if url.startswith(("/c/", "/post/", "/comment/")):
        assert response.status_code == 404, _answer(response)


async def test_webfinger_does_not_list_it(http: httpx.AsyncClient, secret: Secret) -> None:
    response = await http.get("/.well-known/webfinger", params={"resource": f"acct:{secret.mark}@moot.test:8536"})
    assert response.status_code == 404, response.text


async def test_nothing_of_it_is_recorded_for_other_servers(app: Any, http: httpx.AsyncClient, secret: Secret) -> None:
    """federation/outbox.py sends nothing of a LocalOnly community: no activity about the post, the comments or
    the votes made since it turned LocalOnly; and what was sent before is not served again."""
    async with app.state.moot.db.read() as session:
        rows = list((await session.scalars(select(SentActivity).order_by(SentActivity.id))).all())
    since = rows[secret.activities_before :]
    assert not [r.ap_id for r in since if secret.mark in r.data or secret.community["actor_id"] in r.data]
    earlier = [r for r in rows if secret.community["actor_id"] in r.data]
    assert earlier, "the community's early post was announced while it was public"
    for row in earlier:
        response = await http.get(urlsplit(row.ap_id).path, headers={"Accept": AP})
        assert response.status_code != 200 or secret.mark not in response.text, _answer(response)


async def test_the_author_still_sees_it_in_their_own_details(secret: Secret) -> None:
    """The person details of the author, read by the author: posts, comments and the community moderated."""
    data = await secret.author.ok_get("/user", person_id=secret.author.person_id, sort="New")
    assert secret.post["id"] in [p["post"]["id"] for p in data["posts"]]
    assert secret.comment["id"] in [c["comment"]["id"] for c in data["comments"]]
    assert secret.community["id"] in [m["community"]["id"] for m in data["moderates"]]
    anonymous = await Api(client=secret.author.client).ok_get("/user", person_id=secret.author.person_id)
    assert secret.community["id"] not in [m["community"]["id"] for m in anonymous["moderates"]]
    assert json.dumps(anonymous).count(secret.mark) == 0


async def test_a_local_only_community_is_not_found_by_a_remote_person_before_anything_else(db: Any) -> None:
    """The access gate's first answer to a person of another server in a local-only community, whatever else
    holds (here: banned from it, and the community removed), is that it does not exist: nothing else leaks."""
    from moot.actions.access import check_community_user_action
    from moot.db.community import Community
    from moot.db.person import Person
    from moot.domain.errors import LemmyError
    from moot.queries.viewer import RemoteActor

    remote = RemoteActor(person=Person(id=1, local=False, banned=False, ban_expires=None, deleted=False))
    community = Community(id=1, visibility="LocalOnly", deleted=False, removed=True)
    async with db.read() as session:
        with pytest.raises(LemmyError) as refused:
            await check_community_user_action(session, remote, community, banned=True)
        assert refused.value.error == "couldnt_find_community"
        community.visibility = "Public"  # the same person, once the community is visible to other servers
        with pytest.raises(LemmyError) as refused:
            await check_community_user_action(session, remote, community, banned=True)
        assert refused.value.error == "banned_from_community"
