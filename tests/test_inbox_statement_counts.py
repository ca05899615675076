"""The inbox's own statements for an inbound reply, the busiest activity a community receives: the sender, the
received-id check and the thread in one read, and in the write the received id recorded by its
INSERT itself, and the community's announce before the comment (whose counters lock the thread's rows until the
commit). A change that adds one should say why here. A redelivery, concurrent or not, changes nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from conftest import HOSTNAME, Api, backend, make_community, make_post
from moot.actions import posts as post_actions
from moot.actions.remote import upsert_remote_community, upsert_remote_person
from moot.db.engine import Database, count_queries
from moot.domain.keys import KeyPair, generate_keypair
from moot.federation.resolve import FirstRead, Resolver
from moot.federation.service import fetch_policy
from moot.federation.signatures import sign_request
from moot.queries.viewer import RemoteActor
from moot.settings import Settings
from test_write_statement_counts import _kinds

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# What queries/defaults.py keeps for a few seconds (the site's switches, the instance lists, the blocked URLs): read
# again when a slow run outlasts that window; and the sender's instance marked alive, once a minute per process
# (whichever test of the process delivers first from it): neither says anything of the inbox's own statements.
REMEMBERED = {"SELECT local_site", "SELECT instance", "SELECT local_site_url_blocklist", "UPDATE instance"}


def _inbox_kinds(statements: list[str]) -> list[str]:
    return [name for name in _kinds(statements) if name not in REMEMBERED]


async def _remote_sender(settings: Settings) -> tuple[str, KeyPair]:
    """A remote person already known, with a fresh key: nothing is fetched."""
    keys = generate_keypair()
    ap_id = f"http://remote.example/u/s{uuid.uuid4().hex[:8]}"
    db = Database(settings)
    try:
        async with db.write() as session:
            person = await upsert_remote_person(session, ap_id=ap_id, name="sender", domain="remote.example")
            person.public_key = keys.public_pem
    finally:
        await db.dispose()
    return ap_id, keys


def _reply(sender: str, post: dict[str, Any], community: str) -> dict[str, Any]:
    note = {
        "type": "Note",
        "id": f"http://remote.example/comment/{uuid.uuid4().hex}",
        "attributedTo": sender,
        "to": [PUBLIC],
        "cc": [community],
        "audience": community,
        "inReplyTo": post["ap_id"],
        "content": "<p>an inbound reply</p>",
        "mediaType": "text/html",
    }
    return {
        "id": f"http://remote.example/activities/create/{uuid.uuid4()}",
        "type": "Create",
        "actor": sender,
        "to": [PUBLIC],
        "cc": [community],
        "audience": community,
        "object": note,
    }


async def _deliver(http: httpx.AsyncClient, sender: str, keys: KeyPair, activity: dict[str, Any]) -> httpx.Response:
    body = json.dumps(activity).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers.update(
        sign_request("POST", f"http://{HOSTNAME}/inbox", headers, body, f"{sender}#main-key", keys.private_pem)
    )
    return await http.post("/inbox", content=body, headers=headers)


async def _comments(user: Api, post_id: int) -> list[str]:
    data = await user.ok_get("/comment/list", post_id=post_id, limit=50)
    return [c["comment"]["ap_id"] for c in data["comments"]]


async def test_inbound_reply_statements(http: httpx.AsyncClient, settings: Settings, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    sender, keys = await _remote_sender(settings)
    first = await _deliver(http, sender, keys, _reply(sender, post, community["actor_id"]))  # the caches warm
    assert first.status_code == 200, first.text
    activity = _reply(sender, post, community["actor_id"])
    async with count_queries() as statements:
        response = await _deliver(http, sender, keys, activity)
    assert response.json() == {"status": "ok"}
    names = _inbox_kinds(statements)
    inbox_part = [
        # The sender (its key, and the author), whether the activity was received (a redelivery is answered before
        # any other work), and the comment (an update?) and its thread, by id, each as a post and as a comment: one
        # statement (federation/resolve.py first_read).
        "SELECT person",
        "INSERT received_activity",  # the write: its id, checked by the insert itself (ON CONFLICT)
        # then the comment's own write (actions/comments.py) from here: it is not looked for again (the read above
        # found none; one stored meanwhile would fail the insert on its unique ap_id, and the retry looks). Its
        # target (the post, with its community) is read once: the announce after it reads nothing.
        "SELECT post",
        "INSERT comment",
    ]
    assert names[: len(inbox_part)] == inbox_part, names
    assert "SELECT community" not in names, names
    if backend() == "postgres":
        # The counters and the Announce (the reply, announced to the community's followers) are kept for the
        # COMMIT and go out with it in one round trip, the last (db/engine.py commit): the counters lock the
        # thread's post and community until the commit, so nothing is written after them (the notification,
        # flushed at the commit, kept every other reply to the thread waiting).
        assert names[-3:] == ["SELECT local_user", "INSERT comment_reply", "WITH counted_post"], names
        sent = statements[-1]
        assert sent.count("INSERT INTO sent_activity") == 1 and sent.endswith("; COMMIT"), sent
    else:  # SQLite runs them where they are asked for (one writer: nothing waits on its locks)
        assert names.count("INSERT sent_activity") == 1, names
        assert "INSERT comment_reply" in names[: names.index("UPDATE post")], names

    async with count_queries() as statements:
        again = await _deliver(http, sender, keys, activity)
    assert again.json() == {"status": "already received"}
    assert _inbox_kinds(statements) == ["SELECT person"]
    assert "received_activity" in statements[-1]
    assert (await _comments(user, post["id"])).count(activity["object"]["id"]) == 1


async def test_concurrent_redeliveries_apply_once(http: httpx.AsyncClient, settings: Settings, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    sender, keys = await _remote_sender(settings)
    activity = _reply(sender, post, community["actor_id"])
    responses = await asyncio.gather(*(_deliver(http, sender, keys, activity) for _ in range(4)))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    assert (await _comments(user, post["id"])).count(activity["object"]["id"]) == 1
    counts = (await user.ok_get("/post", id=post["id"]))["post_view"]["counts"]
    assert counts["comments"] == 1


async def test_the_first_read_of_a_reply_answers_its_lookup_once(settings: Settings, user: Api) -> None:
    """`Resolver.first_read` reads a reply's two ids with the sender; the one lookup of those ids that follows is
    answered from it, and any later one reads again (after a write of the activity's own it would be stale)."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    sender, _ = await _remote_sender(settings)
    reply = ("http://remote.example/comment/never-stored", post["ap_id"])
    db = Database(settings)
    try:
        resolver = Resolver(db, settings, fetch_policy(settings))
        async with count_queries() as statements, db.read() as session:
            received = await resolver.first_read(
                session, sender, f"http://remote.example/a/{uuid.uuid4()}", FirstRead(objects=reply)
            )
        assert received is False and len(statements) == 1
        stored = resolver.people[sender]
        assert stored is not None and stored.ap_id == sender
        async with count_queries() as statements:
            found = await resolver.find_two_objects(*reply)
        assert statements == [] and list(found) == [post["ap_id"]] and found[post["ap_id"]].id == post["id"]
        async with count_queries() as statements:
            again = await resolver.find_two_objects(*reply)
        assert len(statements) == 1 and list(again) == [post["ap_id"]]
        # Other ids than the read's are read, whatever was read first.
        other = Resolver(db, settings, fetch_policy(settings))
        async with db.read() as session:
            await other.first_read(session, sender, f"http://remote.example/a/{uuid.uuid4()}", FirstRead(objects=reply))
        async with count_queries() as statements:
            swapped = await other.find_two_objects(post["ap_id"], reply[0])
        assert len(statements) == 1 and {k: v.id for k, v in swapped.items()} == {post["ap_id"]: post["id"]}
    finally:
        await db.dispose()


@dataclass
class RemoteGroup:
    """A remote community (its key known) with a post by one remote person, and a second remote person."""

    ap_id: str
    keys: KeyPair
    post_id: int
    post_ap_id: str
    person_ap_id: str

    def announce(self, inner: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"http://remote.example/activities/announce/{uuid.uuid4()}",
            "type": "Announce",
            "actor": self.ap_id,
            "to": [PUBLIC],
            "cc": [f"{self.ap_id}/followers"],
            "object": inner,
        }


async def _remote_group(settings: Settings) -> RemoteGroup:
    tag = uuid.uuid4().hex[:8]
    keys = generate_keypair()
    group = f"http://remote.example/c/news{tag}"
    db = Database(settings)
    try:
        async with db.write() as session:
            community = await upsert_remote_community(session, ap_id=group, name=f"news{tag}", domain="remote.example")
            community.public_key = keys.public_pem
            writer = await upsert_remote_person(
                session, ap_id=f"http://remote.example/u/w{tag}", name=f"w{tag}", domain="remote.example"
            )
            person = await upsert_remote_person(
                session, ap_id=f"http://remote.example/u/v{tag}", name=f"v{tag}", domain="remote.example"
            )
            post = await post_actions.create_post(
                session, settings, RemoteActor(writer), community_id=community.id, name="Far", ap_id=f"{group}/p/1"
            )
            return RemoteGroup(group, keys, post.id, post.ap_id, person.ap_id)
    finally:
        await db.dispose()


async def test_announced_vote_statements(http: httpx.AsyncClient, settings: Settings, user: Api) -> None:
    """A vote a remote community announces (the commonest activity a server following Lemmy communities receives):
    the group (its key), whether the Announce and the vote it carries were received, the voter and the voted post,
    all in the first read; then the write (which reads the post locked). The same vote announced again changes
    nothing."""
    g = await _remote_group(settings)

    def announce(kind: str, inner_id: str | None = None) -> dict[str, Any]:
        inner = {
            "id": inner_id or f"http://remote.example/activities/like/{uuid.uuid4()}",
            "type": kind,
            "actor": g.person_ap_id,
            "object": g.post_ap_id,
            "audience": g.ap_id,
        }
        return g.announce(inner)

    first = await _deliver(http, g.ap_id, g.keys, announce("Like"))  # the caches warm
    assert first.json() == {"status": "ok"}, first.text
    vote = announce("Dislike")
    async with count_queries() as statements:
        response = await _deliver(http, g.ap_id, g.keys, vote)
    assert response.json() == {"status": "ok"}
    names = _inbox_kinds(statements)
    assert names[:3] == ["SELECT person", "INSERT received_activity", "SELECT post"], names
    assert "SELECT community" not in names and "SELECT received_activity" not in names, names
    assert names.count("SELECT person") == 1 and names.count("SELECT post") == 1, names
    # The vote it carries, announced again (another Announce id): the first read finds it received.
    async with count_queries() as statements:
        again = await _deliver(http, g.ap_id, g.keys, announce("Dislike", vote["object"]["id"]))
    assert again.json() == {"status": "ok"}
    assert _inbox_kinds(statements) == ["SELECT person", "INSERT received_activity"], _inbox_kinds(statements)
    counts = (await user.ok_get("/post", id=g.post_id))["post_view"]["counts"]
    assert (counts["upvotes"], counts["downvotes"]) == (1, 1)  # the author's own, and the remote voter's


async def test_announced_reply_statements(http: httpx.AsyncClient, settings: Settings, user: Api) -> None:
    """A reply a remote community announces: the group, the received flags, the author and the reply's thread in
    the first read, which the thread's community is checked with (R3: the group vouches for its own posts only);
    then the write."""
    g = await _remote_group(settings)
    note = {
        "type": "Note",
        "id": f"http://remote.example/comment/{uuid.uuid4().hex}",
        "attributedTo": g.person_ap_id,
        "to": [PUBLIC],
        "cc": [g.ap_id],
        "audience": g.ap_id,
        "inReplyTo": g.post_ap_id,
        "content": "<p>an announced reply</p>",
        "mediaType": "text/html",
    }
    create = {
        "id": f"http://remote.example/activities/create/{uuid.uuid4()}",
        "type": "Create",
        "actor": g.person_ap_id,
        "to": [PUBLIC],
        "cc": [g.ap_id],
        "audience": g.ap_id,
        "object": note,
    }
    async with count_queries() as statements:
        response = await _deliver(http, g.ap_id, g.keys, g.announce(create))
    assert response.json() == {"status": "ok"}, response.text
    names = _inbox_kinds(statements)
    # The thread read with the sender serves the R3 check and the reply's lookup; the write reads it locked.
    assert names[:3] == ["SELECT person", "INSERT received_activity", "SELECT post"], names
    assert "SELECT community" not in names and "SELECT received_activity" not in names, names
    assert note["id"] in await _comments(user, g.post_id)
