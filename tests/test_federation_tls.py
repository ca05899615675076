"""Federation as it runs in production: HTTPS on port 443, bare host names, MOOT_FEDERATION_DEBUG off.

alpha hosts a community that beta and gamma follow (tests/tls_cluster.py has the cluster: a CA made by the test,
each server on port 443 of its own loopback address, names resolved by MOOT_FEDERATION_HOSTS, those addresses let
through the guard by MOOT_FEDERATION_ALLOW_ADDRESSES and nothing else). mallory.test is an HTTPS server under the
test's control that serves an actor whose key the test signs with. delta.test:8443 is the one server with the
debug switch on and a port in its host name: it carries the two regression tests of issue 17."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ADMIN_NAME, ADMIN_PASSWORD, unique
from moot.federation.fetch import FetchError, fetch_json
from moot.federation.netguard import is_allowed_address, parse_host_map, parse_networks
from moot.federation.service import fetch_policy
from moot.settings import load_settings
from test_federation import eventually
from tls_cluster import (
    PASSWORD,
    ActorHost,
    CertificateAuthority,
    Client,
    TlsCluster,
    TlsNode,
    cluster_fixture,
    login,
    person,
)

AP = "application/activity+json"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsCluster]:
    yield from cluster_fixture(tmp_path_factory.mktemp("tls"), ["alpha", "beta", "gamma", "delta", "mallory"])


@pytest.fixture(scope="module")
def nodes(cluster: TlsCluster) -> dict[str, TlsNode]:
    alpha, beta, gamma = cluster.node("alpha"), cluster.node("beta"), cluster.node("gamma")
    # Regression (a) and (b): debug on AND TLS, and a host name with a port.
    delta = cluster.node("delta", port=8443, listen_port=8443, env={"MOOT_FEDERATION_DEBUG": "true"})
    cluster.start(alpha, beta, gamma, delta)
    return cluster.nodes


@pytest.fixture(scope="module")
def mallory_host(cluster: TlsCluster) -> Iterator[ActorHost]:
    host = ActorHost(cluster, "mallory")
    host.start()
    yield host
    host.stop()


@dataclass
class World:
    alice: Client  # on alpha, moderates the community
    bob: Client  # on beta
    carol: Client  # on gamma
    community: dict[str, Any]  # on alpha
    beta_community_id: int
    gamma_community_id: int


async def follow(client: Client, ref: str) -> int:
    """Follow `ref` (`!name@host`) and wait for the home server's Accept."""
    community = (await client.get("/resolve_object", q=ref))["community"]["community"]
    await client.post("/community/follow", {"community_id": community["id"], "follow": True})

    async def accepted() -> bool:
        view = await client.get("/community", id=community["id"])
        return bool(view["community_view"]["subscribed"] == "Subscribed")

    await eventually(accepted)
    return int(community["id"])


@pytest.fixture(scope="module")
async def world(nodes: dict[str, TlsNode]) -> World:
    alice, bob, carol = await person(nodes["alpha"]), await person(nodes["beta"]), await person(nodes["gamma"])
    name = unique("tls")
    community = (await alice.post("/community", {"name": name, "title": "Over TLS"}))["community_view"]["community"]
    # Both at once: each Accept waits for alpha's delivery to notice a new instance (5 s in production timing).
    beta_id, gamma_id = await asyncio.gather(follow(bob, f"!{name}@alpha.test"), follow(carol, f"!{name}@alpha.test"))
    return World(alice, bob, carol, community, beta_id, gamma_id)


async def find_post(client: Client, ap_id: str, community_id: int) -> dict[str, Any] | None:
    """The post as delivered (looked up in the listing, never fetched: a fetch would hide a lost delivery)."""
    listed = await client.get("/post/list", community_id=community_id, sort="New", limit=50)
    return next((view for view in listed["posts"] if view["post"]["ap_id"] == ap_id), None)


async def comments_on(client: Client, post_id: int) -> list[dict[str, Any]]:
    return list((await client.get("/comment/list", post_id=post_id, max_depth=50, sort="Old"))["comments"])


async def new_post(world: World, title: str) -> tuple[str, dict[str, int]]:
    """A post by alice, and its id on each server once delivery has brought it there."""
    created = await world.alice.post("/post", {"name": title, "community_id": world.community["id"]})
    ap_id = created["post_view"]["post"]["ap_id"]
    ids = {"alpha": created["post_view"]["post"]["id"]}
    for key, client, local_id in (
        ("beta", world.bob, world.beta_community_id),
        ("gamma", world.carol, world.gamma_community_id),
    ):
        ids[key] = (await eventually(lambda c=client, i=local_id: find_post(c, ap_id, i)))["post"]["id"]
    return ap_id, ids


# ------------------------------------------------------------------ what a peer sees


async def test_every_server_runs_without_the_debug_switch(nodes: dict[str, TlsNode]) -> None:
    for name in ("alpha", "beta", "gamma"):
        env = nodes[name].server_env()
        assert env["MOOT_FEDERATION_DEBUG"] == "false"
        assert env["MOOT_HOSTNAME"] == f"{name}.test"
        assert env["MOOT_TLS_ENABLED"] == "true"


async def test_ids_are_https_on_the_bare_host(world: World) -> None:
    assert world.community["actor_id"] == f"https://alpha.test/c/{world.community['name']}"
    async with world.alice.node.cluster.http("https://alpha.test") as http:
        r = await http.get(f"/c/{world.community['name']}", headers={"Accept": AP})
    assert r.status_code == 200
    group = r.json()
    assert group["id"] == world.community["actor_id"]
    assert group["inbox"].startswith("https://alpha.test/")
    assert group["publicKey"]["owner"] == group["id"]


async def test_webfinger_and_nodeinfo_over_tls(world: World) -> None:
    name = world.community["name"]
    async with world.alice.node.cluster.http("https://alpha.test") as http:
        finger = await http.get("/.well-known/webfinger", params={"resource": f"acct:{name}@alpha.test"})
        assert finger.status_code == 200
        assert finger.json()["subject"] == f"acct:{name}@alpha.test"
        selves = [link["href"] for link in finger.json()["links"] if link.get("rel") == "self"]
        assert selves == [f"https://alpha.test/c/{name}"]
        wrong_host = await http.get("/.well-known/webfinger", params={"resource": f"acct:{name}@beta.test"})
        assert wrong_host.status_code == 404
        index = (await http.get("/.well-known/nodeinfo")).json()
        hrefs = [link["href"] for link in index["links"]]
        assert "https://alpha.test/nodeinfo/2.1" in hrefs
        nodeinfo = (await http.get(httpx.URL(hrefs[-1]).path)).json()
        assert nodeinfo["software"]["name"] == "moot"
        assert nodeinfo["protocols"] == ["activitypub"]


async def test_follow_over_tls_is_subscribed_and_counted(world: World) -> None:
    view = await world.alice.get("/community", id=world.community["id"])
    assert view["community_view"]["counts"]["subscribers"] == 3
    linked = (await world.alice.get("/federated_instances"))["federated_instances"]["linked"]
    assert {"beta.test", "gamma.test"} <= {i["domain"] for i in linked}


async def test_resolve_by_name_and_by_url(world: World) -> None:
    # A community nobody on beta follows: everything below is fetched, not delivered.
    quiet = (await world.alice.post("/community", {"name": unique("quiet"), "title": "Quiet"}))["community_view"]
    post = await world.alice.post("/post", {"name": "Fetched", "community_id": quiet["community"]["id"]})
    by_name = (await world.bob.get("/resolve_object", q=f"!{quiet['community']['name']}@alpha.test"))["community"]
    assert by_name["community"]["actor_id"] == quiet["community"]["actor_id"]
    by_url = (await world.bob.get("/resolve_object", q=quiet["community"]["actor_id"]))["community"]
    assert by_url["community"]["id"] == by_name["community"]["id"]
    fetched = (await world.bob.get("/resolve_object", q=post["post_view"]["post"]["ap_id"]))["post"]
    assert fetched["post"]["name"] == "Fetched"
    assert fetched["post"]["local"] is False
    someone = (await world.bob.get("/resolve_object", q=f"@{world.alice.name}@alpha.test"))["person"]
    assert someone["person"]["actor_id"] == f"https://alpha.test/u/{world.alice.name}"


# ------------------------------------------------------------------ round trips


async def test_post_comment_and_announce_round_trip(world: World) -> None:
    _, ids = await new_post(world, "Federation over TLS")
    comment = await world.bob.post("/comment", {"post_id": ids["beta"], "content": "From beta, over TLS"})
    ap_id = comment["comment_view"]["comment"]["ap_id"]
    assert ap_id.startswith("https://beta.test/comment/")

    async def arrived(client: Client, post_id: int) -> list[dict[str, Any]]:
        return [c for c in await comments_on(client, post_id) if c["comment"]["ap_id"] == ap_id]

    on_alpha = await eventually(lambda: arrived(world.alice, ids["alpha"]))
    on_gamma = await eventually(lambda: arrived(world.carol, ids["gamma"]))  # announced by alpha
    assert on_alpha[0]["comment"]["content"] == "From beta, over TLS"
    assert on_gamma[0]["creator"]["actor_id"] == f"https://beta.test/u/{world.bob.name}"


async def test_votes_edits_and_deletes_round_trip(world: World) -> None:
    _, ids = await new_post(world, "Vote, edit, delete")
    await world.carol.post("/post/like", {"post_id": ids["gamma"], "score": 1})
    await world.bob.post("/post/like", {"post_id": ids["beta"], "score": -1})

    async def counts_on(client: Client, post_id: int, expected: tuple[int, int]) -> bool:
        counts = (await client.get("/post", id=post_id))["post_view"]["counts"]
        return (counts["upvotes"], counts["downvotes"]) == expected

    await eventually(lambda: counts_on(world.alice, ids["alpha"], (2, 1)))
    await eventually(lambda: counts_on(world.bob, ids["beta"], (2, 1)))
    await world.alice.put("/post", {"post_id": ids["alpha"], "name": "Edited over TLS", "body": "new body"})

    async def edited() -> bool:
        post = (await world.carol.get("/post", id=ids["gamma"]))["post_view"]["post"]
        return bool(post["name"] == "Edited over TLS" and post.get("body") == "new body")

    await eventually(edited)
    await world.alice.post("/post/delete", {"post_id": ids["alpha"], "deleted": True})

    async def deleted_on_beta() -> bool:
        return bool((await world.bob.get("/post", id=ids["beta"]))["post_view"]["post"]["deleted"])

    await eventually(deleted_on_beta)


# ------------------------------------------------------------------ signatures, the guard and the certificates


async def test_signed_activity_from_another_implementation_over_tls(world: World, mallory_host: ActorHost) -> None:
    """alpha (debug off) fetches mallory's key over https on port 443 of an allowlisted address, accepts a
    correctly signed Follow, answers with an Accept POSTed to mallory's inbox, and refuses a tampered body."""
    mallory = mallory_host.person(unique("mal"))
    group = world.community["actor_id"]
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{mallory_host.base}/activities/follow/{uuid.uuid4()}",
        "type": "Follow",
        "actor": mallory.ap_id,
        "object": group,
    }
    inbox = f"{group}/inbox"
    body, headers = mallory.signed(inbox, follow)
    async with world.alice.node.cluster.http("https://alpha.test") as http:
        tampered = await http.post(
            httpx.URL(inbox).path, content=body.replace(b"/follow/", b"/f0llow/"), headers=headers
        )
        assert tampered.status_code == 401, tampered.text
        accepted = await http.post(httpx.URL(inbox).path, content=body, headers=headers)
        assert accepted.status_code == 200, accepted.text
    assert ("GET", httpx.URL(mallory.ap_id).path) in mallory_host.requests

    async def accept_posted() -> bool:
        return any(method == "POST" for method, _ in mallory_host.requests)

    await eventually(accept_posted)


async def test_the_guard_keeps_every_other_rule(nodes: dict[str, TlsNode], world: World) -> None:
    """The policy a cluster server runs with, driven by this test against the real servers."""
    env = nodes["beta"].server_env()
    policy = fetch_policy(load_settings({k: v for k, v in env.items() if k.startswith("MOOT_")}))
    assert not policy.allow_insecure_and_private
    group = world.community["actor_id"]
    document = await fetch_json(group, policy)
    assert document.data["id"] == group

    async def refused(url: str, **overrides: Any) -> str:
        with pytest.raises(FetchError) as caught:
            await fetch_json(url, dataclasses.replace(policy, **overrides))
        return caught.value.reason

    assert await refused(group.replace("https://", "http://")) == "insecure scheme"
    assert await refused("https://delta.test:8443/") == "port"
    # A mapped name whose address is outside the allowlist: still a private address.
    outside = (("outside.test", (nodes["alpha"].ip.rsplit(".", 2)[0] + ".0.1",)),)
    assert await refused("https://outside.test/", static_hosts=outside) == "private address"
    # Without MOOT_FEDERATION_CA_FILE the cluster's certificates are not trusted.
    assert await refused(group, ca_file="") == "connect"


async def test_beta_refuses_a_host_with_a_port(world: World, nodes: dict[str, TlsNode]) -> None:
    admin = await login(nodes["delta"], ADMIN_NAME, ADMIN_PASSWORD)
    name = unique("portly")
    await admin.post("/community", {"name": name, "title": "Behind a port"})
    r = await world.bob.http.get("/resolve_object", params={"q": f"https://delta.test:8443/c/{name}"})
    assert r.status_code == 404, r.text


async def test_delivery_is_retried_while_a_server_is_down(nodes: dict[str, TlsNode], world: World) -> None:
    beta = nodes["beta"]
    beta.stop()
    titles = [f"While beta was down {i}" for i in range(2)]
    ap_ids = []
    for title in titles:
        created = await world.alice.post("/post", {"name": title, "community_id": world.community["id"]})
        ap_ids.append(created["post_view"]["post"]["ap_id"])

    async def failing() -> bool:
        linked = (await world.alice.get("/federated_instances"))["federated_instances"]["linked"]
        state = next(i for i in linked if i["domain"] == "beta.test").get("federation_state", {})
        return int(state.get("fail_count", 0)) > 0

    await eventually(failing)
    await asyncio.to_thread(beta.start)
    bob = await login(beta, world.bob.name, PASSWORD)
    for ap_id in ap_ids:
        await eventually(lambda a=ap_id: find_post(bob, a, world.beta_community_id), timeout=60)
    names = [
        p["post"]["name"]
        for p in (await bob.get("/post/list", community_id=world.beta_community_id, limit=50))["posts"]
    ]
    assert all(names.count(title) == 1 for title in titles)


async def test_untrusted_certificate_is_refused_and_delivery_retried(
    cluster: TlsCluster, nodes: dict[str, TlsNode], world: World, tmp_path: Path
) -> None:
    """gamma comes back with a certificate from a CA nobody trusts (same name, right dates): alpha's deliveries to
    it fail and are retried, beta cannot fetch from it; with its real certificate back, the post arrives."""
    gamma = nodes["gamma"]
    rogue = CertificateAuthority.create(tmp_path, "rogue")
    trusted_certificate = gamma.certificate
    gamma.stop()
    gamma.launch(certificate=rogue.issue("gamma.test"))
    await asyncio.to_thread(gamma.wait_ready, 60.0, (rogue,))
    try:
        # This test's own client trusts the rogue CA too, to look inside gamma; the servers do not.
        async with httpx.AsyncClient(
            transport=cluster.transport(trust=[rogue]), base_url="https://gamma.test/api/v3", timeout=30
        ) as gamma_http:
            carol_jwt = (
                await gamma_http.post("/user/login", json={"username_or_email": world.carol.name, "password": PASSWORD})
            ).json()["jwt"]
            auth = {"Authorization": f"Bearer {carol_jwt}"}
            created = await world.alice.post(
                "/post", {"name": "Sent to an impostor", "community_id": world.community["id"]}
            )
            ap_id = created["post_view"]["post"]["ap_id"]

            async def failing() -> bool:
                linked = (await world.alice.get("/federated_instances"))["federated_instances"]["linked"]
                state = next(i for i in linked if i["domain"] == "gamma.test").get("federation_state", {})
                return int(state.get("fail_count", 0)) >= 2

            await eventually(failing)
            listed = await gamma_http.get(
                "/post/list", params={"community_id": world.gamma_community_id, "sort": "New"}, headers=auth
            )
            assert ap_id not in [p["post"]["ap_id"] for p in listed.json()["posts"]]
            # Nothing is fetched from gamma either.
            secret = unique("impostor")
            made = await gamma_http.post("/community", json={"name": secret, "title": "Impostor"}, headers=auth)
            assert made.status_code == 200, made.text
            r = await world.bob.http.get("/resolve_object", params={"q": f"!{secret}@gamma.test"})
            assert r.status_code == 404, r.text
    finally:
        gamma.stop()
        await asyncio.to_thread(gamma.start, trusted_certificate)
    carol = await login(gamma, world.carol.name, PASSWORD)
    await eventually(lambda: find_post(carol, ap_id, world.gamma_community_id), timeout=60)
    found = (await world.bob.get("/resolve_object", q=f"!{secret}@gamma.test"))["community"]
    assert found["community"]["actor_id"] == f"https://gamma.test/c/{secret}"


# ------------------------------------------------------------------ the two regressions of issue 17


async def test_regression_debug_on_with_tls_resolves_by_name(nodes: dict[str, TlsNode], world: World) -> None:
    """(a) delta has MOOT_FEDERATION_DEBUG=true; alpha serves only https on 443. WebFinger for `!name@alpha.test`
    must go over https (the remote server decides the scheme, not our debug switch)."""
    dave = await person(nodes["delta"])
    found = (await dave.get("/resolve_object", q=f"!{world.community['name']}@alpha.test"))["community"]
    assert found["community"]["actor_id"] == world.community["actor_id"]


async def test_regression_signed_host_without_our_port_is_accepted(
    nodes: dict[str, TlsNode], mallory_host: ActorHost
) -> None:
    """(b) delta's MOOT_HOSTNAME is delta.test:8443; a peer that signs `Host: delta.test` (as PieFed does) is
    accepted, one that signs another host is refused."""
    admin = await login(nodes["delta"], ADMIN_NAME, ADMIN_PASSWORD)
    name = unique("ported")
    group = (await admin.post("/community", {"name": name, "title": "Ported"}))["community_view"]["community"]
    assert group["actor_id"] == f"https://delta.test:8443/c/{name}"
    mallory = mallory_host.person(unique("pie"))
    inbox = "https://delta.test:8443/inbox"

    def follow_activity() -> dict[str, Any]:
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{mallory_host.base}/activities/follow/{uuid.uuid4()}",
            "type": "Follow",
            "actor": mallory.ap_id,
            "object": group["actor_id"],
        }

    async with nodes["delta"].cluster.http("https://delta.test:8443") as http:
        for signed_host, expected in (
            ("other.test", 401),
            ("delta.test:9443", 401),
            ("delta.test", 200),
            ("delta.test:8443", 200),
        ):
            body, headers = mallory.signed(inbox, follow_activity(), host_signed=signed_host)
            assert headers["Host"] == signed_host
            r = await http.post("/inbox", content=body, headers=headers)
            assert r.status_code == expected, (signed_host, r.status_code, r.text)


# ------------------------------------------------------------------ the settings themselves (no cluster needed)


def test_host_map_and_allowlist_settings_parse_and_refuse_typos() -> None:
    assert parse_host_map("Alpha.Test=127.0.1.1, beta.test=127.0.1.2,alpha.test=::1") == (
        ("alpha.test", (ip_address("127.0.1.1"), ip_address("::1"))),
        ("beta.test", (ip_address("127.0.1.2"),)),
    )
    assert parse_host_map("") == ()
    for bad in ("alpha.test", "alpha.test=localhost", "127.0.0.1=127.0.0.2", "bad_name!=127.0.0.1"):
        with pytest.raises(ValueError, match="MOOT_FEDERATION_HOSTS"):
            parse_host_map(bad)
    assert parse_networks("127.0.1.0/24, ::1") == (ip_network("127.0.1.0/24"), ip_network("::1/128"))
    for bad in ("127.0.1.1/24", "everything", "10.0.0.0/33"):
        with pytest.raises(ValueError, match="MOOT_FEDERATION_ALLOW_ADDRESSES"):
            parse_networks(bad)


def test_the_allowlist_lets_only_its_addresses_through() -> None:
    allowed = parse_networks("127.0.1.0/24")
    assert is_allowed_address(ip_address("127.0.1.9"), allowed)
    assert is_allowed_address(ip_address("93.184.216.34"), allowed)  # public addresses as always
    for refused in ("127.0.0.1", "127.0.2.1", "10.0.0.1", "169.254.169.254", "::1"):
        assert not is_allowed_address(ip_address(refused), allowed), refused
    assert not is_allowed_address(ip_address("127.0.1.9"), ())


def test_production_defaults_add_nothing() -> None:
    policy = fetch_policy(load_settings({}))
    assert (policy.ca_file, policy.static_hosts, policy.allowed_networks) == ("", (), ())
    assert not policy.allow_insecure_and_private


def test_serve_wants_both_certificate_files(tmp_path: Path) -> None:
    env = {**os.environ, "MOOT_DATA_DIR": str(tmp_path), "MOOT_TLS_CERT_FILE": str(tmp_path / "cert.pem")}
    env.pop("MOOT_TLS_KEY_FILE", None)
    done = subprocess.run(
        [sys.executable, "-m", "moot.cli", "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "MOOT_TLS_CERT_FILE and MOOT_TLS_KEY_FILE go together" in done.stderr
