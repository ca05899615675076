"""Moderation across three real servers (tests/cluster.py: alpha, beta, gamma), over real HTTP with signatures.

A community lives on alpha (alice created it and moderates it). bob on beta and carol on gamma follow it, and
alice made bob a moderator, which alpha announced (Add to the moderators collection). Then: bob removes a post
through beta's API and alpha and gamma remove it too; alice's community ban reaches beta and gamma (and beta
then refuses the banned person's post); a report made on gamma reaches alpha's moderators; lock and feature
federate both ways; and an impostor (a signed activity by a non-moderator, from a server of the test's own)
is refused by alpha and stored nowhere. Delivery is asynchronous: every wait is a bounded poll."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cluster import (
    Client,
    Cluster,
    arrived_post,
    create_community,
    eventually,
    follow,
    resolve_community,
    running_cluster,
)
from test_federation_security import PUBLIC, FakeServer, send, signed_by

NODES = ("alpha", "beta", "gamma")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp, NODES) as running:
        yield running


@pytest.fixture(scope="module")
async def cluster(servers: Cluster) -> AsyncIterator[Cluster]:
    yield servers
    await servers.close_clients()


@dataclass
class World:
    alice: Client  # on alpha: created the community, its first moderator
    bob: Client  # on beta: a moderator, appointed by alice
    carol: Client  # on gamma: a follower
    actor_id: str  # the community's
    ids: dict[str, int]  # node -> the community's id there
    clients: dict[str, Client]  # node -> alice, bob, carol


async def moderators(client: Client, community_id: int) -> list[str]:
    view = await client.get("/community", id=community_id)
    return [m["moderator"]["actor_id"] for m in view["moderators"]]


@pytest.fixture(scope="module")
async def world(cluster: Cluster) -> World:
    alice, bob, carol = await asyncio.gather(*(cluster.register(n) for n in NODES))
    community = await create_community(alice, "mod")
    on_beta, on_gamma = await asyncio.gather(
        resolve_community(bob, community["name"], cluster["alpha"]),
        resolve_community(carol, community["name"], cluster["alpha"]),
    )
    ids = {"alpha": community["id"], "beta": on_beta["community"]["id"], "gamma": on_gamma["community"]["id"]}
    await asyncio.gather(follow(bob, ids["beta"]), follow(carol, ids["gamma"]))
    status, found = await alice.resolve(bob.handle)
    assert status == 200, found
    bob_on_alpha = found["person"]["person"]["id"]
    await alice.post("/community/mod", {"community_id": ids["alpha"], "person_id": bob_on_alpha, "added": True})
    for node, client in (("beta", bob), ("gamma", carol)):
        await eventually(
            lambda c=client, n=node: moderators_has(c, ids[n], bob.actor_id),
            what=f"bob listed as a moderator on {node}",
        )
    return World(alice, bob, carol, community["actor_id"], ids, {"alpha": alice, "beta": bob, "gamma": carol})


async def moderators_has(client: Client, community_id: int, actor_id: str) -> bool:
    return actor_id in await moderators(client, community_id)


async def post_everywhere(world: World, author: Client, node: str, title: str) -> dict[str, int]:
    """A post by `author` (on `node`) in the community, once it has arrived on all three servers: its ids."""
    created = await author.post("/post", {"name": title, "community_id": world.ids[node]})
    ap_id = created["post_view"]["post"]["ap_id"]
    ids = {node: created["post_view"]["post"]["id"]}
    for other, client in world.clients.items():
        if other != node:
            ids[other] = (await arrived_post(client, ap_id, world.ids[other]))["post"]["id"]
    return ids


async def post_of(cluster: Cluster, node: str, post_id: int) -> dict[str, Any]:
    """The post as the node's admin sees it (removed posts included)."""
    admin = await cluster.admin(node)
    view: dict[str, Any] = (await admin.get("/post", id=post_id))["post_view"]
    return view


async def until_post(cluster: Cluster, node: str, post_id: int, **want: Any) -> None:
    async def matches() -> bool:
        post = (await post_of(cluster, node, post_id))["post"]
        return all(post[key] == value for key, value in want.items())

    await eventually(matches, what=f"post {post_id} on {node} with {want}")


async def test_a_remote_moderator_removes_a_post_everywhere(cluster: Cluster, world: World) -> None:
    """bob removes carol's post through beta's API: beta sends Delete (with the reason as `summary`) to alpha,
    which checks that bob moderates the community, removes it and announces it on to gamma."""
    ids = await post_everywhere(world, world.carol, "gamma", "Spam from gamma")
    removed = await world.bob.post("/post/remove", {"post_id": ids["beta"], "removed": True, "reason": "spam"})
    assert removed["post_view"]["post"]["removed"] is True
    await asyncio.gather(
        until_post(cluster, "alpha", ids["alpha"], removed=True),
        until_post(cluster, "gamma", ids["gamma"], removed=True),
    )
    admin = await cluster.admin("alpha")
    modlog = await admin.get("/modlog", community_id=world.ids["alpha"], type_="ModRemovePost")
    entries = [e for e in modlog["removed_posts"] if e["post"]["id"] == ids["alpha"]]
    assert [(e["mod_remove_post"]["reason"], e["mod_remove_post"]["removed"]) for e in entries] == [("spam", True)]
    assert entries[0]["moderator"]["actor_id"] == world.bob.actor_id

    await world.bob.post("/post/remove", {"post_id": ids["beta"], "removed": False})
    await asyncio.gather(
        until_post(cluster, "alpha", ids["alpha"], removed=False),
        until_post(cluster, "gamma", ids["gamma"], removed=False),
    )


async def test_a_remote_moderator_removes_a_comment_everywhere(cluster: Cluster, world: World) -> None:
    ids = await post_everywhere(world, world.alice, "alpha", "A thread")
    created = await world.carol.post("/comment", {"post_id": ids["gamma"], "content": "rude words"})
    ap_id = created["comment_view"]["comment"]["ap_id"]

    async def comment_id(node: str) -> int | None:
        data = await (await cluster.admin(node)).get("/comment/list", post_id=ids[node], type_="All")
        return next((c["comment"]["id"] for c in data["comments"] if c["comment"]["ap_id"] == ap_id), None)

    on_beta = await eventually(lambda: comment_id("beta"), what="the comment on beta")
    on_alpha = await eventually(lambda: comment_id("alpha"), what="the comment on alpha")
    await world.bob.post("/comment/remove", {"comment_id": on_beta, "removed": True, "reason": "rude"})

    async def removed_on_alpha() -> bool:
        view = (await (await cluster.admin("alpha")).get("/comment", id=on_alpha))["comment_view"]
        return bool(view["comment"]["removed"])

    await eventually(removed_on_alpha, what="the comment removed on alpha")


async def test_a_community_ban_reaches_the_other_servers(cluster: Cluster, world: World) -> None:
    """alice bans dave (of beta) from her community: Block{target: community}, announced to beta and gamma.
    beta then refuses dave's new post itself (`banned_from_community`)."""
    dave = await cluster.register("beta", "dave")
    ids = await post_everywhere(world, dave, "beta", "Before the ban")
    dave_on_alpha = (await post_of(cluster, "alpha", ids["alpha"]))["creator"]["id"]
    body = {"community_id": world.ids["alpha"], "person_id": dave_on_alpha, "ban": True, "reason": "trolling"}
    banned = await world.alice.post("/community/ban_user", body)
    assert banned["banned"] is True

    async def banned_on(node: str) -> bool:
        return bool((await post_of(cluster, node, ids[node]))["creator_banned_from_community"])

    assert await banned_on("alpha")
    await eventually(lambda: banned_on("beta"), what="the ban on beta")
    await eventually(lambda: banned_on("gamma"), what="the ban on gamma")
    status, data = await dave.call("POST", "/post", {"name": "After the ban", "community_id": world.ids["beta"]})
    assert (status, data["error"]) == (400, "banned_from_community")
    admin = await cluster.admin("gamma")
    modlog = await admin.get("/modlog", community_id=world.ids["gamma"], type_="ModBanFromCommunity")
    assert [e["mod_ban_from_community"]["reason"] for e in modlog["banned_from_community"]] == ["trolling"]

    await world.alice.post("/community/ban_user", {**body, "ban": False})
    await eventually(lambda: _not(banned_on("beta")), what="the unban on beta")
    await eventually(lambda: _not(banned_on("gamma")), what="the unban on gamma")


async def _not(check: Any) -> bool:
    return not await check


async def test_a_site_ban_reaches_every_known_instance(cluster: Cluster, world: World) -> None:
    """alpha's admin bans erin, one of alpha's own people: Block{target: alpha's site} goes to every instance
    alpha knows, and beta and gamma mark her banned (with the expiry), then unbanned again."""
    erin = await cluster.register("alpha", "erin")
    ids = await post_everywhere(world, erin, "alpha", "Posted before a site ban")
    erin_id = (await post_of(cluster, "alpha", ids["alpha"]))["creator"]["id"]
    admin = await cluster.admin("alpha")
    expires = int(time.time()) + 86_400
    body = {"person_id": erin_id, "ban": True, "reason": "spam", "expires": expires}
    await admin.post("/user/ban", body)

    async def banned_on(node: str, want: bool) -> bool:
        creator = (await post_of(cluster, node, ids[node]))["creator"]
        return bool(creator["banned"] == want and (creator.get("ban_expires") is not None) == want)

    for node in ("beta", "gamma"):
        await eventually(lambda n=node: banned_on(n, True), what=f"the site ban on {node}")
    await admin.post("/user/ban", {**body, "ban": False})
    for node in ("beta", "gamma"):
        await eventually(lambda n=node: banned_on(n, False), what=f"the site unban on {node}")


async def test_a_ban_by_our_admins_is_not_lifted_by_the_persons_own_server(cluster: Cluster, world: World) -> None:
    """alpha's admin bans frank, a person of beta, for good. beta's admin then bans and unbans frank on beta, with
    his content: beta's Block and Undo{Block} reach alpha and are refused there (our admins' ban stands, and
    nothing of frank's is removed or restored here by another server)."""
    frank = await cluster.register("beta", "frank")
    ids = await post_everywhere(world, frank, "beta", "Posted by a person banned elsewhere")
    on_alpha = (await post_of(cluster, "alpha", ids["alpha"]))["creator"]["id"]
    on_beta = (await post_of(cluster, "beta", ids["beta"]))["creator"]["id"]
    alpha_admin, beta_admin = await cluster.admin("alpha"), await cluster.admin("beta")
    await alpha_admin.post("/user/ban", {"person_id": on_alpha, "ban": True, "reason": "spam here"})
    try:
        await beta_admin.post("/user/ban", {"person_id": on_beta, "ban": True, "remove_data": True})
        await beta_admin.post("/user/ban", {"person_id": on_beta, "ban": False, "remove_data": True})
        await cluster.drained("beta", "alpha")
        view = await post_of(cluster, "alpha", ids["alpha"])
        assert view["creator"]["banned"] is True
        assert view["post"]["removed"] is False
        modlog = await alpha_admin.get("/modlog", other_person_id=on_alpha, type_="ModBan")
        assert [entry["mod_ban"]["banned"] for entry in modlog["banned"]] == [True]
    finally:
        await alpha_admin.post("/user/ban", {"person_id": on_alpha, "ban": False})


async def test_a_report_made_on_gamma_reaches_alphas_moderators(cluster: Cluster, world: World) -> None:
    ids = await post_everywhere(world, world.alice, "alpha", "Reported from afar")
    reason = f"off topic {uuid.uuid4().hex[:6]}"
    report = await world.carol.post("/post/report", {"post_id": ids["gamma"], "reason": reason})
    assert report["post_report_view"]["post_report"]["reason"] == reason

    async def listed() -> list[dict[str, Any]]:
        data = await world.alice.get("/post/report/list", community_id=world.ids["alpha"])
        return [r for r in data["post_reports"] if r["post_report"]["reason"] == reason]

    found = await eventually(listed, what="the report on alpha")
    assert found[0]["post"]["id"] == ids["alpha"]
    assert found[0]["creator"]["actor_id"] == world.carol.actor_id
    assert found[0]["post_report"]["resolved"] is False


async def test_lock_and_feature_federate(cluster: Cluster, world: World) -> None:
    """alice (the community's own server) locks; bob (a moderator on another server) features and unlocks."""
    ids = await post_everywhere(world, world.alice, "alpha", "Lock and pin me")
    await world.alice.post("/post/lock", {"post_id": ids["alpha"], "locked": True})
    await asyncio.gather(
        until_post(cluster, "beta", ids["beta"], locked=True), until_post(cluster, "gamma", ids["gamma"], locked=True)
    )
    status, data = await world.carol.call("POST", "/comment", {"post_id": ids["gamma"], "content": "too late"})
    assert (status, data["error"]) == (400, "locked")

    body = {"post_id": ids["beta"], "featured": True, "feature_type": "Community"}
    await world.bob.post("/post/feature", body)
    await asyncio.gather(
        until_post(cluster, "alpha", ids["alpha"], featured_community=True),
        until_post(cluster, "gamma", ids["gamma"], featured_community=True),
    )
    await world.bob.post("/post/lock", {"post_id": ids["beta"], "locked": False})
    await world.bob.post("/post/feature", {**body, "featured": False})
    await asyncio.gather(
        until_post(cluster, "alpha", ids["alpha"], locked=False, featured_community=False),
        until_post(cluster, "gamma", ids["gamma"], locked=False, featured_community=False),
    )


async def admitted(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response | None:
    """The answer once the instance lists let the sender in: a request that raced the allowlist's change may
    still meet the lists cached a moment before (403, nothing stored), so it is sent again, bounded."""
    response = await send(url, body, headers)
    return None if response.status_code == 403 else response


@pytest.fixture(scope="module")
def impostor_server() -> Iterator[FakeServer]:
    fake = FakeServer("127.0.2.9")
    fake.start()
    yield fake
    fake.stop()


async def test_an_impostors_moderation_is_refused_and_stored_nowhere(
    cluster: Cluster, world: World, impostor_server: FakeServer
) -> None:
    """mallory (a person on a server of the test's own, signing properly) is no moderator: her Delete with a
    reason, Lock, Add to the featured collection and Block are each refused by alpha's access gate, and nothing
    of them is stored (the same activity sent again is refused again, not "already received")."""
    ids = await post_everywhere(world, world.alice, "alpha", "Target of an impostor")
    status, data = await world.carol.call("POST", "/post/lock", {"post_id": ids["gamma"], "locked": True})
    assert (status, data["error"]) == (400, "not_a_mod_or_admin")  # gamma's own API refuses her too
    admin = await cluster.admin("alpha")
    allowed = (await admin.get("/federated_instances"))["federated_instances"]["allowed"]
    hosts = [i["domain"] for i in allowed]
    await admin.put("/site", {"allowed_instances": [*hosts, impostor_server.host]})
    try:
        mallory = impostor_server.actor(f"mallory{uuid.uuid4().hex[:6]}")
        post_ap_id = (await post_of(cluster, "alpha", ids["alpha"]))["post"]["ap_id"]
        community = world.actor_id
        carol_id = world.carol.actor_id

        def activity(kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
            return {
                "id": mallory.new_id(kind),
                "type": kind,
                "actor": mallory.ap_id,
                "to": [PUBLIC],
                "cc": [community],
                "audience": community,
                "object": obj,
                **extra,
            }

        attempts = [
            activity("Delete", post_ap_id, summary="I say so"),
            activity("Lock", post_ap_id),
            activity("Add", post_ap_id, target=f"{community}/featured"),
            activity("Block", carol_id, target=community, summary="I say so", removeData=True),
            activity("Undo", activity("Lock", post_ap_id)),
        ]
        # Signed for alpha's own name (the Host it checks), sent to its address.
        path = f"/c/{community.rsplit('/', 1)[1]}/inbox"
        inbox, address = f"{cluster['alpha'].origin}{path}", f"{cluster['alpha'].base}{path}"
        for attempt in attempts:
            for _ in range(2):
                response = await eventually(lambda a=attempt: admitted(address, *signed_by(mallory, inbox, a)))
                assert response.status_code == 400, (attempt["type"], response.text)
                assert "not_a_mod_or_admin" in response.text, (attempt["type"], response.text)
        view = await post_of(cluster, "alpha", ids["alpha"])
        assert (view["post"]["removed"], view["post"]["locked"], view["post"]["featured_community"]) == (
            False,
            False,
            False,
        )
        modlog = await admin.get("/modlog", community_id=world.ids["alpha"])
        assert mallory.ap_id not in str(modlog)
        # Nothing went on to gamma: once alpha's delivery to gamma has passed a later marker, gamma's copy is as it was.
        await cluster.drained("alpha", "gamma")
        on_gamma = (await post_of(cluster, "gamma", ids["gamma"]))["post"]
        assert (on_gamma["removed"], on_gamma["locked"], on_gamma["featured_community"]) == (False, False, False)
    finally:
        await admin.put("/site", {"allowed_instances": hosts})
