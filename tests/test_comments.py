"""Comments over the v3 API: create, edit, delete, vote, save, and the comment tree as Lemmy 0.19 serves it."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from conftest import Api, make_comment, make_community, make_post, register
from lemmy_shapes import assert_shape
from moot.db.community import Community
from moot.db.engine import count_queries


async def _setup(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    community = await make_community(api)
    post = await make_post(api, community["id"])
    return community, post


async def _tree(api: Api, post_id: int, **params: Any) -> list[dict[str, Any]]:
    data = await api.ok_get("/comment/list", post_id=post_id, **params)
    assert_shape(data, "GetCommentsResponse")
    comments: list[dict[str, Any]] = data["comments"]
    return comments


def _ids(views: list[dict[str, Any]]) -> list[int]:
    return [v["comment"]["id"] for v in views]


def _parent_path(path: str) -> str:
    return path.rsplit(".", 1)[0]


def assert_depth_first(views: list[dict[str, Any]], root: str = "0") -> None:
    """Every comment's parent is the root or came earlier, and each comment's subtree follows it contiguously."""
    paths = [v["comment"]["path"] for v in views]
    seen = {root}
    for path in paths:
        assert _parent_path(path) in seen, f"{path} precedes its parent or is an orphan"
        seen.add(path)
    for i, path in enumerate(paths):
        inside = [j for j, p in enumerate(paths) if p.startswith(path + ".")]
        assert inside == list(range(i + 1, i + 1 + len(inside))), f"subtree of {path} is not contiguous"


# ------------------------------------------------------------------------------------------------ create


async def test_create_comment_shape_upvote_and_path(user: Api) -> None:
    _, post = await _setup(user)
    data = await user.ok_post("/comment", {"post_id": post["id"], "content": "hello there"})
    assert_shape(data, "CommentResponse")
    view = data["comment_view"]
    comment = view["comment"]
    assert comment["content"] == "hello there"
    assert comment["path"] == f"0.{comment['id']}"
    assert comment["creator_id"] == user.person_id
    assert comment["ap_id"].endswith(f"/comment/{comment['id']}")
    assert view["counts"]["score"] == 1 and view["counts"]["upvotes"] == 1
    assert view["my_vote"] == 1
    assert data["recipient_ids"] == []


async def test_create_comment_requires_login(anon: Api, user: Api) -> None:
    _, post = await _setup(user)
    status, data = await anon.post("/comment", {"post_id": post["id"], "content": "hi"})
    assert status in (400, 401) and data["error"] == "not_logged_in"


async def test_create_comment_content_limits(user: Api) -> None:
    _, post = await _setup(user)
    for bad in ("x" * 10_001, "   \n\t "):
        status, data = await user.post("/comment", {"post_id": post["id"], "content": bad})
        assert (status, data) == (400, {"error": "invalid_body_field"})
    ok = await make_comment(user, post["id"], "y" * 10_000)
    assert len(ok["content"]) == 10_000


async def test_create_comment_on_missing_post(user: Api) -> None:
    status, data = await user.post("/comment", {"post_id": 999_999_999, "content": "hi"})
    assert status == 404 and data["error"] == "couldnt_find_post"


async def test_reply_path_and_child_counts(user: Api, other: Api) -> None:
    _, post = await _setup(user)
    a = await make_comment(user, post["id"], "a")
    b = await make_comment(other, post["id"], "b", parent_id=a["id"])
    c = await make_comment(user, post["id"], "c", parent_id=b["id"])
    await make_comment(other, post["id"], "a2", parent_id=a["id"])
    assert b["path"] == f"0.{a['id']}.{b['id']}"
    assert c["path"] == f"0.{a['id']}.{b['id']}.{c['id']}"
    counts = {v["comment"]["id"]: v["counts"]["child_count"] for v in await _tree(user, post["id"], max_depth=8)}
    assert counts[a["id"]] == 3
    assert counts[b["id"]] == 1
    assert counts[c["id"]] == 0


async def test_parent_on_another_post_refused(user: Api) -> None:
    community, post = await _setup(user)
    elsewhere = await make_post(user, community["id"])
    parent = await make_comment(user, elsewhere["id"])
    status, data = await user.post("/comment", {"post_id": post["id"], "content": "x", "parent_id": parent["id"]})
    assert (status, data) == (400, {"error": "couldnt_create_comment"})


async def test_depth_limit_is_fifty(user: Api) -> None:
    _, post = await _setup(user)
    parent_id: int | None = None
    for _ in range(50):
        parent_id = (await make_comment(user, post["id"], "deeper", parent_id=parent_id))["id"]
    deepest = await user.ok_get("/comment", id=parent_id)
    assert deepest["comment_view"]["comment"]["path"].count(".") == 50
    status, data = await user.post("/comment", {"post_id": post["id"], "content": "too deep", "parent_id": parent_id})
    assert (status, data) == (400, {"error": "max_comment_depth_reached"})


async def test_comment_on_deleted_post_refused(user: Api) -> None:
    _, post = await _setup(user)
    await user.ok_post("/post/delete", {"post_id": post["id"], "deleted": True})
    status, data = await user.post("/comment", {"post_id": post["id"], "content": "late"})
    assert (status, data) == (400, {"error": "deleted"})


async def test_comment_counts_on_post_and_community(user: Api, other: Api) -> None:
    community, post = await _setup(user)
    first = await make_comment(other, post["id"])
    await make_comment(user, post["id"], parent_id=first["id"])
    post_view = (await user.ok_get("/post", id=post["id"]))["post_view"]
    assert post_view["counts"]["comments"] == 2
    community_view = (await user.ok_get("/community", id=community["id"]))["community_view"]
    assert community_view["counts"]["comments"] == 2


# ---------------------------------------------------------------------------------------------- edit


async def test_edit_by_author(user: Api) -> None:
    _, post = await _setup(user)
    comment = await make_comment(user, post["id"], "first words")
    data = await user.ok_put("/comment", {"comment_id": comment["id"], "content": "second words"})
    assert_shape(data, "CommentResponse")
    assert data["comment_view"]["comment"]["content"] == "second words"
    assert "updated" in data["comment_view"]["comment"]
    fetched = await user.ok_get("/comment", id=comment["id"])
    assert fetched["comment_view"]["comment"]["content"] == "second words"


async def test_edit_by_other_refused(user: Api, other: Api) -> None:
    _, post = await _setup(user)
    comment = await make_comment(user, post["id"], "mine")
    status, data = await other.put("/comment", {"comment_id": comment["id"], "content": "yours now"})
    assert (status, data) == (400, {"error": "no_comment_edit_allowed"})
    status, data = await user.put("/comment", {"comment_id": comment["id"], "content": " "})
    assert (status, data) == (400, {"error": "invalid_body_field"})
    fetched = await user.ok_get("/comment", id=comment["id"])
    assert fetched["comment_view"]["comment"]["content"] == "mine"


# -------------------------------------------------------------------------------------- delete/restore


async def test_delete_hides_content_but_keeps_tree(user: Api, other: Api, admin: Api) -> None:
    _, post = await _setup(user)
    parent = await make_comment(user, post["id"], "to be deleted")
    child = await make_comment(other, post["id"], "a reply", parent_id=parent["id"])
    data = await user.ok_post("/comment/delete", {"comment_id": parent["id"], "deleted": True})
    assert_shape(data, "CommentResponse")
    assert data["comment_view"]["comment"]["deleted"] is True
    for viewer in (other, user.as_anonymous()):
        tree = await _tree(viewer, post["id"], max_depth=8)
        assert _ids(tree) == [parent["id"], child["id"]]
        assert tree[0]["comment"]["content"] == "" and tree[0]["comment"]["deleted"] is True
        assert tree[1]["comment"]["content"] == "a reply"
    flat = await other.ok_get("/comment/list", post_id=post["id"], sort="Old")
    assert [(v["comment"]["id"], v["comment"]["content"]) for v in flat["comments"]] == [
        (parent["id"], ""),
        (child["id"], "a reply"),
    ]
    seen_by_admin = await admin.ok_get("/comment", id=parent["id"])
    assert seen_by_admin["comment_view"]["comment"]["content"] == "to be deleted"
    restored = await user.ok_post("/comment/delete", {"comment_id": parent["id"], "deleted": False})
    assert restored["comment_view"]["comment"]["content"] == "to be deleted"
    assert restored["comment_view"]["comment"]["deleted"] is False


async def test_delete_rules(user: Api, other: Api) -> None:
    _, post = await _setup(user)
    comment = await make_comment(user, post["id"])
    status, data = await other.post("/comment/delete", {"comment_id": comment["id"], "deleted": True})
    assert (status, data) == (400, {"error": "no_comment_edit_allowed"})
    status, data = await user.post("/comment/delete", {"comment_id": comment["id"], "deleted": False})
    assert (status, data) == (400, {"error": "couldnt_update_comment"})


async def test_delete_and_restore_change_counts(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    comment = await make_comment(other, post["id"])

    async def counts() -> tuple[int, int, int]:
        p = (await user.ok_get("/post", id=post["id"]))["post_view"]["counts"]["comments"]
        c = (await user.ok_get("/community", id=community["id"]))["community_view"]["counts"]["comments"]
        person = (await user.ok_get("/user", person_id=other.person_id))["person_view"]["counts"]["comment_count"]
        return p, c, person

    before = await counts()
    assert before[:2] == (1, 1)
    await other.ok_post("/comment/delete", {"comment_id": comment["id"], "deleted": True})
    assert await counts() == (0, 0, before[2] - 1)
    await other.ok_post("/comment/delete", {"comment_id": comment["id"], "deleted": False})
    assert await counts() == before


# ---------------------------------------------------------------------------------------------- vote


async def test_vote_up_down_and_clear(user: Api, other: Api) -> None:
    _, post = await _setup(user)
    comment = await make_comment(user, post["id"])
    expected = {1: (2, 2, 0), -1: (0, 1, 1), 0: (1, 1, 0)}
    for score in (1, -1, 0):
        data = await other.ok_post("/comment/like", {"comment_id": comment["id"], "score": score})
        assert_shape(data, "CommentResponse")
        counts = data["comment_view"]["counts"]
        assert (counts["score"], counts["upvotes"], counts["downvotes"]) == expected[score]
        assert data["comment_view"]["my_vote"] == score
    mine = await user.ok_get("/comment", id=comment["id"])
    assert mine["comment_view"]["my_vote"] == 1
    anonymous = await user.as_anonymous().ok_get("/comment", id=comment["id"])
    assert "my_vote" not in anonymous["comment_view"]


async def test_vote_repeated_is_idempotent(user: Api, other: Api) -> None:
    _, post = await _setup(user)
    comment = await make_comment(user, post["id"])
    for _ in range(2):
        data = await other.ok_post("/comment/like", {"comment_id": comment["id"], "score": -1})
    assert data["comment_view"]["counts"]["score"] == 0
    assert data["comment_view"]["counts"]["downvotes"] == 1


# ---------------------------------------------------------------------------------------------- save


async def test_save_and_saved_only(user: Api, other: Api) -> None:
    _, post = await _setup(user)
    kept = await make_comment(user, post["id"], "keep me")
    await make_comment(user, post["id"], "not me")
    data = await other.ok_put("/comment/save", {"comment_id": kept["id"], "save": True})
    assert_shape(data, "CommentResponse")
    assert data["comment_view"]["saved"] is True
    saved = await other.ok_get("/comment/list", post_id=post["id"], saved_only=True)
    assert _ids(saved["comments"]) == [kept["id"]]
    assert saved["comments"][0]["saved"] is True
    assert (await user.ok_get("/comment/list", post_id=post["id"], saved_only=True))["comments"] == []
    data = await other.ok_put("/comment/save", {"comment_id": kept["id"], "save": False})
    assert data["comment_view"]["saved"] is False
    assert (await other.ok_get("/comment/list", post_id=post["id"], saved_only=True))["comments"] == []


# ------------------------------------------------------------------------------------------------ get


async def test_get_comment_and_missing(user: Api) -> None:
    _, post = await _setup(user)
    comment = await make_comment(user, post["id"], "find me")
    data = await user.as_anonymous().ok_get("/comment", id=comment["id"])
    assert_shape(data, "CommentResponse")
    assert data["comment_view"]["comment"]["content"] == "find me"
    status, data = await user.get("/comment", id=999_999_999)
    assert (status, data) == (404, {"error": "couldnt_find_comment"})


# ----------------------------------------------------------------------------------------------- tree


async def _branching_tree(user: Api, other: Api, post_id: int) -> dict[str, int]:
    """a (a1 (a1x), a2), b (b1), c — created interleaved so creation order differs from tree order."""
    ids: dict[str, int] = {}
    ids["a"] = (await make_comment(user, post_id, "a"))["id"]
    ids["b"] = (await make_comment(other, post_id, "b"))["id"]
    ids["a1"] = (await make_comment(other, post_id, "a1", parent_id=ids["a"]))["id"]
    ids["b1"] = (await make_comment(user, post_id, "b1", parent_id=ids["b"]))["id"]
    ids["c"] = (await make_comment(user, post_id, "c"))["id"]
    ids["a2"] = (await make_comment(user, post_id, "a2", parent_id=ids["a"]))["id"]
    ids["a1x"] = (await make_comment(other, post_id, "a1x", parent_id=ids["a1"]))["id"]
    return ids


async def test_tree_is_depth_first(user: Api, other: Api) -> None:
    _, post = await _setup(user)
    ids = await _branching_tree(user, other, post["id"])
    tree = await _tree(user, post["id"], max_depth=8, sort="Old")
    assert_depth_first(tree)
    names = {v: k for k, v in ids.items()}
    assert [names[i] for i in _ids(tree)] == ["a", "a1", "a1x", "a2", "b", "b1", "c"]


async def test_tree_max_depth_one_is_top_level(user: Api, other: Api) -> None:
    _, post = await _setup(user)
    ids = await _branching_tree(user, other, post["id"])
    tree = await _tree(user, post["id"], max_depth=1, sort="Old")
    assert _ids(tree) == [ids["a"], ids["b"], ids["c"]]
    two = await _tree(user, post["id"], max_depth=2, sort="Old")
    assert _ids(two) == [ids["a"], ids["a1"], ids["a2"], ids["b"], ids["b1"], ids["c"]]


async def test_tree_parent_id_gives_subtree(user: Api, other: Api) -> None:
    _, post = await _setup(user)
    ids = await _branching_tree(user, other, post["id"])
    data = await user.ok_get("/comment/list", parent_id=ids["a"], max_depth=8, sort="Old")
    tree = data["comments"]
    # Lemmy's parent filter is `path <@ parent.path`: the parent itself leads its subtree.
    assert _ids(tree) == [ids["a"], ids["a1"], ids["a1x"], ids["a2"]]
    assert_depth_first(tree, root="0")
    shallow = await user.ok_get("/comment/list", parent_id=ids["a"], max_depth=1, sort="Old")
    assert _ids(shallow["comments"]) == [ids["a"], ids["a1"], ids["a2"]]
    status, data = await user.get("/comment/list", parent_id=999_999_999, max_depth=8)
    assert (status, data) == (404, {"error": "couldnt_find_comment"})


async def test_tree_sorts_order_siblings(user: Api, other: Api, http: httpx.AsyncClient) -> None:
    _, post = await _setup(user)
    first = await make_comment(user, post["id"], "first")
    second = await make_comment(user, post["id"], "second")
    third = await make_comment(user, post["id"], "third")
    # second: score 3 (self + two others); third: 1 up 1 down (controversial); first: score 1.
    voter = await register(http)
    await other.ok_post("/comment/like", {"comment_id": second["id"], "score": 1})
    await voter.ok_post("/comment/like", {"comment_id": second["id"], "score": 1})
    await other.ok_post("/comment/like", {"comment_id": third["id"], "score": -1})

    async def order(sort: str) -> list[int]:
        return _ids(await _tree(user, post["id"], max_depth=8, sort=sort))

    assert await order("New") == [third["id"], second["id"], first["id"]]
    assert await order("Old") == [first["id"], second["id"], third["id"]]
    assert await order("Top") == [second["id"], first["id"], third["id"]]
    assert (await order("Hot"))[0] == second["id"]
    assert (await order("Controversial"))[0] == third["id"]


async def test_tree_sort_applies_within_each_parent(user: Api, other: Api) -> None:
    _, post = await _setup(user)
    root = await make_comment(user, post["id"], "root")
    old = await make_comment(user, post["id"], "old", parent_id=root["id"])
    new = await make_comment(user, post["id"], "new", parent_id=root["id"])
    old_child = await make_comment(other, post["id"], "under old", parent_id=old["id"])
    tree = await _tree(user, post["id"], max_depth=8, sort="New")
    assert _ids(tree) == [root["id"], new["id"], old["id"], old_child["id"]]


async def test_tree_cap_of_300_has_no_orphans(user: Api) -> None:
    _, post = await _setup(user)
    rng = random.Random(305)
    created: list[int] = []
    for i in range(305):
        parent = rng.choice(created) if created and i >= 20 else None
        created.append((await make_comment(user, post["id"], f"n{i}", parent_id=parent))["id"])
    for sort in ("Hot", "New", "Old"):
        tree = await _tree(user, post["id"], max_depth=50, sort=sort)
        assert len(tree) == 300
        assert len(set(_ids(tree))) == 300
        assert_depth_first(tree)


async def test_flat_list_is_paged(user: Api) -> None:
    _, post = await _setup(user)
    made = [(await make_comment(user, post["id"], f"c{i}"))["id"] for i in range(5)]
    pages = []
    for page in (1, 2, 3):
        data = await user.ok_get("/comment/list", post_id=post["id"], sort="New", limit=2, page=page)
        assert_shape(data, "GetCommentsResponse")
        pages.append(_ids(data["comments"]))
    assert pages == [made[4:2:-1], made[2:0:-1], made[0:1]]
    status, data = await user.get("/comment/list", post_id=post["id"], limit=51)
    assert status == 400 and data["error"] == "couldnt_get_comments"


async def test_flat_list_liked_only(user: Api, other: Api) -> None:
    _, post = await _setup(user)
    liked = await make_comment(user, post["id"], "liked")
    disliked = await make_comment(user, post["id"], "disliked")
    await make_comment(other, post["id"], "own comment, self-upvoted")
    await other.ok_post("/comment/like", {"comment_id": liked["id"], "score": 1})
    await other.ok_post("/comment/like", {"comment_id": disliked["id"], "score": -1})
    up = await other.ok_get("/comment/list", post_id=post["id"], liked_only=True)
    assert _ids(up["comments"]) == [liked["id"]]
    down = await other.ok_get("/comment/list", post_id=post["id"], disliked_only=True)
    assert _ids(down["comments"]) == [disliked["id"]]
    status, data = await other.get("/comment/list", post_id=post["id"], liked_only=True, disliked_only=True)
    assert (status, data) == (400, {"error": "contradicting_filters"})


async def test_blocked_person_comments_hidden(user: Api, other: Api) -> None:
    _, post = await _setup(user)
    theirs = await make_comment(other, post["id"], "from a blocked person")
    mine = await make_comment(user, post["id"], "mine")
    await user.ok_post("/user/block", {"person_id": other.person_id, "block": True})
    tree = await _tree(user, post["id"], max_depth=8)
    assert _ids(tree) == [mine["id"]]
    assert theirs["id"] in _ids(await _tree(user.as_anonymous(), post["id"], max_depth=8))


async def test_bot_comments_hidden_from_those_who_hide_bots(user: Api, http: httpx.AsyncClient) -> None:
    _, post = await _setup(user)
    bot = await register(http)
    await bot.ok_put("/user/save_user_settings", {"bot_account": True})
    by_bot = await make_comment(bot, post["id"], "beep")
    assert _ids(await _tree(user, post["id"], max_depth=8)) == [by_bot["id"]]
    await user.ok_put("/user/save_user_settings", {"show_bot_accounts": False})
    assert await _tree(user, post["id"], max_depth=8) == []
    assert (await user.ok_get("/comment/list", post_id=post["id"]))["comments"] == []
    assert _ids(await _tree(user.as_anonymous(), post["id"], max_depth=8)) == [by_bot["id"]]


@pytest.mark.parametrize("sort", ["Hot", "Top", "New", "Old", "Controversial"])
async def test_a_narrow_listing_reads_its_comments_and_a_wide_one_walks_and_both_give_one_page(
    app: Any, user: Api, other: Api, sort: str
) -> None:
    """A community's or a person's flat comment listing chooses by the comment counts the rows keep: a few
    comments (against all of the site's) are read and sorted, many are found by walking the site-wide sort
    index; the statement shows which (the order's first key is written so that no index gives it). Either way
    the page is the same comments in the same order."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    for n in range(5):
        made = await make_comment(other if n % 2 else user, post["id"], f"comment {n}")
        if n % 2:
            await user.ok_post("/comment/like", {"comment_id": made["id"], "score": 1})
    db = app.state.moot.db
    pages = {}
    for kept_count in (1, 10**9):  # the community's stored count: a few, or more than the site could hold
        async with db.write() as session:
            await session.execute(update(Community).where(Community.id == community["id"]).values(comments=kept_count))
        async with count_queries() as statements:
            page = await user.ok_get("/comment/list", community_id=community["id"], sort=sort, limit=3)
        [listing] = [s for s in statements if "ORDER BY" in s and "FROM comment" in s and "LIMIT" in s]
        assert ("ORDER BY coalesce(" in listing) is (kept_count == 1), listing
        pages[kept_count] = [v["comment"]["id"] for v in page["comments"]]
    assert len(pages[1]) == 3
    assert pages[1] == pages[10**9]


async def test_a_flat_listing_built_once_reads_for_each_reader(http: httpx.AsyncClient, user: Api, other: Api) -> None:
    """A flat listing's statement is built once per shape and reused (queries/comments.py `_flat_statement`): the
    reader, the community and the person are bound when it runs, never kept from the request that built it."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await make_comment(user, post["id"], "by the community's founder")
    await make_comment(other, post["id"], "by the other one")
    third = await register(http)
    await third.ok_post("/user/block", {"person_id": user.person_id, "block": True})

    async def authors(api: Api, **query: Any) -> list[int]:
        data = await api.ok_get("/comment/list", type_="All", sort="New", limit=20, **query)
        return sorted({v["creator"]["id"] for v in data["comments"]})

    both = sorted({user.person_id, other.person_id})
    for _ in range(2):  # the second round runs the statements the first one built
        assert await authors(other, community_id=community["id"]) == both
        assert await authors(third, community_id=community["id"]) == [other.person_id]  # blocks the founder
        assert await authors(other, post_id=post["id"]) == both
        assert await authors(third, post_id=post["id"]) == [other.person_id]
    elsewhere = await make_community(other)
    await make_comment(other, (await make_post(other, elsewhere["id"]))["id"], "somewhere else")
    assert await authors(user, community_id=elsewhere["id"]) == [other.person_id]
    assert await authors(user, community_id=community["id"]) == both
