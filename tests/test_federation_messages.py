"""Private messages across real servers (tests/cluster.py: alpha and beta, over real HTTP with signatures), and
Mastodon's direct messages from a server of the test's own.

alice on alpha writes to bob on beta: the message arrives (Create{ChatMessage} to bob's server), changes
(Update) and disappears (Delete), and comes back (Undo{Delete}); bob answers. A Mastodon-shaped direct `Note`
(addressed to bob only) becomes a private message on beta, never a comment; a followers-only Note does not.
Delivery is asynchronous: every wait is a bounded poll."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from cluster import Client, Cluster, eventually, running_cluster
from test_federation_moderation import admitted
from test_federation_security import FakeServer, signed_by

NODES = ("alpha", "beta")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp, NODES) as running:
        yield running


@pytest.fixture(scope="module")
async def cluster(servers: Cluster) -> AsyncIterator[Cluster]:
    yield servers
    await servers.close_clients()


@pytest.fixture(scope="module")
def mastodon() -> Iterator[FakeServer]:
    fake = FakeServer("127.0.2.9")
    fake.start()
    yield fake
    fake.stop()


async def person_id_on(client: Client, handle: str) -> int:
    status, found = await client.resolve(handle)
    assert status == 200, found
    return int(found["person"]["person"]["id"])


async def messages_of(client: Client, **params: Any) -> list[dict[str, Any]]:
    return list((await client.get("/private_message/list", **params))["private_messages"])


async def message_with(client: Client, ap_id: str) -> dict[str, Any] | None:
    return next((v for v in await messages_of(client) if v["private_message"]["ap_id"] == ap_id), None)


async def test_a_message_arrives_changes_and_disappears(cluster: Cluster) -> None:
    alice, bob = await asyncio.gather(cluster.register("alpha"), cluster.register("beta"))
    bob_on_alpha = await person_id_on(alice, bob.handle)
    sent = (await alice.post("/private_message", {"recipient_id": bob_on_alpha, "content": "hello **bob**"}))[
        "private_message_view"
    ]
    ap_id = sent["private_message"]["ap_id"]
    assert ap_id.startswith(cluster["alpha"].origin)

    arrived = await eventually(lambda: message_with(bob, ap_id), what="the message on beta")
    pm = arrived["private_message"]
    assert (pm["content"], pm["local"], pm["read"], pm["deleted"]) == ("hello **bob**", False, False, False)
    assert (arrived["creator"]["actor_id"], arrived["recipient"]["actor_id"]) == (alice.actor_id, bob.actor_id)
    assert (await bob.get("/user/unread_count"))["private_messages"] == 1

    await alice.put("/private_message", {"private_message_id": sent["private_message"]["id"], "content": "edited"})

    async def edited() -> bool:
        found = await message_with(bob, ap_id)
        return found is not None and found["private_message"]["content"] == "edited"

    await eventually(edited, what="the edit on beta")
    assert "updated" in (await message_with(bob, ap_id) or {})["private_message"]

    await alice.post("/private_message/delete", {"private_message_id": sent["private_message"]["id"], "deleted": True})

    async def gone() -> bool:
        return await message_with(bob, ap_id) is None

    await eventually(gone, what="the deletion on beta")
    assert (await bob.get("/user/unread_count"))["private_messages"] == 0

    await alice.post("/private_message/delete", {"private_message_id": sent["private_message"]["id"], "deleted": False})
    await eventually(lambda: message_with(bob, ap_id), what="the restored message on beta")

    # bob answers; alpha shows the conversation both ways.
    alice_on_beta = int(arrived["creator"]["id"])
    answer = (await bob.post("/private_message", {"recipient_id": alice_on_beta, "content": "hi alice"}))[
        "private_message_view"
    ]["private_message"]
    back = await eventually(lambda: message_with(alice, answer["ap_id"]), what="the answer on alpha")
    assert back["private_message"]["content"] == "hi alice"
    conversation = await messages_of(alice, creator_id=bob_on_alpha)
    assert [v["private_message"]["content"] for v in conversation] == ["hi alice", "edited"]


async def test_a_blocked_sender_is_refused_across_servers(cluster: Cluster) -> None:
    alice, bob = await asyncio.gather(cluster.register("alpha"), cluster.register("beta"))
    bob_on_alpha = await person_id_on(alice, bob.handle)
    first = (await alice.post("/private_message", {"recipient_id": bob_on_alpha, "content": "before"}))[
        "private_message_view"
    ]["private_message"]
    arrived = await eventually(lambda: message_with(bob, first["ap_id"]))
    await bob.post("/user/block", {"person_id": arrived["creator"]["id"], "block": True})
    second = (await alice.post("/private_message", {"recipient_id": bob_on_alpha, "content": "after"}))[
        "private_message_view"
    ]["private_message"]
    await cluster.drained("alpha", "beta")
    await bob.post("/user/block", {"person_id": arrived["creator"]["id"], "block": False})
    # beta refused it when it came (person_is_blocked): it is not there once the block is lifted.
    assert await message_with(bob, second["ap_id"]) is None
    assert await message_with(bob, first["ap_id"]) is not None


async def test_a_mastodon_direct_note_becomes_a_private_message(cluster: Cluster, mastodon: FakeServer) -> None:
    bob = await cluster.register("beta")
    admin = await cluster.admin("beta")
    allowed = [i["domain"] for i in (await admin.get("/federated_instances"))["federated_instances"]["allowed"]]
    await admin.put("/site", {"allowed_instances": [*allowed, mastodon.host]})
    try:
        gargron = mastodon.actor(f"gargron{uuid.uuid4().hex[:6]}")
        word = f"whisper{uuid.uuid4().hex[:8]}"

        def create(note_id: str, to: list[str], cc: list[str], text: str) -> dict[str, Any]:
            note = {
                "id": note_id,
                "type": "Note",
                "summary": None,
                "inReplyTo": None,
                "published": "2025-01-01T12:00:00Z",
                "attributedTo": gargron.ap_id,
                "to": to,
                "cc": cc,
                "sensitive": False,
                "content": (
                    f'<p><span class="h-card"><a href="{bob.actor_id}" class="u-url mention">@<span>'
                    f"{bob.name}</span></a></span> {text}</p>"
                ),
                "tag": [{"type": "Mention", "href": bob.actor_id, "name": f"@{bob.handle}"}],
            }
            return {
                "@context": ["https://www.w3.org/ns/activitystreams"],
                "id": f"{note_id}/activity",
                "type": "Create",
                "actor": gargron.ap_id,
                "published": "2025-01-01T12:00:00Z",
                "to": to,
                "cc": cc,
                "object": note,
            }

        path = f"/u/{bob.name}/inbox"
        inbox, address = f"{cluster['beta'].origin}{path}", f"{cluster['beta'].base}{path}"
        direct_id = f"{gargron.ap_id}/statuses/{uuid.uuid4().int % 10**12}"
        direct = create(direct_id, [bob.actor_id], [], f"a {word} for you")
        response = await eventually(lambda: admitted(address, *signed_by(gargron, inbox, direct)))
        assert response.status_code == 200, response.text

        found = await message_with(bob, direct_id)
        assert found is not None
        assert found["private_message"]["content"] == f"@{bob.name} a {word} for you"
        assert found["creator"]["actor_id"] == gargron.ap_id
        assert found["private_message"]["local"] is False
        # Never a comment or a post: search finds nothing of it.
        results = await bob.get("/search", q=word, type_="All")
        assert word not in str(results)

        # A followers-only Note is neither a message nor a comment.
        followers_id = f"{gargron.ap_id}/statuses/{uuid.uuid4().int % 10**12}"
        followers_only = create(followers_id, [f"{gargron.ap_id}/followers"], [bob.actor_id], "followers only")
        response = await eventually(lambda: admitted(address, *signed_by(gargron, inbox, followers_only)))
        assert response.status_code == 400, response.text
        assert await message_with(bob, followers_id) is None

        # Mastodon deletes it with a Delete of the status (a Tombstone).
        delete = {
            "id": f"{direct_id}#delete",
            "type": "Delete",
            "actor": gargron.ap_id,
            "to": [bob.actor_id],
            "object": {"id": direct_id, "type": "Tombstone"},
        }
        response = await eventually(lambda: admitted(address, *signed_by(gargron, inbox, delete)))
        assert response.status_code == 200, response.text
        assert await message_with(bob, direct_id) is None
    finally:
        await admin.put("/site", {"allowed_instances": allowed})
