"""Scenarios across five federating servers set up as Lemmy's own test cluster (tests/cluster.py).

They follow Lemmy's api_tests (follow.spec.ts, post.spec.ts, comment.spec.ts): follow and unfollow, post,
comment and vote round trips through a third server, a community with followers on four servers, delta's
allowlist (beta only), epsilon's blocklist (alpha), people resolved by handle and by URL, and counts and
timestamps that agree on every server. Each scenario makes its own people and communities, so the order the
tests run in does not matter, except for the shared `hub` below which only ever gains posts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cluster import (
    Client,
    Cluster,
    arrived_comment,
    arrived_post,
    comments_on,
    community_view,
    create_community,
    eventually,
    find_comment,
    find_post,
    follow,
    resolve_community,
    running_cluster,
)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp) as running:
        yield running


@pytest.fixture(scope="module")
async def cluster(servers: Cluster) -> AsyncIterator[Cluster]:
    yield servers
    await servers.close_clients()


def host_of(domain: str) -> str:
    """An instance's host: the lists name hosts; a server's own domain carries its port."""
    return domain.rsplit(":", 1)[0]


def counts_of(view: dict[str, Any], *keys: str) -> dict[str, int]:
    return {key: view["counts"][key] for key in keys}


async def not_found(client: Client, q: str) -> None:
    """`resolve_object` gives nothing: the object is neither stored on this server nor fetched."""
    status, data = await client.resolve(q)
    assert status == 404, (client.node.name, q, status, data)
    assert data["error"] == "couldnt_find_object", data


# Follow and unfollow (follow.spec.ts "Follow federated community")


async def test_follow_and_unfollow_a_remote_community(cluster: Cluster) -> None:
    owner = await cluster.register("beta")
    community = await create_community(owner)
    alice = await cluster.register("alpha")
    on_alpha = await resolve_community(alice, community["name"], cluster["beta"])
    assert on_alpha["community"]["local"] is False
    assert on_alpha["community"]["actor_id"] == community["actor_id"]
    assert on_alpha["subscribed"] == "NotSubscribed"
    community_id = on_alpha["community"]["id"]

    followed = await follow(alice, community_id)
    assert followed["counts"]["subscribers_local"] == 1
    follows = (await alice.get("/site"))["my_user"]["follows"]
    assert community_id in [f["community"]["id"] for f in follows]
    # The Accept comes after beta has recorded the follower: the count is there already.
    on_beta = await community_view(owner, community["id"])
    assert counts_of(on_beta, "subscribers", "subscribers_local") == {"subscribers": 2, "subscribers_local": 1}

    unfollowed = await alice.post("/community/follow", {"community_id": community_id, "follow": False})
    assert unfollowed["community_view"]["subscribed"] == "NotSubscribed"
    follows = (await alice.get("/site"))["my_user"]["follows"]
    assert community_id not in [f["community"]["id"] for f in follows]

    async def gone_on_beta() -> bool:
        view = await community_view(owner, community["id"])
        return counts_of(view, "subscribers", "subscribers_local") == {"subscribers": 1, "subscribers_local": 1}

    await eventually(gone_on_beta, what="the unfollow counted on beta")


# Post, comment and votes through a third server (comment.spec.ts, post.spec.ts)


async def test_post_comment_and_votes_through_a_third_server(cluster: Cluster) -> None:
    """A person on beta posts in alpha's community; a person on gamma comments on it; everyone votes. alpha
    (the community's home) re-announces each to the others, and all three servers end with the same counts."""
    alice, bob, carol = await asyncio.gather(
        cluster.register("alpha"), cluster.register("beta"), cluster.register("gamma")
    )
    community = await create_community(alice)
    on_beta, on_gamma = await asyncio.gather(
        resolve_community(bob, community["name"], cluster["alpha"]),
        resolve_community(carol, community["name"], cluster["alpha"]),
    )
    ids = {"alpha": community["id"], "beta": on_beta["community"]["id"], "gamma": on_gamma["community"]["id"]}
    await asyncio.gather(follow(bob, ids["beta"]), follow(carol, ids["gamma"]))

    created = await bob.post(
        "/post",
        {"name": "From beta, in alpha's community", "community_id": ids["beta"], "body": "Posted *remotely*"},
    )
    post_ap_id = created["post_view"]["post"]["ap_id"]
    assert post_ap_id.startswith(cluster["beta"].origin)
    post_alpha, post_gamma = await asyncio.gather(
        arrived_post(alice, post_ap_id, ids["alpha"]), arrived_post(carol, post_ap_id, ids["gamma"])
    )
    for view in (post_alpha, post_gamma):
        assert view["post"]["name"] == "From beta, in alpha's community"
        assert view["post"]["body"] == "Posted *remotely*"
        assert view["creator"]["name"] == bob.name
        assert view["creator"]["local"] is False
        assert view["community"]["actor_id"] == community["actor_id"]
    post_ids = {
        "alpha": post_alpha["post"]["id"],
        "beta": created["post_view"]["post"]["id"],
        "gamma": post_gamma["post"]["id"],
    }

    comment = await carol.post("/comment", {"post_id": post_ids["gamma"], "content": "A comment from gamma"})
    comment_ap_id = comment["comment_view"]["comment"]["ap_id"]
    comment_alpha, comment_beta = await asyncio.gather(
        arrived_comment(alice, comment_ap_id, post_ids["alpha"]),
        arrived_comment(bob, comment_ap_id, post_ids["beta"]),
    )
    for view in (comment_alpha, comment_beta):
        assert view["comment"]["content"] == "A comment from gamma"
        assert view["creator"]["name"] == carol.name
        assert view["post"]["ap_id"] == post_ap_id
    comment_ids = {
        "alpha": comment_alpha["comment"]["id"],
        "beta": comment_beta["comment"]["id"],
        "gamma": comment["comment_view"]["comment"]["id"],
    }

    # Post: bob's own +1, carol +1, alice -1. Comment: carol's own +1, alice +1, bob -1.
    await carol.post("/post/like", {"post_id": post_ids["gamma"], "score": 1})
    await alice.post("/post/like", {"post_id": post_ids["alpha"], "score": -1})
    await alice.post("/comment/like", {"comment_id": comment_ids["alpha"], "score": 1})
    await bob.post("/comment/like", {"comment_id": comment_ids["beta"], "score": -1})
    want_post = {"score": 1, "upvotes": 2, "downvotes": 1, "comments": 1}
    want_comment = {"score": 1, "upvotes": 2, "downvotes": 1}
    clients = {"alpha": alice, "beta": bob, "gamma": carol}

    async def agree(node: str) -> bool:
        client = clients[node]
        post = (await client.get("/post", id=post_ids[node]))["post_view"]
        found = await find_comment(client, comment_ap_id, post_ids[node])
        return (
            found is not None
            and counts_of(post, *want_post) == want_post
            and counts_of(found, *want_comment) == want_comment
        )

    for node in clients:
        await eventually(lambda n=node: agree(n), what=f"post and comment counts on {node}")


# A community whose followers sit on four servers


@dataclass
class Hub:
    """A community on beta followed from alpha, gamma, delta and epsilon (delta allows only beta, so this is
    the one kind of community every server can follow)."""

    owner: Client
    name: str
    actor_id: str
    ids: dict[str, int]  # node -> the community's id there
    members: dict[str, Client]  # node -> a follower there


@pytest.fixture(scope="module")
async def hub(cluster: Cluster) -> Hub:
    owner = await cluster.register("beta")
    community = await create_community(owner, "hub")
    others = ("alpha", "gamma", "delta", "epsilon")
    members = dict(zip(others, await asyncio.gather(*(cluster.register(n) for n in others)), strict=True))

    async def join(node: str) -> int:
        view = await resolve_community(members[node], community["name"], cluster["beta"])
        await follow(members[node], view["community"]["id"])
        return int(view["community"]["id"])

    ids = dict(zip(others, await asyncio.gather(*(join(n) for n in others)), strict=True))
    ids["beta"] = community["id"]
    return Hub(owner, community["name"], community["actor_id"], ids, members)


async def test_a_post_reaches_followers_on_four_servers(hub: Hub) -> None:
    view = await community_view(hub.owner, hub.ids["beta"])
    assert counts_of(view, "subscribers", "subscribers_local") == {"subscribers": 5, "subscribers_local": 1}
    created = await hub.owner.post(
        "/post",
        {"name": "To all four", "community_id": hub.ids["beta"], "url": "https://example.org/four", "body": "Hi"},
    )
    ap_id = created["post_view"]["post"]["ap_id"]
    arrived = await asyncio.gather(*(arrived_post(c, ap_id, hub.ids[n]) for n, c in hub.members.items()))
    for post in arrived:
        assert post["post"]["name"] == "To all four"
        assert post["post"]["url"] == "https://example.org/four"
        assert post["post"]["body"] == "Hi"
        assert post["creator"]["name"] == hub.owner.name
        assert post["community"]["actor_id"] == hub.actor_id
    comment = await hub.owner.post("/comment", {"post_id": created["post_view"]["post"]["id"], "content": "And hi"})
    comment_ap_id = comment["comment_view"]["comment"]["ap_id"]
    await asyncio.gather(
        *(
            arrived_comment(c, comment_ap_id, post["post"]["id"])
            for c, post in zip(hub.members.values(), arrived, strict=True)
        )
    )


async def _alpha_content_in_hub(hub: Hub) -> tuple[str, str, str]:
    """A post by a person on alpha in beta's hub, and their comment on the owner's post; both seen on beta, so
    beta has announced them to every follower. Returns (alpha's post ap_id, the owner's post ap_id, alpha's
    comment ap_id)."""
    alice = hub.members["alpha"]
    owner_post = await hub.owner.post("/post", {"name": "Owner's post", "community_id": hub.ids["beta"]})
    owner_ap_id = owner_post["post_view"]["post"]["ap_id"]
    on_alpha = await arrived_post(alice, owner_ap_id, hub.ids["alpha"])
    alpha_post = await alice.post("/post", {"name": "Alpha was here", "community_id": hub.ids["alpha"]})
    alpha_post_ap_id = alpha_post["post_view"]["post"]["ap_id"]
    comment = await alice.post("/comment", {"post_id": on_alpha["post"]["id"], "content": "Alpha's comment"})
    comment_ap_id = comment["comment_view"]["comment"]["ap_id"]
    await arrived_post(hub.owner, alpha_post_ap_id, hub.ids["beta"])
    await arrived_comment(hub.owner, comment_ap_id, owner_post["post_view"]["post"]["id"])
    return alpha_post_ap_id, owner_ap_id, comment_ap_id


async def test_allowlist_delta_gets_nothing_from_alpha(cluster: Cluster, hub: Hub) -> None:
    """post.spec.ts: "Delta only follows beta, so it should not see an alpha ap_id". Nothing of alpha's reaches
    delta, neither announced by beta nor fetched by delta; beta's own content still does."""
    delta_person = hub.members["delta"]
    alice = hub.members["alpha"]
    alpha_post_ap_id, owner_ap_id, comment_ap_id = await _alpha_content_in_hub(hub)
    owner_post = await arrived_post(delta_person, owner_ap_id, hub.ids["delta"])  # beta's own: accepted
    await cluster.drained("beta", "delta")
    assert await find_post(delta_person, alpha_post_ap_id, hub.ids["delta"]) is None
    assert await find_comment(delta_person, comment_ap_id, owner_post["post"]["id"]) is None
    await not_found(delta_person, alpha_post_ap_id)
    await not_found(delta_person, comment_ap_id)
    await not_found(delta_person, f"@{alice.handle}")
    await not_found(delta_person, alice.actor_id)
    alpha_community = await create_community(alice)
    await not_found(delta_person, f"!{alpha_community['name']}@{cluster['alpha'].domain}")
    listed = (await delta_person.get("/federated_instances"))["federated_instances"]
    assert {host_of(i["domain"]) for i in listed["allowed"]} == {cluster["beta"].host}


async def test_blocklist_epsilon_accepts_nothing_from_alpha(cluster: Cluster, hub: Hub) -> None:
    """epsilon blocks alpha: alpha's post and comment, announced by beta, are refused (a comment by gamma in
    the same thread is not); alpha's objects and people cannot be resolved on epsilon."""
    eps = hub.members["epsilon"]
    alice = hub.members["alpha"]
    alpha_post_ap_id, owner_ap_id, comment_ap_id = await _alpha_content_in_hub(hub)
    owner_post = await arrived_post(eps, owner_ap_id, hub.ids["epsilon"])
    on_gamma = await arrived_post(hub.members["gamma"], owner_ap_id, hub.ids["gamma"])
    gamma_comment = await hub.members["gamma"].post(
        "/comment", {"post_id": on_gamma["post"]["id"], "content": "Gamma's comment"}
    )
    await arrived_comment(eps, gamma_comment["comment_view"]["comment"]["ap_id"], owner_post["post"]["id"])
    await cluster.drained("beta", "epsilon")
    assert await find_post(eps, alpha_post_ap_id, hub.ids["epsilon"]) is None
    assert await find_comment(eps, comment_ap_id, owner_post["post"]["id"]) is None
    await not_found(eps, alpha_post_ap_id)
    await not_found(eps, comment_ap_id)
    await not_found(eps, f"@{alice.handle}")
    await not_found(eps, alice.actor_id)
    listed = (await eps.get("/federated_instances"))["federated_instances"]
    assert {host_of(i["domain"]) for i in listed["blocked"]} == {cluster["alpha"].host}
    # alpha's instance is known with its port (lemmy-alpha:8541); blocked by host, it is not linked.
    assert cluster["alpha"].host not in {host_of(i["domain"]) for i in listed["linked"]}


async def test_blocklist_epsilon_delivers_nothing_to_alpha(cluster: Cluster) -> None:
    """A person on alpha (which does not block epsilon) follows a community on epsilon: epsilon refuses the
    Follow and sends no Accept, so the follow stays Pending, and epsilon's posts go only to its other followers."""
    owner, alice, gina = await asyncio.gather(
        cluster.register("epsilon"), cluster.register("alpha"), cluster.register("gamma")
    )
    community = await create_community(owner)
    on_alpha = await resolve_community(alice, community["name"], cluster["epsilon"])
    followed = await alice.post("/community/follow", {"community_id": on_alpha["community"]["id"], "follow": True})
    assert followed["community_view"]["subscribed"] == "Pending"
    on_gamma = await resolve_community(gina, community["name"], cluster["epsilon"])
    await follow(gina, on_gamma["community"]["id"])
    await cluster.drained("alpha", "epsilon")  # alpha has sent its Follow, and epsilon has answered it
    view = await community_view(owner, community["id"])
    assert counts_of(view, "subscribers") == {"subscribers": 2}  # the owner and gina, not alice

    created = await owner.post("/post", {"name": "Epsilon only", "community_id": community["id"]})
    ap_id = created["post_view"]["post"]["ap_id"]
    await arrived_post(gina, ap_id, on_gamma["community"]["id"])
    await cluster.drained("epsilon", "gamma")
    assert await find_post(alice, ap_id, on_alpha["community"]["id"]) is None
    assert (await community_view(alice, on_alpha["community"]["id"]))["subscribed"] == "Pending"


# People and communities resolved (user.spec.ts, community.spec.ts)


async def test_person_resolved_by_handle_and_by_url(cluster: Cluster) -> None:
    alice, carol = await asyncio.gather(cluster.register("alpha"), cluster.register("gamma"))
    status, by_handle = await carol.resolve(f"@{alice.handle}")
    assert status == 200, by_handle
    person = by_handle["person"]["person"]
    assert (person["name"], person["actor_id"], person["local"]) == (alice.name, alice.actor_id, False)
    status, by_url = await carol.resolve(alice.actor_id)
    assert status == 200, by_url
    assert by_url["person"]["person"]["id"] == person["id"]
    details = await carol.get("/user", username=alice.handle)
    assert details["person_view"]["person"]["id"] == person["id"]


async def test_bare_handle_resolves_a_person_or_a_community(cluster: Cluster) -> None:
    """Issue 9 item 5: `name@host` without `@` or `!` tries a person and a community, as Lemmy does."""
    alice, carol = await asyncio.gather(cluster.register("alpha"), cluster.register("gamma"))
    community = await create_community(alice)
    status, data = await carol.resolve(alice.handle)
    assert status == 200, data
    assert data["person"]["person"]["actor_id"] == alice.actor_id
    status, data = await carol.resolve(f"{community['name']}@{cluster['alpha'].domain}")
    assert status == 200, data
    assert data["community"]["community"]["actor_id"] == community["actor_id"]


async def test_unknown_remote_community_found_by_name(cluster: Cluster) -> None:
    """Issue 9 item 5: `GET /community?name=x@host` finds a community this server has never seen."""
    alice, carol = await asyncio.gather(cluster.register("alpha"), cluster.register("gamma"))
    community = await create_community(alice)
    data = await carol.get("/community", name=f"{community['name']}@{cluster['alpha'].domain}")
    assert data["community_view"]["community"]["actor_id"] == community["actor_id"]


# Counts and times that agree on every server


async def test_remote_community_subscribers_agree_everywhere(cluster: Cluster) -> None:
    """Issue 9 item 3 (follow.spec.ts): a remote community's subscribers come from its followers collection;
    local followers are counted apart."""
    owner, alice, carol = await asyncio.gather(
        cluster.register("beta"), cluster.register("alpha"), cluster.register("gamma")
    )
    community = await create_community(owner)
    first = await resolve_community(alice, community["name"], cluster["beta"])
    assert counts_of(first, "subscribers", "subscribers_local") == {"subscribers": 1, "subscribers_local": 0}
    on_gamma = await resolve_community(carol, community["name"], cluster["beta"])
    await asyncio.gather(follow(alice, first["community"]["id"]), follow(carol, on_gamma["community"]["id"]))
    home = await community_view(owner, community["id"])
    assert counts_of(home, "subscribers", "subscribers_local") == {"subscribers": 3, "subscribers_local": 1}
    # Servers that see it for the first time now, with no followers of their own.
    for node in ("delta", "epsilon"):
        stranger = await cluster.register(node)
        seen = await resolve_community(stranger, community["name"], cluster["beta"])
        assert counts_of(seen, "subscribers", "subscribers_local") == {"subscribers": 3, "subscribers_local": 0}


async def test_published_times_are_the_same_everywhere(cluster: Cluster) -> None:
    """Issue 9 item 2: a remote person, community, post and comment keep the `published` (and `updated`) of
    their origin, to the microsecond, whether they arrived by delivery (beta) or were resolved (gamma)."""
    alice, bob, carol = await asyncio.gather(
        cluster.register("alpha"), cluster.register("beta"), cluster.register("gamma")
    )
    community = await create_community(alice)
    on_beta = await resolve_community(bob, community["name"], cluster["alpha"])
    await follow(bob, on_beta["community"]["id"])
    created = await alice.post("/post", {"name": "Timed", "community_id": community["id"]})
    post = created["post_view"]["post"]
    comment = (await alice.post("/comment", {"post_id": post["id"], "content": "Timed too"}))["comment_view"]
    edited = (await alice.put("/post", {"post_id": post["id"], "body": "Edited"}))["post_view"]["post"]
    assert edited.get("updated")

    async def edit_arrived() -> dict[str, Any] | None:
        found = await find_post(bob, post["ap_id"], on_beta["community"]["id"])
        return found if found is not None and found["post"].get("body") == "Edited" else None

    post_beta = await eventually(edit_arrived, what="the edit on beta")
    comment_beta = await arrived_comment(bob, comment["comment"]["ap_id"], post_beta["post"]["id"])
    status, resolved = await carol.resolve(comment["comment"]["ap_id"])
    assert status == 200, resolved
    comment_gamma = resolved["comment"]
    status, resolved = await carol.resolve(post["ap_id"])
    assert status == 200, resolved
    post_gamma = resolved["post"]
    person_alpha = (await alice.get("/user", username=alice.name))["person_view"]["person"]

    for where, p, c in (("beta", post_beta, comment_beta), ("gamma", post_gamma, comment_gamma)):
        assert p["post"]["published"] == post["published"], where
        assert p["post"].get("updated") == edited["updated"], where
        assert p["community"]["published"] == community["published"], where
        assert p["creator"]["published"] == person_alpha["published"], where
        assert c["comment"]["published"] == comment["comment"]["published"], where
        assert c["creator"]["published"] == person_alpha["published"], where


async def test_counts_agree_on_every_server(cluster: Cluster) -> None:
    """Score, up and down votes and comment counts of a post, and its community's post and comment counts, are
    the same on the home server and on both followers."""
    alice, bob, carol = await asyncio.gather(
        cluster.register("alpha"), cluster.register("beta"), cluster.register("gamma")
    )
    community = await create_community(alice)
    views = await asyncio.gather(
        resolve_community(bob, community["name"], cluster["alpha"]),
        resolve_community(carol, community["name"], cluster["alpha"]),
    )
    ids = {"alpha": community["id"], "beta": views[0]["community"]["id"], "gamma": views[1]["community"]["id"]}
    await asyncio.gather(follow(bob, ids["beta"]), follow(carol, ids["gamma"]))
    created = await alice.post("/post", {"name": "Count me", "community_id": ids["alpha"]})
    ap_id = created["post_view"]["post"]["ap_id"]
    on_beta, on_gamma = await asyncio.gather(
        arrived_post(bob, ap_id, ids["beta"]), arrived_post(carol, ap_id, ids["gamma"])
    )
    post_ids = {"alpha": created["post_view"]["post"]["id"], "beta": on_beta["post"]["id"]}
    post_ids["gamma"] = on_gamma["post"]["id"]
    first = await bob.post("/comment", {"post_id": post_ids["beta"], "content": "First"})
    on_gamma_comment = await arrived_comment(carol, first["comment_view"]["comment"]["ap_id"], post_ids["gamma"])
    await carol.post(
        "/comment", {"post_id": post_ids["gamma"], "parent_id": on_gamma_comment["comment"]["id"], "content": "Re"}
    )
    await bob.post("/post/like", {"post_id": post_ids["beta"], "score": 1})
    await carol.post("/post/like", {"post_id": post_ids["gamma"], "score": -1})
    want = {"score": 1, "upvotes": 2, "downvotes": 1, "comments": 2}
    clients = {"alpha": alice, "beta": bob, "gamma": carol}

    async def agree(node: str) -> dict[str, Any] | None:
        client = clients[node]
        post = (await client.get("/post", id=post_ids[node]))["post_view"]
        comments = await comments_on(client, post_ids[node])
        return post if counts_of(post, *want) == want and len(comments) == 2 else None

    for node, client in clients.items():
        await eventually(lambda n=node: agree(n), what=f"post counts on {node}")
        view = await community_view(client, ids[node])
        assert counts_of(view, "posts", "comments") == {"posts": 1, "comments": 2}, node
