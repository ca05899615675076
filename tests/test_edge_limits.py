"""Input limits at the edge: oversized bodies, deep JSON, malformed forms; each gets a clear Lemmy-style error."""

from __future__ import annotations

import httpx

from conftest import Api
from moot.http.limits import json_depth_ok


async def test_body_over_one_mebibyte_is_refused(user: Api, http: httpx.AsyncClient) -> None:
    body = b'{"content": "' + b"a" * (1024 * 1024 + 10) + b'", "post_id": 1}'
    r = await http.post(
        "/api/v3/comment",
        content=body,
        headers={"Authorization": f"Bearer {user.jwt}", "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"] == "unknown"


async def test_deeply_nested_json_is_refused(user: Api, http: httpx.AsyncClient) -> None:
    body = b'{"name": "x", "community_id": 1, "extra": ' + b"[" * 200 + b"]" * 200 + b"}"
    r = await http.post(
        "/api/v3/post",
        content=body,
        headers={"Authorization": f"Bearer {user.jwt}", "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json() == {"error": "unknown", "message": "JSON nested too deeply"}


async def test_malformed_form_names_the_field(user: Api) -> None:
    status, body = await user.post("/post", {"name": "A title", "community_id": "not a number"})
    assert status == 400
    assert body["error"] == "unknown"
    assert "community_id" in body["message"]
    status, body = await user.get("/post/list", sort="Sideways")
    assert status == 400
    assert "sort" in body["message"]


async def test_unknown_route_is_json_404(anon: Api) -> None:
    status, body = await anon.get("/no/such/thing")
    assert status == 404
    assert body == {"error": "not_found"}


def test_json_depth_counter_ignores_brackets_in_strings() -> None:
    assert json_depth_ok(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')
    assert json_depth_ok(b'{"a": "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')
    assert not json_depth_ok(b"[" * 33 + b"]" * 33)
    assert json_depth_ok(b"[" * 32 + b"]" * 32)
