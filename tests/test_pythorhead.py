"""A full scenario with a real Lemmy client library (pythorhead) against a real `moot serve` process.

Register, log in, create a community, post, comment, reply, vote, list with several sorts, search. Every
response pythorhead hands back is also checked against the lemmy-js-client 0.19 types."""

from __future__ import annotations

from typing import Any

from pythorhead import Lemmy
from pythorhead.requestor import Request
from pythorhead.types import SortType

from conftest import ADMIN_NAME, ADMIN_PASSWORD, ServerProcess, unique
from lemmy_shapes import assert_shape

PASSWORD = "pythorhead-pass-1"


def _client(server: ServerProcess) -> Lemmy:
    return Lemmy(server.base_url, raise_exceptions=True, request_timeout=10)


def _register(lemmy: Lemmy, name: str) -> dict[str, Any]:
    data = lemmy._requestor.api(
        Request.POST, "/user/register", json={"username": name, "password": PASSWORD, "password_verify": PASSWORD}
    )
    assert data is not None
    return data


def test_full_scenario_with_pythorhead(live_server: ServerProcess) -> None:
    admin = _client(live_server)
    assert str(admin.instance_version).startswith("0.19.20")
    assert admin.log_in(ADMIN_NAME, ADMIN_PASSWORD)
    # The default register bucket (3 per hour) would stop this scenario; the admin raises it, as operators do.
    edited = admin.site.edit(
        rate_limit_register=1000, rate_limit_post=1000, rate_limit_comment=1000, rate_limit_message=10_000
    )
    assert edited is not None
    assert_shape(edited, "SiteResponse")

    alice_name, bob_name = unique("alice"), unique("bob")
    registered = _register(_client(live_server), alice_name)
    assert_shape(registered, "LoginResponse")
    assert registered["jwt"]
    _register(_client(live_server), bob_name)

    alice, bob = _client(live_server), _client(live_server)
    assert alice.log_in(alice_name, PASSWORD)
    assert bob.log_in(bob_name, PASSWORD)

    site = alice.site.get()
    assert site is not None
    assert_shape(site, "GetSiteResponse")
    assert site["my_user"]["local_user_view"]["person"]["name"] == alice_name

    community_name = unique("py")
    created = alice.community.create(community_name, "Pythorhead test community", description="For the scenario")
    assert created is not None
    assert_shape(created, "CommunityResponse")
    community_id = created["community_view"]["community"]["id"]
    assert alice.discover_community(community_name) == community_id

    followed = bob.community.follow(community_id)  # pythorhead hands back the community_view
    assert followed is not None
    assert_shape(followed, "CommunityView")
    assert followed["subscribed"] == "Subscribed"
    assert followed["counts"]["subscribers"] == 2

    post = alice.post.create(community_id, "A link worth discussing", url="https://example.org/story?utm_source=x")
    assert post is not None
    assert_shape(post, "PostResponse")
    post_id = post["post_view"]["post"]["id"]
    assert post["post_view"]["post"]["url"] == "https://example.org/story"
    assert post["post_view"]["counts"]["score"] == 1
    second = alice.post.create(community_id, "A quieter text post", body="Some *markdown* body")
    assert second is not None

    comment = bob.comment.create(post_id, "First! > quoting nothing")
    assert comment is not None
    assert_shape(comment, "CommentResponse")
    comment_id = comment["comment_view"]["comment"]["id"]
    reply = alice.comment.create(post_id, "> First!\n\nA reply with a quote", parent_id=comment_id)
    assert reply is not None
    assert reply["comment_view"]["comment"]["path"] == f"0.{comment_id}.{reply['comment_view']['comment']['id']}"

    liked = bob.post.like(post_id, 1)
    assert liked is not None
    assert liked["post_view"]["counts"]["score"] == 2
    assert liked["post_view"]["my_vote"] == 1
    disliked = bob.comment.like(reply["comment_view"]["comment"]["id"], -1)
    assert disliked is not None
    assert disliked["comment_view"]["counts"]["downvotes"] == 1

    for sort in (SortType.Hot, SortType.New, SortType.TopAll, SortType.Active, SortType.MostComments):
        listed = bob.post.list(community_id=community_id, sort=sort)
        assert_shape({"posts": listed}, "GetPostsResponse")
        assert {p["post"]["id"] for p in listed} == {post_id, second["post_view"]["post"]["id"]}
    by_comments = bob.post.list(community_id=community_id, sort=SortType.MostComments)
    assert by_comments[0]["post"]["id"] == post_id
    newest = bob.post.list(community_id=community_id, sort=SortType.New)
    assert newest[0]["post"]["id"] == second["post_view"]["post"]["id"]

    tree = bob.comment.list(post_id=post_id, max_depth=8)
    assert_shape({"comments": tree}, "GetCommentsResponse")
    assert [c["comment"]["id"] for c in tree] == [comment_id, reply["comment_view"]["comment"]["id"]]

    replies = bob.comment.get_replies(unread_only=True, page=1)
    assert replies is not None
    assert [r["comment"]["id"] for r in replies["replies"]] == [reply["comment_view"]["comment"]["id"]]

    found = bob.search("discussing")
    assert found is not None
    assert_shape(found, "SearchResponse")
    assert [p["post"]["id"] for p in found["posts"]] == [post_id]

    full = bob.post.get(post_id)
    assert full is not None
    assert_shape(full, "GetPostResponse")
    assert full["community_view"]["community"]["name"] == community_name
