"""Issue 10, finding 5: input that used to be a 500 is refused (or cleaned) where it comes in.

Ids are i32 as on Lemmy (2^31 and beyond is a 400 before any lookup; an id in range that names nothing is the
lookup's own 404); JSON numbers and booleans are strict as serde's, query strings read as serde_urlencoded reads
them; control characters are dropped from every text field; the federation parser understands a list-valued
`type` and refuses what it cannot read with a reason; a malformed IDNA host is refused by the fetch guard."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conftest import Api, make_comment, make_community, make_post, unique
from moot.domain.validation import clean_text
from moot.federation.inspect import describe
from moot.federation.netguard import UnsafeTarget, check_url
from moot.federation.parse import parse_post

I32_MAX = 2**31 - 1
OUT_OF_RANGE = (2**31, 2**63, -(2**31) - 1)
IN_RANGE_BUT_ABSENT = (0, -1, I32_MAX, -(2**31))
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


# ------------------------------------------------------------------ ids


# (method, path, form with `ID` where the id under test goes); the other ids are filled in from `ids`.
Case = tuple[str, str, Callable[[dict[str, int], int], dict[str, Any]]]

CASES: list[Case] = [
    ("GET", "/post", lambda i, x: {"id": x}),
    ("GET", "/post", lambda i, x: {"comment_id": x}),
    ("GET", "/post/list", lambda i, x: {"community_id": x}),
    ("GET", "/comment", lambda i, x: {"id": x}),
    ("GET", "/comment/list", lambda i, x: {"post_id": x}),
    ("GET", "/comment/list", lambda i, x: {"parent_id": x}),
    ("GET", "/comment/list", lambda i, x: {"community_id": x}),
    ("GET", "/community", lambda i, x: {"id": x}),
    ("GET", "/user", lambda i, x: {"person_id": x}),
    ("GET", "/user", lambda i, x: {"person_id": i["person"], "community_id": x}),
    ("GET", "/search", lambda i, x: {"q": "word", "community_id": x}),
    ("GET", "/search", lambda i, x: {"q": "word", "creator_id": x}),
    ("POST", "/post", lambda i, x: {"name": "A title", "community_id": x}),
    ("POST", "/post", lambda i, x: {"name": "A title", "community_id": i["community"], "language_id": x}),
    ("PUT", "/post", lambda i, x: {"post_id": x, "name": "New title"}),
    ("POST", "/post/delete", lambda i, x: {"post_id": x, "deleted": True}),
    ("POST", "/post/like", lambda i, x: {"post_id": x, "score": 1}),
    ("PUT", "/post/save", lambda i, x: {"post_id": x, "save": True}),
    ("POST", "/post/mark_as_read", lambda i, x: {"post_ids": [x], "read": True}),
    ("POST", "/post/hide", lambda i, x: {"post_ids": [x], "hide": True}),
    ("POST", "/comment", lambda i, x: {"post_id": x, "content": "hello"}),
    ("POST", "/comment", lambda i, x: {"post_id": i["post"], "parent_id": x, "content": "hello"}),
    ("POST", "/comment", lambda i, x: {"post_id": i["post"], "content": "hello", "language_id": x}),
    ("PUT", "/comment", lambda i, x: {"comment_id": x, "content": "edited"}),
    ("POST", "/comment/delete", lambda i, x: {"comment_id": x, "deleted": True}),
    ("POST", "/comment/like", lambda i, x: {"comment_id": x, "score": 1}),
    ("PUT", "/comment/save", lambda i, x: {"comment_id": x, "save": True}),
    ("POST", "/comment/mark_as_read", lambda i, x: {"comment_reply_id": x, "read": True}),
    ("PUT", "/community", lambda i, x: {"community_id": x, "title": "New title"}),
    ("POST", "/community/follow", lambda i, x: {"community_id": x, "follow": True}),
    ("POST", "/community/block", lambda i, x: {"community_id": x, "block": True}),
    ("POST", "/community/delete", lambda i, x: {"community_id": x, "deleted": True}),
    ("POST", "/user/block", lambda i, x: {"person_id": x, "block": True}),
    ("POST", "/user/mention/mark_as_read", lambda i, x: {"person_mention_id": x, "read": True}),
    ("PUT", "/user/save_user_settings", lambda i, x: {"discussion_languages": [x]}),
]


async def _call(api: Api, method: str, path: str, form: dict[str, Any]) -> tuple[int, Any]:
    if method == "GET":
        return await api.get(path, **form)
    if method == "PUT":
        return await api.put(path, form)
    return await api.post(path, form)


@pytest.fixture
async def ids(user: Api) -> dict[str, int]:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    comment = await make_comment(user, post["id"])
    assert user.person_id is not None
    return {"community": community["id"], "post": post["id"], "comment": comment["id"], "person": user.person_id}


@pytest.mark.parametrize(("method", "path", "form"), CASES, ids=[f"{m} {p} {n}" for n, (m, p, _) in enumerate(CASES)])
async def test_an_id_outside_i32_is_a_400_before_any_lookup(
    user: Api, ids: dict[str, int], method: str, path: str, form: Callable[[dict[str, int], int], dict[str, Any]]
) -> None:
    for value in OUT_OF_RANGE:
        status, body = await _call(user, method, path, form(ids, value))
        assert status == 400, (value, status, body)
        assert body["error"] == "unknown", body
    for value in IN_RANGE_BUT_ABSENT:
        status, body = await _call(user, method, path, form(ids, value))
        assert status in (200, 400, 404), (value, status, body)


async def test_an_absent_id_answers_as_lemmy_does(user: Api) -> None:
    for value in IN_RANGE_BUT_ABSENT:
        assert await user.get("/post", id=value) == (404, {"error": "couldnt_find_post"})
        assert await user.get("/comment", id=value) == (404, {"error": "couldnt_find_comment"})
    status, body = await user.get("/post", id=2**31)
    assert status == 400 and body["error"] == "unknown" and "id" in body["message"]


# ------------------------------------------------------------------ strict JSON, lenient query strings


async def test_json_numbers_and_booleans_are_strict_as_serde(
    user: Api, ids: dict[str, int], http: httpx.AsyncClient
) -> None:
    post = ids["post"]
    refused = [
        ("/post/hide", {"post_ids": [post], "hide": 0}),
        ("/post/hide", {"post_ids": [post], "hide": "true"}),
        ("/post/like", {"post_id": str(post), "score": 1}),
        ("/post/like", {"post_id": float(post), "score": 1}),
        ("/post/like", {"post_id": True, "score": 1}),
        ("/post/like", {"post_id": post, "score": 1.0}),
        ("/post/like", {"post_id": post, "score": 2**15}),
        ("/post/mark_as_read", {"post_ids": [str(post)], "read": True}),
    ]
    for path, form in refused:
        status, body = await user.post(path, form)
        assert status == 400, (path, form, status, body)
        assert body["error"] == "unknown"
    status, body = await user.put("/post/save", {"post_id": post, "save": 1})
    assert status == 400, body
    # A lone surrogate is not text: serde_json refuses it, and so does pydantic.
    response = await http.post(
        "/api/v3/comment",
        content=b'{"post_id": %d, "content": "Half \\ud800 pair"}' % post,
        headers={"Authorization": f"Bearer {user.jwt}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["error"] == "unknown", response.text
    # The same forms with real JSON values work.
    assert (await user.post("/post/hide", {"post_ids": [post], "hide": True}))[0] == 200
    assert (await user.post("/post/like", {"post_id": post, "score": 1}))[0] == 200
    assert (await user.put("/post/save", {"post_id": post, "save": True}))[0] == 200


async def test_query_strings_read_as_lemmy_clients_send_them(user: Api, http: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {user.jwt}"}

    async def get(query: str) -> httpx.Response:
        return await http.get(f"/api/v3/post/list?{query}", headers=headers)

    for query in ("saved_only=true", "saved_only=false", "show_nsfw=True", "page=2&limit=5", "page=%2B1"):
        response = await get(query)
        assert response.status_code == 200, (query, response.text)
    for query in ("saved_only=1", "saved_only=yes", "page=1.0", "page=%201", "page=1_0", f"community_id={2**31}"):
        response = await get(query)
        assert response.status_code == 400, (query, response.text)
        assert response.json()["error"] == "unknown"


# ------------------------------------------------------------------ text


def test_clean_text_drops_control_characters_and_replaces_lone_surrogates() -> None:
    assert clean_text("a\x00b\x07c\x1bd\x7fe") == "abcde"
    assert clean_text("tab\tnew\nline\r\n") == "tab\tnew\nline\r\n"
    assert clean_text("half \ud800 pair") == "half \ufffd pair"
    assert clean_text("emoji \U0001f600 stays") == "emoji \U0001f600 stays"


async def test_nul_and_control_characters_are_dropped_from_every_text_field(user: Api, admin: Api) -> None:
    community = await make_community(user, title="Title\x00 with\x07 NUL", description="De\x00scription")
    assert community["title"] == "Title with NUL"
    assert community["description"] == "Description"
    post = await make_post(user, community["id"], name="A\x00 post\x1b title", body="Body\x00 text\x08")
    assert (post["name"], post["body"]) == ("A post title", "Body text")
    comment = await make_comment(user, post["id"], content="Com\x00ment\x0c")
    assert comment["content"] == "Comment"
    edited = await user.ok_put("/comment", {"comment_id": comment["id"], "content": "Edit\x00ed"})
    assert edited["comment_view"]["comment"]["content"] == "Edited"
    await user.ok_put("/user/save_user_settings", {"display_name": "Dis\x00play", "bio": "B\x00io"})
    person = (await user.ok_get("/user", person_id=user.person_id))["person_view"]["person"]
    assert (person["display_name"], person["bio"]) == ("Display", "Bio")
    found = await user.ok_get("/search", q="post\x00 title", type_="Posts")
    assert any(p["post"]["id"] == post["id"] for p in found["posts"])
    assert (await user.get("/community", name=f"{unique('nobody')}\x00"))[0] == 404
    site = await admin.ok_put("/site", {"taglines": ["Tag\x00line"]})
    assert [t["content"] for t in site["taglines"]] == ["Tagline"]


async def test_a_title_of_control_characters_only_is_refused_not_stored(user: Api) -> None:
    community = await make_community(user)
    status, body = await user.post("/post", {"name": "\x00\x01\x02", "community_id": community["id"]})
    assert (status, body) == (400, {"error": "invalid_post_title"})


# ------------------------------------------------------------------ federation


def _doc(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def _page(**fields: Any) -> dict[str, Any]:
    return {
        "type": "Page",
        "id": "https://remote.example/post/1",
        "attributedTo": "https://remote.example/u/alice",
        "to": [PUBLIC, "https://remote.example/c/things"],
        "name": "A remote post",
        **fields,
    }


def _create(obj: dict[str, Any], **fields: Any) -> bytes:
    activity = {
        "type": "Create",
        "id": "https://remote.example/activities/create/1",
        "actor": "https://remote.example/u/alice",
        "to": [PUBLIC],
        "object": obj,
    }
    return _doc(**{**activity, **fields})


def test_a_list_valued_type_is_read_as_its_first_known_type() -> None:
    accepted, report = describe(_create(_page(type=["Note", "Article"])))
    assert accepted, report
    assert "post (Note)" in report
    accepted, report = describe(_doc(**_page(type=["Extension", "Article"])))
    assert accepted and "post (Article)" in report, report
    accepted, report = describe(_create(_page(), type=["Create", "Update"]))
    assert accepted and "activity (Create)" in report, report


def test_a_type_that_names_nothing_known_is_refused_with_a_reason() -> None:
    assert describe(_create(_page(type=["Widget", 3]))) == (
        False,
        "refused: `Widget` is neither an activity, an actor, a post nor a comment",
    )
    assert describe(_create(_page(type=[]))) == (False, "refused: missing or invalid `type`")
    assert describe(_doc(**_page(type={"a": "b"}))) == (False, "refused: missing or invalid `type`")


def test_a_page_whose_markdown_is_blank_is_refused_for_its_title() -> None:
    blank = {"content": " \n\t\n ", "mediaType": "text/markdown"}
    accepted, report = describe(_create(_page(name=None, source=blank)))
    assert (accepted, report) == (False, "refused: post fails Lemmy's limits: invalid_post_title")
    accepted, report = describe(_create(_page(name="Kept", source=blank)))
    assert accepted, report


def test_control_characters_and_lone_surrogates_in_documents() -> None:
    accepted, report = describe(
        _create(_page(name="Ti\x00tle\x07", source={"content": "Bo\x00dy\x1b", "mediaType": "text/markdown"}))
    )
    assert accepted, report
    assert "title: Title\n" in report and "body (markdown): Body\n" in report
    html = _page(name=None, content="<p>First\x00 line</p><p>more</p>")
    accepted, report = describe(_create(html))
    assert accepted and "title: First line\n" in report, report
    # On the wire a lone surrogate is refused with the JSON, as serde_json refuses it...
    assert describe(_create(_page(name="Half \ud800 pair"))) == (
        False,
        "refused: not acceptable JSON: invalid json: a lone surrogate in a string",
    )
    # ...and a document that reaches the parser some other way has it replaced, never stored.
    parsed = parse_post(_page(name="Half \ud800 pair", content="<p>x\ud800</p>"))
    assert (parsed.title, parsed.body) == ("Half \ufffd pair", "x\ufffd")
    # An id, a name or a reference with a control character is not one.
    bad_id = _page(id="https://remote.example/post/\x00")
    assert describe(_doc(**bad_id)) == (False, "refused: missing or invalid `id`")
    assert describe(_create(bad_id)) == (False, "refused: activity has no object")
    actor = {
        "type": "Person",
        "id": "https://remote.example/u/bob",
        "preferredUsername": "bob\x00",
        "inbox": "https://remote.example/u/bob/inbox",
        "publicKey": {"id": "https://remote.example/u/bob#main-key", "publicKeyPem": "pem"},
    }
    assert describe(_doc(**actor)) == (False, "refused: missing or invalid `preferredUsername`")
    assert describe(_doc(**_page(id="http://[::1/post/1", attributedTo="http://[::1/u/a")))[0] is False


def test_a_malformed_idna_host_is_refused_by_the_fetch_guard() -> None:
    for url in ("https://xn--localhost-/u/x", "https://xn--/x", "https://xn--zz.example/x"):
        with pytest.raises(UnsafeTarget) as refused:
            check_url(url, allow_insecure=True)
        assert refused.value.reason == "invalid host"
    assert check_url("https://bücher.example/x", allow_insecure=False).host == "xn--bcher-kva.example"


async def test_resolving_a_malformed_idna_host_is_not_found(user: Api) -> None:
    for q in ("https://xn--localhost-/u/x", "!things@xn--localhost-", "@alice@xn--localhost-"):
        status, body = await user.get("/resolve_object", q=q)
        assert status in (400, 404), (q, status, body)
        assert body["error"] in ("couldnt_find_object", "unknown"), body


async def test_the_inbox_refuses_unreadable_activities_before_any_signature_check(
    http: httpx.AsyncClient, admin: Api
) -> None:
    """No signature at all: the parser answers first, with its reason, and never crashes."""
    bodies = [
        _create(_page(), type=["Note", "Article"]),
        _create(_page(type=["Widget"])),
        _create(_page(name=None, source={"content": "   ", "mediaType": "text/markdown"})),
        _create(_page(), actor="https://xn--localhost-/u/x", id="https://xn--localhost-/a/1"),
        b'{"type": "Create", "id": "https://remote.example/a/\\u0000", "actor": "https://remote.example/u/a"}',
    ]
    for body in bodies:
        response = await http.post("/inbox", content=body, headers={"Content-Type": "application/activity+json"})
        assert response.status_code in (400, 401), (body, response.status_code, response.text)
