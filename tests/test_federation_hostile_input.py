"""Issue 10, finding 5, at a real server's inbox: what used to answer 500 (and drop the connection) is refused
with a reason, or accepted with its text cleaned.

One Moot process in debug mode on 127.0.6.1 (its database on the suite's backend, so a NUL reaches PostgreSQL
when the suite runs on it); the attacker's documents are served from 127.0.6.2 by the FakeServer of
test_federation_security.py, and its activities signed the same way."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    ServerProcess,
    drop_database,
    free_port,
    make_database,
    start_server,
    stop_server,
    unique,
)
from moot.domain.keys import generate_keypair
from moot.federation.signatures import sign_request
from test_federation_security import AP, Actor, FakeServer, create, page, send, signed_by

ENV = {"MOOT_FEDERATION_DEBUG": "true", "MOOT_RUN_JOBS": "false"}
HOST, ATTACKER_HOST = "127.0.6.1", "127.0.6.2"


@dataclass
class Target:
    base: str
    inbox: str
    admin: httpx.AsyncClient
    attacker: FakeServer
    mallory: Actor
    community: dict[str, Any]

    async def titles(self) -> list[str]:
        r = await self.admin.get("/post/list", params={"community_id": self.community["id"], "sort": "New"})
        assert r.status_code == 200, r.text
        return [p["post"]["name"] for p in r.json()["posts"]]

    async def deliver(self, activity: dict[str, Any]) -> httpx.Response:
        return await send(self.inbox, *signed_by(self.mallory, self.inbox, activity))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = make_database(tmp_path_factory.mktemp("hostile"))
    process = start_server(db, free_port(), ENV, host=HOST)
    try:
        yield process
    finally:
        stop_server(process)
        drop_database(db)


@pytest.fixture(scope="module")
def attacker() -> Iterator[FakeServer]:
    fake = FakeServer(ATTACKER_HOST)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
async def target(server: ServerProcess, attacker: FakeServer) -> Target:
    api = f"{server.base_url}/api/v3"
    async with httpx.AsyncClient(base_url=api) as http:
        r = await http.post("/user/login", json={"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
    admin = httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {r.json()['jwt']}"})
    made = await admin.post("/community", json={"name": unique("hostile"), "title": "Hostile input"})
    assert made.status_code == 200, made.text
    return Target(
        base=server.base_url,
        inbox=f"{server.base_url}/inbox",
        admin=admin,
        attacker=attacker,
        mallory=attacker.actor(unique("mallory")),
        community=made.json()["community_view"]["community"],
    )


async def test_a_list_valued_type_is_understood(target: Target) -> None:
    community = target.community["actor_id"]
    title = unique("Listed type")
    obj = {**page(target.mallory, community, title), "type": ["Page", "Article"]}
    response = await target.deliver({**create(target.mallory, obj, community), "type": ["Create", "Activity"]})
    assert response.status_code == 200, response.text
    assert title in await target.titles()


async def test_a_list_valued_type_is_read_before_the_signature_is_checked(target: Target) -> None:
    """Not even signed: the envelope is read first, and a list in `type` (the object's, here) is no crash."""
    community = target.community["actor_id"]
    obj = {**page(target.mallory, community, unique("Unsigned")), "type": ["Note", "Article"]}
    response = await send(
        target.inbox, json.dumps(create(target.mallory, obj, community)).encode(), {"Content-Type": AP}
    )
    assert response.status_code == 401, response.text
    assert "not signed" in response.text
    for kind in (["Widget", "Gadget"], [], {"not": "a type"}):
        activity = create(target.mallory, page(target.mallory, community, unique("No type")), community)
        response = await send(target.inbox, json.dumps({**activity, "type": kind}).encode(), {"Content-Type": AP})
        assert response.status_code == 400, (kind, response.text)


async def test_a_page_whose_markdown_is_blank_is_refused(target: Target) -> None:
    community = target.community["actor_id"]
    obj = page(target.mallory, community, "unused")
    del obj["name"]
    obj["source"] = {"content": " \n \n\t", "mediaType": "text/markdown"}
    response = await target.deliver(create(target.mallory, obj, community))
    assert response.status_code == 400, response.text
    assert "invalid_post_title" in response.text


async def test_control_characters_are_cleaned(target: Target) -> None:
    community = target.community["actor_id"]
    tag = unique("Clean")
    obj = page(target.mallory, community, f"{tag}\x00 title\x07")
    obj["source"] = {"content": "Body\x00 with\x1b controls", "mediaType": "text/markdown"}
    response = await target.deliver(create(target.mallory, obj, community))
    assert response.status_code == 200, response.text
    assert f"{tag} title" in await target.titles()
    r = await target.admin.get("/resolve_object", params={"q": obj["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["post"]["post"]["body"] == "Body with controls"


async def test_a_lone_surrogate_is_refused_as_lemmy_refuses_it(target: Target) -> None:
    community = target.community["actor_id"]
    title = unique("Half")
    response = await target.deliver(
        create(target.mallory, page(target.mallory, community, f"{title} \ud800"), community)
    )
    assert response.status_code == 400, response.text  # json.dumps wrote "\ud800"; serde_json would refuse it
    assert "lone surrogate" in response.text
    assert not [t for t in await target.titles() if t.startswith(title)]


async def test_an_actor_on_a_malformed_idna_host_is_refused(target: Target) -> None:
    actor_id = "http://xn--localhost-/u/x"
    keys = generate_keypair()
    activity = {
        "id": f"http://xn--localhost-/activities/create/{uuid.uuid4()}",
        "type": "Create",
        "actor": actor_id,
        "object": page(actor_id, target.community["actor_id"], unique("IDNA")),
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    body = json.dumps(activity).encode()
    headers = {"Content-Type": AP}
    headers.update(sign_request("POST", target.inbox, headers, body, f"{actor_id}#main-key", keys.private_pem))
    response = await send(target.inbox, body, headers)
    assert response.status_code == 401, response.text
    assert "invalid host" in response.text


async def test_resolving_a_malformed_idna_host_is_not_found(target: Target) -> None:
    for q in ("http://xn--localhost-/u/x", "!things@xn--localhost-"):
        r = await target.admin.get("/resolve_object", params={"q": q})
        assert r.status_code == 404, (q, r.text)
        assert r.json() == {"error": "couldnt_find_object"}
