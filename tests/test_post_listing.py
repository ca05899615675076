"""GET /post/list: every sort and its order, listing types, filters, paging and cursors, and the rank job."""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from conftest import Api, backend, make_comment, make_community, make_post, register
from lemmy_shapes import assert_shape
from moot.actions.posts import create_post
from moot.db.engine import count_queries
from moot.db.post import Post
from moot.domain.enums import SortType
from moot.domain.ranking import controversy_rank, hot_rank, scaled_rank
from moot.jobs.ranks import refresh_ranks
from moot.queries.viewer import load_viewer
from moot.settings import Settings


async def listed(api: Api, **params: Any) -> list[int]:
    data = await api.ok_get("/post/list", **{"limit": 50, **params})
    assert_shape(data, "GetPostsResponse")
    return [p["post"]["id"] for p in data["posts"]]


async def like(api: Api, post_id: int, score: int) -> None:
    await api.ok_post("/post/like", {"post_id": post_id, "score": score})


async def backdated_post(app: Any, api: Api, community_id: int, age: timedelta, name: str = "Old post") -> int:
    """A post published `age` ago, made by the create action itself (the API always stamps "now")."""
    state = app.state.moot
    settings: Settings = state.settings
    async with state.db.write() as session:
        viewer = await load_viewer(session, api.jwt, state.jwt_secret)
        assert viewer is not None
        post = await create_post(
            session, settings, viewer, community_id=community_id, name=name, published=datetime.now(UTC) - age
        )
        return post.id


async def published_and_scores(app: Any, ids: list[int]) -> dict[int, tuple[datetime, int, float]]:
    async with app.state.moot.db.read() as session:
        rows = await session.execute(select(Post.id, Post.published, Post.score, Post.hot_rank).where(Post.id.in_(ids)))
        return {r.id: (r.published, r.score, r.hot_rank) for r in rows}


# ------------------------------------------------------------------------------------------ sort orders


async def test_every_sort_type_answers_with_the_lemmy_shape(user: Api, anon: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    for sort in SortType:
        for api in (user, anon):
            assert post["id"] in await listed(api, sort=sort.value, community_id=community["id"]), sort
            await listed(api, sort=sort.value, type_="All")


async def test_unknown_sort_is_refused(anon: Api) -> None:
    status, data = await anon.get("/post/list", sort="Sideways")
    assert status == 400
    assert data["error"] == "unknown"


async def test_new_and_old_follow_published(user: Api) -> None:
    community = await make_community(user)
    ids = [(await make_post(user, community["id"]))["id"] for _ in range(4)]
    assert await listed(user, sort="New", community_id=community["id"]) == ids[::-1]
    assert await listed(user, sort="Old", community_id=community["id"]) == ids


async def test_most_comments_and_new_comments(user: Api, other: Api) -> None:
    community = await make_community(user)
    first, second = [(await make_post(user, community["id"]))["id"] for _ in range(2)]
    await make_comment(other, second)
    third = (await make_post(user, community["id"]))["id"]
    await make_comment(other, first)
    await make_comment(user, first)
    assert await listed(user, sort="MostComments", community_id=community["id"]) == [first, second, third]
    # NewComments: latest comment first; a post without comments counts from its publication.
    assert await listed(user, sort="NewComments", community_id=community["id"]) == [first, third, second]


async def test_top_sorts_order_by_score(http: httpx.AsyncClient, user: Api, other: Api) -> None:
    third_user = await register(http)
    community = await make_community(user)
    low, high, mid, sunk = [(await make_post(user, community["id"]))["id"] for _ in range(4)]
    for voter in (other, third_user):
        await like(voter, high, 1)
    await like(other, mid, 1)
    await like(other, sunk, -1)
    await like(third_user, sunk, -1)
    for sort in ("TopAll", "TopDay", "TopHour", "TopYear", "TopNineMonths"):
        assert await listed(user, sort=sort, community_id=community["id"]) == [high, mid, low, sunk], sort


async def test_controversial_orders_by_mixed_votes(http: httpx.AsyncClient, user: Api, other: Api) -> None:
    third_user = await register(http)
    community = await make_community(user)
    unanimous, split, leaning = [(await make_post(user, community["id"]))["id"] for _ in range(3)]
    await like(other, split, -1)  # 1 up, 1 down: 2 ^ 1 = 2
    await like(other, leaning, 1)
    await like(third_user, leaning, -1)  # 2 up, 1 down: 3 ^ 0.5 = 1.73
    await like(other, unanimous, 1)  # no downvote: 0
    assert await listed(user, sort="Controversial", community_id=community["id"]) == [split, leaning, unanimous]


async def test_top_windows_keep_only_recent_posts(app: Any, user: Api) -> None:
    community = await make_community(user)
    cid = community["id"]
    fresh = (await make_post(user, cid))["id"]
    hours = await backdated_post(app, user, cid, timedelta(hours=2))
    days = await backdated_post(app, user, cid, timedelta(days=2))
    weeks = await backdated_post(app, user, cid, timedelta(days=10))
    ancient = await backdated_post(app, user, cid, timedelta(days=400))
    expected = {
        "TopHour": {fresh},
        "TopSixHour": {fresh, hours},
        "TopDay": {fresh, hours},
        "TopWeek": {fresh, hours, days},
        "TopMonth": {fresh, hours, days, weeks},
        "TopYear": {fresh, hours, days, weeks},
        "TopAll": {fresh, hours, days, weeks, ancient},
    }
    for sort, ids in expected.items():
        assert set(await listed(user, sort=sort, community_id=cid)) == ids, sort
    assert await listed(user, sort="New", community_id=cid) == [fresh, hours, days, weeks, ancient]


# ------------------------------------------------------------------------------------------------ ranks


async def test_rank_job_orders_hot_by_score_and_age(app: Any, http: httpx.AsyncClient, user: Api, other: Api) -> None:
    third_user = await register(http)
    community = await make_community(user)
    cid = community["id"]
    older_popular = await backdated_post(app, user, cid, timedelta(hours=1))
    week_old = await backdated_post(app, user, cid, timedelta(days=8))
    three_hours = await backdated_post(app, user, cid, timedelta(hours=3))
    popular = (await make_post(user, cid))["id"]
    fresh = (await make_post(user, cid))["id"]
    for voter in (other, third_user):
        await like(voter, popular, 1)
        await like(voter, older_popular, 1)
    await like(other, fresh, -1)
    ids = [older_popular, week_old, three_hours, popular, fresh]

    # Before the job every post sits at the default rank, so Hot falls back to newest first.
    assert await listed(user, sort="Hot", community_id=cid) == [fresh, popular, older_popular, three_hours, week_old]

    now = datetime.now(UTC)
    await refresh_ranks(app.state.moot.db, now)
    rows = await published_and_scores(app, ids)
    for _post_id, (published, score, stored) in rows.items():
        assert stored == pytest.approx(hot_rank(score, published, now), rel=1e-9)
    assert rows[week_old][2] == 0.0
    # score 3 now > score 3 an hour ago > score 0 now > score 1 three hours ago > a week old (0).
    expected = [popular, older_popular, fresh, three_hours, week_old]
    assert sorted(ids, key=lambda i: (-rows[i][2], -rows[i][0].timestamp())) == expected
    assert await listed(user, sort="Hot", community_id=cid) == expected
    scaled = await listed(user, sort="Scaled", community_id=cid)
    assert scaled == expected


async def test_rank_job_orders_active_by_recent_comments_from_others(app: Any, user: Api, other: Api) -> None:
    community = await make_community(user)
    cid = community["id"]
    discussed = await backdated_post(app, user, cid, timedelta(hours=5))
    quiet = (await make_post(user, cid))["id"]
    await make_comment(other, discussed)
    await refresh_ranks(app.state.moot.db)
    assert await listed(user, sort="Active", community_id=cid) == [discussed, quiet]
    assert await listed(user, sort="Hot", community_id=cid) == [quiet, discussed]


def test_rank_formulas_match_hand_computed_values() -> None:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    # log10(1 + 2) / (1 + 2) ^ 1.8 = 0.47712125 / 7.22467406
    assert hot_rank(1, t, t + timedelta(hours=1)) == pytest.approx(0.0660404, rel=1e-5)
    # A negative score is floored: log10(max(2, -5 + 2)) / (2 + 2) ^ 1.8 = 0.30103 / 12.12573
    assert hot_rank(-5, t, t + timedelta(hours=2)) == pytest.approx(0.0248257, rel=1e-5)
    # log10(100 + 2) / (0.5 + 2) ^ 1.8 = 2.00860017 / 5.20345
    assert hot_rank(100, t, t + timedelta(minutes=30)) == pytest.approx(0.386013, rel=1e-5)
    assert hot_rank(10, t, t) == 0.0  # not strictly after publication
    assert hot_rank(10, t, t - timedelta(hours=1)) == 0.0  # from the future: no boost for faking dates
    assert hot_rank(10, t, t + timedelta(days=7)) == 0.0  # a week on, the rank settles at 0
    assert hot_rank(10, t, t + timedelta(days=6, hours=23)) > 0.0
    # Scaled divides by log10(2 + monthly active users): 8 users -> log10(10) = 1, 98 users -> 2.
    assert scaled_rank(1, t, 8, t + timedelta(hours=1)) == pytest.approx(0.0660404, rel=1e-5)
    assert scaled_rank(1, t, 98, t + timedelta(hours=1)) == pytest.approx(0.0330202, rel=1e-5)
    # (u + d) ^ (min / max)
    assert controversy_rank(3, 1) == pytest.approx(4 ** (1 / 3))
    assert controversy_rank(1, 1) == 2.0
    assert controversy_rank(2, 1) == pytest.approx(math.sqrt(3))
    assert controversy_rank(5, 0) == 0.0
    assert controversy_rank(0, 5) == 0.0


# ---------------------------------------------------------------------------------------- listing types


async def test_listing_types(user: Api, other: Api, anon: Api) -> None:
    followed = await make_community(user)
    unfollowed = await make_community(user)
    in_followed = (await make_post(user, followed["id"]))["id"]
    in_unfollowed = (await make_post(user, unfollowed["id"]))["id"]
    await other.ok_post("/community/follow", {"community_id": followed["id"], "follow": True})
    assert await listed(other, type_="Subscribed", sort="New") == [in_followed]
    for listing in ("All", "Local"):
        found = await listed(other, type_=listing, sort="New")
        assert {in_followed, in_unfollowed} <= set(found), listing
    assert await listed(anon, type_="Subscribed") == []
    # Anonymously, Lemmy 0.19 lists ModeratorView like All (tests/test_moderator_view_and_languages.py).
    assert {in_followed, in_unfollowed} <= set(await listed(anon, type_="ModeratorView", sort="New"))
    assert set(await listed(user, type_="ModeratorView", sort="New")) == {in_followed, in_unfollowed}
    await other.ok_post("/community/follow", {"community_id": followed["id"], "follow": False})
    assert await listed(other, type_="Subscribed") == []


async def test_community_id_and_community_name(user: Api, anon: Api) -> None:
    community = await make_community(user)
    elsewhere = await make_community(user)
    post = (await make_post(user, community["id"]))["id"]
    await make_post(user, elsewhere["id"])
    assert await listed(anon, community_id=community["id"]) == [post]
    assert await listed(anon, community_name=community["name"]) == [post]
    # A community listing shows everything in it, whatever type_ says.
    assert await listed(user, community_id=community["id"], type_="Subscribed") == [post]
    status, data = await anon.get("/post/list", community_name="no_such_community_here")
    assert status in (400, 404)
    assert data["error"] == "couldnt_find_community"


async def test_liked_only_and_disliked_only(user: Api, other: Api, anon: Api) -> None:
    community = await make_community(user)
    cid = community["id"]
    liked, disliked, untouched = [(await make_post(user, cid))["id"] for _ in range(3)]
    own = (await make_post(other, cid))["id"]
    await like(other, liked, 1)
    await like(other, disliked, -1)
    # Your own posts carry your automatic upvote but are not "liked" (Lemmy excludes them).
    assert await listed(other, liked_only=True, community_id=cid) == [liked]
    assert await listed(other, disliked_only=True, community_id=cid) == [disliked]
    assert set(await listed(other, community_id=cid)) == {liked, disliked, untouched, own}
    status, data = await other.get("/post/list", liked_only=True, disliked_only=True)
    assert (status, data) == (400, {"error": "contradicting_filters"})
    assert await listed(anon, liked_only=True, community_id=cid) == []


async def test_nsfw_posts_are_hidden_unless_asked_for(user: Api, anon: Api) -> None:
    community = await make_community(user)
    nsfw_community = await make_community(user, nsfw=True)
    safe = (await make_post(user, community["id"]))["id"]
    nsfw = (await make_post(user, community["id"], nsfw=True))["id"]
    in_nsfw = (await make_post(user, nsfw_community["id"]))["id"]
    for api in (anon, user):
        assert await listed(api, community_id=community["id"]) == [safe]
        assert await listed(api, community_id=nsfw_community["id"]) == []
        assert set(await listed(api, community_id=community["id"], show_nsfw=True)) == {safe, nsfw}
        assert await listed(api, community_id=nsfw_community["id"], show_nsfw=True) == [in_nsfw]
    await user.ok_put("/user/save_user_settings", {"show_nsfw": True})
    assert set(await listed(user, community_id=community["id"])) == {safe, nsfw}


async def test_languages_of_the_reader_filter_the_listing(user: Api, other: Api) -> None:
    community = await make_community(user)
    english = (await make_post(user, community["id"], language_id=37))["id"]
    french = (await make_post(user, community["id"], language_id=47))["id"]
    undetermined = (await make_post(user, community["id"]))["id"]
    assert set(await listed(other, community_id=community["id"])) == {english, french, undetermined}
    await other.ok_put("/user/save_user_settings", {"discussion_languages": [37]})
    assert set(await listed(other, community_id=community["id"])) == {english, undetermined}


async def test_blocked_people_and_communities_leave_the_listing(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = (await make_post(user, community["id"]))["id"]
    await other.ok_post("/community/block", {"community_id": community["id"], "block": True})
    assert post not in await listed(other, type_="All", sort="New")
    assert await listed(other, community_id=community["id"]) == [post]
    await other.ok_post("/community/block", {"community_id": community["id"], "block": False})
    assert post in await listed(other, type_="All", sort="New")
    await other.ok_post("/user/block", {"person_id": user.person_id, "block": True})
    assert post not in await listed(other, type_="All", sort="New")
    assert await listed(other, community_id=community["id"]) == []


# ----------------------------------------------------------------------------------------------- paging


async def test_page_and_limit_bounds(user: Api, anon: Api) -> None:
    community = await make_community(user)
    ids = [(await make_post(user, community["id"]))["id"] for _ in range(5)][::-1]
    for params in ({"limit": 51}, {"limit": 0}, {"limit": -1}, {"page": 0}, {"page": 101}, {"page": -3}):
        status, data = await anon.get("/post/list", community_id=community["id"], **params)
        assert status == 400, params
        assert data["error"] == "unknown", params
    for limit in (1, 50):
        data = await anon.ok_get("/post/list", community_id=community["id"], sort="New", limit=limit)
        assert [p["post"]["id"] for p in data["posts"]] == ids[:limit]
    data = await anon.ok_get("/post/list", community_id=community["id"], sort="New", limit=2, page=2)
    assert [p["post"]["id"] for p in data["posts"]] == ids[2:4]
    data = await anon.ok_get("/post/list", community_id=community["id"], sort="New", page=100)
    assert data == {"posts": []}
    # Without a limit Lemmy sends 10.
    more = [(await make_post(user, community["id"]))["id"] for _ in range(7)][::-1]
    data = await anon.ok_get("/post/list", community_id=community["id"], sort="New")
    assert [p["post"]["id"] for p in data["posts"]] == (more + ids)[:10]


async def _walk_pages(api: Api, limit: int, **params: Any) -> list[int]:
    """Every post of a listing, read page by page (`page`) until an empty one."""
    found: list[int] = []
    for page in range(1, 30):
        got = await listed(api, limit=limit, page=page, **params)
        if not got:
            return found
        found += got
    raise AssertionError(f"pages never ended: {found}")


async def _walk_cursor(api: Api, limit: int, **params: Any) -> list[list[int]]:
    pages: list[list[int]] = []
    cursor: str | None = None
    for _ in range(30):
        data = await api.ok_get("/post/list", limit=limit, page_cursor=cursor, **params)
        assert_shape(data, "GetPostsResponse")
        pages.append([p["post"]["id"] for p in data["posts"]])
        cursor = data.get("next_page")
        if cursor is None:
            assert data["posts"] == []
            return pages
        assert isinstance(cursor, str)
        assert cursor.startswith("P")
    raise AssertionError(f"cursor never ended: {pages}")


@pytest.mark.parametrize("sort", ["New", "Old", "Hot", "TopAll", "MostComments", "Controversial"])
async def test_cursor_paging_has_no_gaps_or_duplicates(
    app: Any, http: httpx.AsyncClient, user: Api, other: Api, sort: str
) -> None:
    third_user = await register(http)
    community = await make_community(user)
    cid = community["id"]
    ids = [(await make_post(user, cid))["id"] for _ in range(12)]
    for i, post_id in enumerate(ids):
        if i % 3 == 0:
            await like(other, post_id, 1)
        if i % 4 == 0:
            await like(third_user, post_id, -1)
        if i % 5 == 0:
            await make_comment(other, post_id)
    await refresh_ranks(app.state.moot.db)
    everything = await listed(user, sort=sort, community_id=cid)
    assert sorted(everything) == sorted(ids)
    pages = await _walk_cursor(user, 5, sort=sort, community_id=cid)
    assert [len(p) for p in pages] == [5, 5, 2, 0]
    assert [i for page in pages for i in page] == everything


async def test_next_page_and_page_cursor_on_the_front_page(user: Api) -> None:
    community = await make_community(user)
    for _ in range(3):
        await make_post(user, community["id"])
    first = await user.ok_get("/post/list", type_="All", sort="New", limit=2)
    assert_shape(first, "GetPostsResponse")
    second = await user.ok_get("/post/list", type_="All", sort="New", limit=2, page_cursor=first["next_page"])
    first_ids = [p["post"]["id"] for p in first["posts"]]
    second_ids = [p["post"]["id"] for p in second["posts"]]
    assert len(second_ids) == 2
    assert not set(first_ids) & set(second_ids)
    assert max(second_ids) < min(first_ids)


async def test_garbage_page_cursor_is_refused(anon: Api) -> None:
    for cursor in ("garbage", "P", "Pzz", "Q12", f"P{987_654_321:x}", "Pffffffffffffffff", "P-1"):
        status, data = await anon.get("/post/list", page_cursor=cursor)
        assert (status, data) == (400, {"error": "unknown", "message": "Could not parse pagination token"}), cursor


async def test_bot_posts_hidden_for_readers_who_turn_bots_off(http: httpx.AsyncClient, user: Api, other: Api) -> None:
    bot = await register(http)
    await bot.ok_put("/user/save_user_settings", {"bot_account": True})
    community = await make_community(user)
    human = (await make_post(user, community["id"]))["id"]
    robot = (await make_post(bot, community["id"]))["id"]
    assert set(await listed(other, community_id=community["id"])) == {human, robot}
    await other.ok_put("/user/save_user_settings", {"show_bot_accounts": False})
    assert await listed(other, community_id=community["id"]) == [human]


async def test_saved_posts_come_most_recently_saved_first(user: Api, other: Api) -> None:
    community = await make_community(user)
    first, second, third = [(await make_post(user, community["id"]))["id"] for _ in range(3)]
    for post_id in (second, third, first):
        await other.ok_put("/post/save", {"post_id": post_id, "save": True})
    assert await listed(other, saved_only=True, type_="All", sort="New") == [first, third, second]
    pages = await _walk_cursor(other, 2, saved_only=True, type_="All", sort="Old")
    assert pages == [[first, third], [second], []]


# ------------------------------------------------------------------------------------------ Subscribed


@pytest.mark.parametrize("window", [3, 100_000])
async def test_subscribed_pages_hold_exactly_the_followed_posts_in_sort_order(
    app: Any, user: Api, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the Subscribed listing looks for a first page among the site's best posts by the sort
    (queries/posts.py, `_subscribed_ids_near_top`, a window of `SUBSCRIBED_WINDOW` posts), and community by
    community when the viewer's posts there are too few (`_subscribed_ids`); a tiny window takes the second way,
    a huge one the first. Whatever the way, sort, page size or paging style, the pages must be the followed
    communities' posts in the sort's order, featured ones first, nothing missing or repeated."""
    from moot.queries import posts
    from moot.queries.posts import _sort_keys

    monkeypatch.setattr(posts, "SUBSCRIBED_WINDOW", window)
    monkeypatch.setattr(posts, "_NEAR_CACHE", {})  # its statements hold the window they were built with

    reader = await register(user.client)
    followed = [await make_community(user) for _ in range(3)]
    elsewhere = await make_community(user)
    ids: dict[int, list[int]] = {}
    for community, count in zip([*followed, elsewhere], (9, 6, 4, 4), strict=True):
        ids[community["id"]] = [(await make_post(user, community["id"]))["id"] for _ in range(count)]
        if community is not elsewhere:
            await reader.ok_post("/community/follow", {"community_id": community["id"], "follow": True})
    a, b, c = (ids[community["id"]] for community in followed)
    for post_id, score in ((a[2], 1), (b[4], 1), (c[1], -1), (a[7], -1), (b[0], 1)):
        await like(reader, post_id, score)
    await make_comment(reader, a[3], "a comment")
    await make_comment(reader, c[0], "another")
    async with app.state.moot.db.write() as session:
        for post_id, column in ((b[1], "featured_community"), (c[2], "featured_local"), (a[5], "featured_local")):
            post = await session.get(Post, post_id)
            assert post is not None
            setattr(post, column, True)
    await refresh_ranks(app.state.moot.db)
    mine = a + b + c

    for sort in (
        SortType.HOT,
        SortType.ACTIVE,
        SortType.SCALED,
        SortType.NEW,
        SortType.OLD,
        SortType.TOP_ALL,
        SortType.MOST_COMMENTS,
        SortType.NEW_COMMENTS,
        SortType.CONTROVERSIAL,
    ):
        keys = _sort_keys(sort, by_community=False)
        async with app.state.moot.db.read() as session:
            rows = (await session.execute(select(Post.id, *[k.column for k in keys]).where(Post.id.in_(mine)))).all()
        expected = [row[0] for row in rows]
        values = {row[0]: row[1:] for row in rows}
        for i in reversed(range(len(keys))):  # stable sorts, least significant key first
            expected.sort(key=lambda post_id, i=i: values[post_id][i], reverse=keys[i].descending)
        if sort == SortType.HOT:
            expected_hot = expected

        for limit in (2, 5):
            assert await _walk_pages(reader, limit, type_="Subscribed", sort=sort.value) == expected, (sort, limit)
            by_cursor = await _walk_cursor(reader, limit, type_="Subscribed", sort=sort.value)
            assert [i for page in by_cursor for i in page] == expected, (sort, limit, "cursor")

    if backend() == "postgres":
        # Which way the first page was found: community by community is a LATERAL walk per followed community.
        async with count_queries() as statements:
            assert await listed(reader, type_="Subscribed", limit=5) == expected_hot[:5]
        assert any("LATERAL" in statement for statement in statements) == (window == 3), statements


@pytest.mark.parametrize("window", [3, 100_000])
async def test_a_subscribed_search_in_one_community_keeps_its_pinned_post(
    app: Any, user: Api, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search of one community as Subscribed orders as the community's listing does: its pinned posts first. The
    first-page shortcut (`_subscribed_ids_near_top`) looks among the site's best posts, which leave out the front
    page's pinned posts only: a post pinned in its community, older than the window, was never found there."""
    from moot.queries import posts

    monkeypatch.setattr(posts, "SUBSCRIBED_WINDOW", window)
    monkeypatch.setattr(posts, "_NEAR_CACHE", {})
    reader = await register(user.client)
    community = await make_community(user)
    word = f"zorblat{secrets.token_hex(4)}"
    made = [(await make_post(user, community["id"], name=f"{word} {i}"))["id"] for i in range(5)]
    async with app.state.moot.db.write() as session:
        pinned = await session.get(Post, made[0])
        assert pinned is not None
        pinned.featured_community = True
    await reader.ok_post("/community/follow", {"community_id": community["id"], "follow": True})

    async def searched(listing_type: str, **paging: Any) -> list[int]:
        found = await reader.ok_get(
            "/search",
            q=word,
            type_="Posts",
            listing_type=listing_type,
            community_id=community["id"],
            sort="New",
            **paging,
        )
        return [p["post"]["id"] for p in found["posts"]]

    expected = [made[0], made[4], made[3], made[2], made[1]]
    assert await searched("All", limit=5) == expected
    assert await searched("Subscribed", limit=2) == expected[:2]
    assert await searched("Subscribed", limit=2, page=2) == expected[2:4]


@pytest.mark.parametrize("window", [3, 100_000])
async def test_subscribed_pages_leave_out_what_the_reader_filters_whatever_the_paging(
    app: Any, user: Api, other: Api, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Subscribed page is read by the ids its candidates statement chose (queries/posts.py `_by_ids`): the posts
    the reader's blocks, hidden and read marks, and deletions leave out must be left out of those ids, page by page
    and by cursor, on either way of finding them."""
    from moot.queries import posts

    monkeypatch.setattr(posts, "SUBSCRIBED_WINDOW", window)
    monkeypatch.setattr(posts, "_NEAR_CACHE", {})
    reader = await register(user.client)
    community = await make_community(user)
    await reader.ok_post("/community/follow", {"community_id": community["id"], "follow": True})
    mine = [(await make_post(user, community["id"]))["id"] for _ in range(6)]
    theirs = [(await make_post(other, community["id"]))["id"] for _ in range(3)]
    hidden, read, deleted = mine[1], mine[3], mine[4]
    await reader.ok_post("/post/hide", {"post_ids": [hidden], "hide": True})
    await reader.ok_post("/post/mark_as_read", {"post_ids": [read], "read": True})
    await reader.ok_put("/user/save_user_settings", {"show_read_posts": False})
    await user.ok_post("/post/delete", {"post_id": deleted, "deleted": True})
    await reader.ok_post("/user/block", {"person_id": other.person_id, "block": True})

    expected = [post_id for post_id in reversed(mine) if post_id not in (hidden, read, deleted)]
    assert not set(expected) & set(theirs)
    for limit in (1, 2):
        assert await _walk_pages(reader, limit, type_="Subscribed", sort="New") == expected, limit
        by_cursor = await _walk_cursor(reader, limit, type_="Subscribed", sort="New")
        assert [i for page in by_cursor for i in page] == expected, limit
