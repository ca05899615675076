"""Three Moot servers, as separate processes on their own loopback addresses, federating over real HTTP.

alpha hosts the community; beta and gamma follow it. Every activity travels signed, through each server's
outbox, delivery task and inbox: nothing here calls into a server except over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    DatabaseUnderTest,
    ServerProcess,
    drop_database,
    free_port,
    make_database,
    start_server,
    stop_server,
    unique,
)

PASSWORD = "federation-pass-1"
FED_ENV = {"MOOT_FEDERATION_DEBUG": "true", "MOOT_RUN_JOBS": "false"}


@dataclass
class Node:
    name: str
    host: str
    port: int
    db: DatabaseUnderTest
    server: ServerProcess

    @property
    def domain(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def base(self) -> str:
        return f"http://{self.domain}"

    def restart(self) -> None:
        self.server = start_server(self.db, self.port, FED_ENV, host=self.host)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    started: dict[str, Node] = {}
    try:
        for name, host in (("alpha", "127.0.0.2"), ("beta", "127.0.0.3"), ("gamma", "127.0.0.4")):
            db = make_database(tmp_path_factory.mktemp(name))
            port = free_port()
            started[name] = Node(name, host, port, db, start_server(db, port, FED_ENV, host=host))
        yield started
    finally:
        for node in started.values():
            if node.server.process.poll() is None:
                stop_server(node.server)
            drop_database(node.db)


class Client:
    """A logged-in person on one node, speaking the v3 API."""

    def __init__(self, node: Node, jwt: str, name: str) -> None:
        self.node = node
        self.name = name
        self.http = httpx.AsyncClient(base_url=f"{node.base}/api/v3", headers={"Authorization": f"Bearer {jwt}"})

    async def get(self, path: str, **params: Any) -> Any:
        clean = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items() if v is not None}
        r = await self.http.get(path, params=clean)
        assert r.status_code == 200, (self.node.name, path, r.status_code, r.text)
        return r.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        r = await self.http.post(path, json=body)
        assert r.status_code == 200, (self.node.name, path, r.status_code, r.text)
        return r.json()

    async def put(self, path: str, body: dict[str, Any]) -> Any:
        r = await self.http.put(path, json=body)
        assert r.status_code == 200, (self.node.name, path, r.status_code, r.text)
        return r.json()


async def login(node: Node, name: str, password: str) -> Client:
    async with httpx.AsyncClient(base_url=f"{node.base}/api/v3") as http:
        r = await http.post("/user/login", json={"username_or_email": name, "password": password})
        assert r.status_code == 200, r.text
        return Client(node, r.json()["jwt"], name)


async def person(node: Node) -> Client:
    admin = await login(node, ADMIN_NAME, ADMIN_PASSWORD)
    await admin.put(
        "/site",
        {f"rate_limit_{bucket}": 10_000 for bucket in ("register", "post", "comment", "message")},
    )
    name = unique(node.name[:3])
    async with httpx.AsyncClient(base_url=f"{node.base}/api/v3") as http:
        r = await http.post(
            "/user/register", json={"username": name, "password": PASSWORD, "password_verify": PASSWORD}
        )
        assert r.status_code == 200, r.text
        return Client(node, r.json()["jwt"], name)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:  # noqa: ASYNC109
    """Poll until `check` returns something truthy (federation is asynchronous by design)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
            if last:
                return last
        except (AssertionError, KeyError, IndexError) as exc:
            last = exc
        await asyncio.sleep(0.25)
    raise AssertionError(f"condition not met in {timeout}s; last result: {last!r}")


async def resolve_community(client: Client, name: str, home: Node) -> dict[str, Any]:
    data = await client.get("/resolve_object", q=f"!{name}@{home.domain}")
    community: dict[str, Any] = data["community"]["community"]
    return community


async def follow(client: Client, name: str, home: Node) -> int:
    community = await resolve_community(client, name, home)
    followed = await client.post("/community/follow", {"community_id": community["id"], "follow": True})
    assert followed["community_view"]["subscribed"] in ("Pending", "Subscribed")

    async def accepted() -> bool:
        view = await client.get("/community", id=community["id"])
        return bool(view["community_view"]["subscribed"] == "Subscribed")

    await eventually(accepted)
    return int(community["id"])


async def find_post(client: Client, ap_id: str, community_id: int) -> dict[str, Any] | None:
    """The post as this server has it from delivery: looked up in the community's listing, never fetched
    (resolve_object would fetch it from its origin and hide a delivery that never happened)."""
    listed = await client.get("/post/list", community_id=community_id, sort="New", limit=50)
    for view in listed["posts"]:
        if view["post"]["ap_id"] == ap_id:
            found: dict[str, Any] = view
            return found
    return None


async def comments_on(client: Client, post_id: int) -> list[dict[str, Any]]:
    data = await client.get("/comment/list", post_id=post_id, max_depth=50, sort="Old")
    return list(data["comments"])


@dataclass
class World:
    alice: Client  # on alpha, moderates the community
    bob: Client  # on beta
    carol: Client  # on gamma
    community: str
    beta_community_id: int
    gamma_community_id: int


@pytest.fixture(scope="module")
async def world(nodes: dict[str, Node]) -> World:
    alpha, beta, gamma = nodes["alpha"], nodes["beta"], nodes["gamma"]
    alice, bob, carol = await person(alpha), await person(beta), await person(gamma)
    name = unique("news")
    await alice.post("/community", {"name": name, "title": "Federated news"})
    beta_id = await follow(bob, name, alpha)
    gamma_id = await follow(carol, name, alpha)
    return World(alice, bob, carol, name, beta_id, gamma_id)


async def test_remote_follow_counts_on_the_home_server(world: World) -> None:
    view = await world.alice.get("/community", name=world.community)
    assert view["community_view"]["counts"]["subscribers"] == 3


async def test_post_reaches_every_follower(world: World) -> None:
    created = await world.alice.post(
        "/post",
        {
            "name": "Federation works",
            "community_id": (await world.alice.get("/community", name=world.community))["community_view"]["community"][
                "id"
            ],
            "url": "https://example.org/fed",
            "body": "Hello *fediverse*",
        },
    )
    ap_id = created["post_view"]["post"]["ap_id"]
    for client, local_id in ((world.bob, world.beta_community_id), (world.carol, world.gamma_community_id)):
        post = await eventually(lambda c=client, i=local_id: find_post(c, ap_id, i))
        assert post["post"]["name"] == "Federation works"
        assert post["post"]["url"] == "https://example.org/fed"
        assert post["post"]["body"] == "Hello *fediverse*"
        assert post["post"]["local"] is False
        assert post["creator"]["name"] == world.alice.name


async def _new_post(world: World, title: str) -> tuple[str, dict[str, int]]:
    """A post by alice, and its id on each server once it has arrived."""
    community_id = (await world.alice.get("/community", name=world.community))["community_view"]["community"]["id"]
    created = await world.alice.post("/post", {"name": title, "community_id": community_id})
    ap_id = created["post_view"]["post"]["ap_id"]
    ids = {"alpha": created["post_view"]["post"]["id"]}
    for key, client, local_id in (
        ("beta", world.bob, world.beta_community_id),
        ("gamma", world.carol, world.gamma_community_id),
    ):
        post = await eventually(lambda c=client, i=local_id: find_post(c, ap_id, i))
        ids[key] = post["post"]["id"]
    return ap_id, ids


async def test_comment_by_remote_person_is_announced_to_third_server(world: World) -> None:
    _, ids = await _new_post(world, "Discuss this")
    comment = await world.bob.post("/comment", {"post_id": ids["beta"], "content": "> quoted\n\nA reply from beta"})
    ap_id = comment["comment_view"]["comment"]["ap_id"]

    async def arrived(client: Client, post_id: int) -> list[dict[str, Any]]:
        return [c for c in await comments_on(client, post_id) if c["comment"]["ap_id"] == ap_id]

    on_alpha = await eventually(lambda: arrived(world.alice, ids["alpha"]))
    on_gamma = await eventually(lambda: arrived(world.carol, ids["gamma"]))
    assert on_alpha[0]["comment"]["content"] == "> quoted\n\nA reply from beta"
    assert on_gamma[0]["creator"]["name"] == world.bob.name
    reply = await world.carol.post(
        "/comment", {"post_id": ids["gamma"], "parent_id": on_gamma[0]["comment"]["id"], "content": "From gamma"}
    )
    reply_ap_id = reply["comment_view"]["comment"]["ap_id"]

    async def reply_on_beta() -> list[dict[str, Any]]:
        return [c for c in await comments_on(world.bob, ids["beta"]) if c["comment"]["ap_id"] == reply_ap_id]

    found = await eventually(reply_on_beta)
    assert found[0]["comment"]["path"].count(".") == 2
    # The reply lands in bob's inbox on beta.
    replies = await world.bob.get("/user/replies", unread_only=True)
    assert reply_ap_id in [r["comment"]["ap_id"] for r in replies["replies"]]


async def test_votes_and_their_undo(world: World) -> None:
    _ap_id, ids = await _new_post(world, "Vote on me")
    await world.carol.post("/post/like", {"post_id": ids["gamma"], "score": 1})
    await world.bob.post("/post/like", {"post_id": ids["beta"], "score": -1})

    async def score_on(client: Client, post_id: int, expected: tuple[int, int]) -> bool:
        counts = (await client.get("/post", id=post_id))["post_view"]["counts"]
        return (counts["upvotes"], counts["downvotes"]) == expected

    await eventually(lambda: score_on(world.alice, ids["alpha"], (2, 1)))
    await eventually(lambda: score_on(world.bob, ids["beta"], (2, 1)))
    # A changed vote goes out as the new vote alone (as Lemmy sends it): the other servers replace carol's.
    await world.carol.post("/post/like", {"post_id": ids["gamma"], "score": -1})
    await eventually(lambda: score_on(world.alice, ids["alpha"], (1, 2)))
    await eventually(lambda: score_on(world.bob, ids["beta"], (1, 2)))
    await world.carol.post("/post/like", {"post_id": ids["gamma"], "score": 0})
    await world.bob.post("/post/like", {"post_id": ids["beta"], "score": 0})
    await eventually(lambda: score_on(world.alice, ids["alpha"], (1, 0)))
    await eventually(lambda: score_on(world.carol, ids["gamma"], (1, 0)))


async def test_edit_delete_and_restore(world: World) -> None:
    _ap_id, ids = await _new_post(world, "Soon edited")
    await world.alice.put("/post", {"post_id": ids["alpha"], "name": "Edited title", "body": "new body"})

    async def edited() -> bool:
        post = (await world.bob.get("/post", id=ids["beta"]))["post_view"]["post"]
        return bool(post["name"] == "Edited title" and post.get("body") == "new body")

    await eventually(edited)
    await world.alice.post("/post/delete", {"post_id": ids["alpha"], "deleted": True})

    async def deleted(flag: bool) -> bool:
        post = (await world.carol.get("/post", id=ids["gamma"]))["post_view"]["post"]
        return bool(post["deleted"] is flag)

    await eventually(lambda: deleted(True))
    await world.alice.post("/post/delete", {"post_id": ids["alpha"], "deleted": False})
    await eventually(lambda: deleted(False))


async def test_mention_reaches_the_mentioned_person(world: World) -> None:
    _, ids = await _new_post(world, "Mention test")
    text = f"Hey @{world.carol.name}@{world.carol.node.domain}, look"
    await world.bob.post("/comment", {"post_id": ids["beta"], "content": text})

    async def mentioned() -> bool:
        data = await world.carol.get("/user/mention", unread_only=True)
        return any(m["comment"]["content"] == text for m in data["mentions"])

    await eventually(mentioned)


async def test_reply_to_a_parent_the_receiver_never_saw(nodes: dict[str, Node], world: World) -> None:
    alpha, gamma = nodes["alpha"], nodes["gamma"]
    name = unique("quiet")
    community = (await world.alice.post("/community", {"name": name, "title": "Quiet"}))["community_view"]["community"]
    post = (await world.alice.post("/post", {"name": "Before you came", "community_id": community["id"]}))["post_view"]
    first = await world.alice.post("/comment", {"post_id": post["post"]["id"], "content": "Old comment"})
    second = await world.alice.post(
        "/comment",
        {"post_id": post["post"]["id"], "parent_id": first["comment_view"]["comment"]["id"], "content": "Old reply"},
    )
    # gamma follows only now: it has seen none of the above.
    dave = await person(gamma)
    dave_community_id = await follow(dave, name, alpha)
    newest = await world.alice.post(
        "/comment",
        {"post_id": post["post"]["id"], "parent_id": second["comment_view"]["comment"]["id"], "content": "New reply"},
    )
    newest_ap_id = newest["comment_view"]["comment"]["ap_id"]

    async def whole_chain() -> list[dict[str, Any]]:
        found = await find_post(dave, post["post"]["ap_id"], dave_community_id)
        if found is None:
            return []
        chain = await comments_on(dave, found["post"]["id"])
        # The ancestors are stored one by one, top-down: wait until the newest reply has landed too.
        return chain if newest_ap_id in [c["comment"]["ap_id"] for c in chain] else []

    chain = await eventually(whole_chain)
    assert [c["comment"]["content"] for c in chain] == ["Old comment", "Old reply", "New reply"]
    assert chain[-1]["comment"]["ap_id"] == newest_ap_id


async def test_server_down_catches_up_with_nothing_lost(nodes: dict[str, Node], world: World) -> None:
    gamma = nodes["gamma"]
    stop_server(gamma.server)
    community_id = (await world.alice.get("/community", name=world.community))["community_view"]["community"]["id"]
    titles = [f"While gamma slept {i}" for i in range(3)]
    ap_ids = []
    for title in titles:
        created = await world.alice.post("/post", {"name": title, "community_id": community_id})
        ap_ids.append(created["post_view"]["post"]["ap_id"])
    await asyncio.sleep(1.0)  # delivery to gamma fails and backs off meanwhile
    gamma.restart()
    carol = await login(gamma, world.carol.name, PASSWORD)
    for ap_id in ap_ids:
        await eventually(lambda a=ap_id: find_post(carol, a, world.gamma_community_id), timeout=60)
    listed = await carol.get("/post/list", community_id=world.gamma_community_id, sort="New", limit=50)
    names = [p["post"]["name"] for p in listed["posts"]]
    for title in titles:
        assert names.count(title) == 1


async def test_server_killed_mid_delivery_loses_and_duplicates_nothing(nodes: dict[str, Node], world: World) -> None:
    alpha = nodes["alpha"]
    _, ids = await _new_post(world, "Busy thread")
    contents = [f"burst {i}" for i in range(25)]
    for text in contents:
        await world.alice.post("/comment", {"post_id": ids["alpha"], "content": text})
    # Kill alpha without warning while its delivery tasks are working through the burst.
    os.kill(alpha.server.process.pid, signal.SIGKILL)
    alpha.server.process.wait()
    alpha.restart()

    async def all_there() -> bool:
        seen = [c["comment"]["content"] for c in await comments_on(world.bob, ids["beta"])]
        return all(text in seen for text in contents)

    await eventually(all_there, timeout=60)
    seen = [c["comment"]["content"] for c in await comments_on(world.bob, ids["beta"])]
    assert sorted(seen) == sorted(contents)


async def test_federated_instances_lists_peers_with_delivery_state(world: World) -> None:
    from lemmy_shapes import assert_shape

    data = await world.alice.get("/federated_instances")
    assert_shape(data, "GetFederatedInstancesResponse")
    linked = {i["domain"]: i for i in data["federated_instances"]["linked"]}
    assert world.bob.node.domain in linked
    assert world.carol.node.domain in linked
    state = linked[world.bob.node.domain]["federation_state"]
    assert state["last_successful_id"] > 0


async def test_blocked_instance_is_refused(nodes: dict[str, Node], world: World) -> None:
    admin = await login(nodes["alpha"], ADMIN_NAME, ADMIN_PASSWORD)
    _, ids = await _new_post(world, "Block check")
    await admin.put("/site", {"blocked_instances": [nodes["gamma"].host]})
    try:
        blocked = (await admin.get("/federated_instances"))["federated_instances"]["blocked"]
        assert [i["domain"] for i in blocked] == [nodes["gamma"].host]
        text = "This comes from a blocked instance"
        sent = (await world.carol.post("/comment", {"post_id": ids["gamma"], "content": text}))["comment_view"]
        published = datetime.fromisoformat(sent["comment"]["published"])

        async def delivered_to_alpha() -> bool:
            # gamma's delivery to alpha has passed the comment: alpha answered (a refusal is final, so the
            # cursor moves on) rather than the comment still being on its way.
            instances = (await world.carol.get("/federated_instances"))["federated_instances"]["linked"]
            state = next(i for i in instances if i["domain"] == nodes["alpha"].domain).get("federation_state") or {}
            done = state.get("last_successful_published_time")
            return done is not None and datetime.fromisoformat(done) >= published

        await eventually(delivered_to_alpha)
        assert text not in [c["comment"]["content"] for c in await comments_on(world.alice, ids["alpha"])]
    finally:
        await admin.put("/site", {"blocked_instances": []})


async def test_resolving_a_community_backfills_its_latest_posts(nodes: dict[str, Node], world: World) -> None:
    name = unique("archive")
    community = (await world.alice.post("/community", {"name": name, "title": "Archive"}))["community_view"]
    titles = [f"Archived {i}" for i in range(3)]
    for title in titles:
        await world.alice.post("/post", {"name": title, "community_id": community["community"]["id"]})
    # Nobody on gamma has seen this community: resolving it brings its outbox along.
    found = await resolve_community(world.carol, name, nodes["alpha"])
    listed = await world.carol.get("/post/list", community_id=found["id"], sort="New")
    assert sorted(p["post"]["name"] for p in listed["posts"]) == sorted(titles)
