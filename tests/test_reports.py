"""Post and comment reports: create, list with each filter, count, resolve and unresolve, and the refusals, as
Lemmy 0.19 answers them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import Api, make_comment, make_community, make_post, register
from lemmy_shapes import assert_shape
from moot.actions.reports import receive_report
from moot.db.community import CommunityPersonBan
from moot.db.engine import count_queries
from moot.db.moderation import CommentReport
from moot.db.person import Person
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow


async def _ban_from(app: Any, community_id: int, person_id: int) -> None:
    """A community ban written as the ban action leaves it (the ban endpoints have tests of their own)."""
    async with app.state.moot.db.write() as session:
        session.add(CommunityPersonBan(community_id=community_id, person_id=person_id, published=utcnow()))


async def _setup(mod: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    community = await make_community(mod)
    post = await make_post(mod, community["id"], url="https://example.com/reported", body="the body")
    comment = await make_comment(mod, post["id"], "a reported comment")
    return community, post, comment


async def test_post_report_created_listed_resolved(user: Api, other: Api, admin: Api) -> None:
    community, post, _ = await _setup(user)
    data = await other.ok_post("/post/report", {"post_id": post["id"], "reason": "  spam  "})
    assert_shape(data, "PostReportResponse")
    view = data["post_report_view"]
    report = view["post_report"]
    assert report["reason"] == "spam"
    assert report["resolved"] is False and "resolver_id" not in report and "resolver" not in view
    assert report["original_post_name"] == post["name"]
    assert report["original_post_url"] == "https://example.com/reported"
    assert report["original_post_body"] == "the body"
    assert view["creator"]["id"] == other.person_id
    assert view["post_creator"]["id"] == user.person_id
    assert view["community"]["id"] == community["id"]
    assert view["creator_is_moderator"] is True  # the post's author moderates the community
    # The report keeps the post as it was: an edit afterwards changes the post, not the report.
    await user.ok_put("/post", {"post_id": post["id"], "name": "An edited title"})

    listed = await user.ok_get("/post/report/list", community_id=community["id"])
    assert_shape(listed, "ListPostReportsResponse")
    [row] = listed["post_reports"]
    assert row["post_report"]["original_post_name"] == post["name"]
    assert row["post"]["name"] == "An edited title"

    resolved = await user.ok_put("/post/report/resolve", {"report_id": report["id"], "resolved": True})
    assert_shape(resolved, "PostReportResponse")
    r = resolved["post_report_view"]
    assert r["post_report"]["resolved"] is True
    assert r["post_report"]["resolver_id"] == user.person_id
    assert r["resolver"]["id"] == user.person_id
    assert "updated" in r["post_report"]
    assert (await user.ok_get("/post/report/list", community_id=community["id"], unresolved_only=True))[
        "post_reports"
    ] == []

    # Unresolving records who did it too (here an admin, who is no moderator of the community).
    back = await admin.ok_put("/post/report/resolve", {"report_id": report["id"], "resolved": False})
    assert back["post_report_view"]["post_report"]["resolved"] is False
    assert back["post_report_view"]["resolver"]["id"] == admin.person_id
    listed = await user.ok_get("/post/report/list", community_id=community["id"], unresolved_only=True)
    assert [r["post_report"]["id"] for r in listed["post_reports"]] == [report["id"]]


async def test_comment_report_created_listed_resolved(user: Api, other: Api) -> None:
    community, _, comment = await _setup(user)
    data = await other.ok_post("/comment/report", {"comment_id": comment["id"], "reason": "rude"})
    assert_shape(data, "CommentReportResponse")
    view = data["comment_report_view"]
    assert view["comment_report"]["original_comment_text"] == "a reported comment"
    assert view["comment_report"]["reason"] == "rude"
    assert view["creator"]["id"] == other.person_id
    assert view["comment_creator"]["id"] == user.person_id
    assert view["comment"]["id"] == comment["id"]
    assert view["community"]["id"] == community["id"]
    await user.ok_put("/comment", {"comment_id": comment["id"], "content": "edited"})

    listed = await user.ok_get("/comment/report/list", comment_id=comment["id"])
    assert_shape(listed, "ListCommentReportsResponse")
    [row] = listed["comment_reports"]
    assert row["comment_report"]["original_comment_text"] == "a reported comment"
    assert row["comment"]["content"] == "edited"

    report_id = view["comment_report"]["id"]
    done = await user.ok_put("/comment/report/resolve", {"report_id": report_id, "resolved": True})
    assert_shape(done, "CommentReportResponse")
    assert done["comment_report_view"]["comment_report"]["resolved"] is True
    assert done["comment_report_view"]["resolver"]["id"] == user.person_id
    listed = await user.ok_get("/comment/report/list", community_id=community["id"], unresolved_only=True)
    assert listed["comment_reports"] == []
    listed = await user.ok_get("/comment/report/list", community_id=community["id"])
    assert len(listed["comment_reports"]) == 1


async def test_list_filters_order_and_visibility(http: httpx.AsyncClient, user: Api, other: Api, admin: Api) -> None:
    mine, post_a, comment_a = await _setup(user)
    post_b = await make_post(user, mine["id"])
    elsewhere = await make_community(other)
    post_c = await make_post(other, elsewhere["id"])
    comment_c = await make_comment(other, post_c["id"])
    reporters = [await register(http) for _ in range(3)]
    ids = []
    for reporter in reporters:
        data = await reporter.ok_post("/post/report", {"post_id": post_a["id"], "reason": f"by {reporter.name}"})
        ids.append(data["post_report_view"]["post_report"]["id"])
    b = await reporters[0].ok_post("/post/report", {"post_id": post_b["id"], "reason": "b"})
    c = await reporters[0].ok_post("/post/report", {"post_id": post_c["id"], "reason": "c"})
    await reporters[1].ok_post("/comment/report", {"comment_id": comment_a["id"], "reason": "ca"})
    await reporters[1].ok_post("/comment/report", {"comment_id": comment_c["id"], "reason": "cc"})
    b_id = b["post_report_view"]["post_report"]["id"]
    c_id = c["post_report_view"]["post_report"]["id"]

    # A moderator reads the reports of their communities only, newest first.
    seen = [r["post_report"]["id"] for r in (await user.ok_get("/post/report/list"))["post_reports"]]
    assert seen == [b_id, *reversed(ids)]
    assert c_id not in seen
    # ... filtered by post, paged.
    by_post = await user.ok_get("/post/report/list", post_id=post_a["id"], limit=2)
    assert [r["post_report"]["id"] for r in by_post["post_reports"]] == [ids[2], ids[1]]
    page_2 = await user.ok_get("/post/report/list", post_id=post_a["id"], limit=2, page=2)
    assert [r["post_report"]["id"] for r in page_2["post_reports"]] == [ids[0]]
    # The unresolved queue is oldest first (first in, first out), as Lemmy's.
    await user.ok_put("/post/report/resolve", {"report_id": ids[1], "resolved": True})
    queue = await user.ok_get("/post/report/list", unresolved_only=True)
    assert [r["post_report"]["id"] for r in queue["post_reports"]] == [ids[0], ids[2], b_id]
    # Another community's moderator sees theirs; a filter on a community one does not moderate is empty.
    theirs = await other.ok_get("/post/report/list")
    assert [r["post_report"]["id"] for r in theirs["post_reports"]] == [c_id]
    assert (await other.ok_get("/post/report/list", community_id=mine["id"]))["post_reports"] == []
    assert [r["comment_report"]["reason"] for r in (await other.ok_get("/comment/report/list"))["comment_reports"]] == [
        "cc"
    ]
    # Admins read everything.
    every = [r["post_report"]["id"] for r in (await admin.ok_get("/post/report/list", limit=50))["post_reports"]]
    assert {*ids, b_id, c_id} <= set(every)
    by_community = await admin.ok_get("/comment/report/list", community_id=elsewhere["id"])
    assert [r["comment_report"]["reason"] for r in by_community["comment_reports"]] == ["cc"]

    # Counts: the unresolved ones a person can act on.
    counts = await user.ok_get("/user/report_count")
    assert_shape(counts, "GetReportCountResponse")
    assert counts == {"post_reports": 3, "comment_reports": 1}
    assert await other.ok_get("/user/report_count") == {"post_reports": 1, "comment_reports": 1}
    scoped = await user.ok_get("/user/report_count", community_id=elsewhere["id"])
    assert scoped == {"community_id": elsewhere["id"], "post_reports": 0, "comment_reports": 0}
    site_wide = await admin.ok_get("/user/report_count")
    assert site_wide["post_reports"] >= 4 and site_wide["comment_reports"] >= 2
    # Admins also get the private message reports (there are no private messages yet).
    assert site_wide["private_message_reports"] == 0
    in_community = await admin.ok_get("/user/report_count", community_id=mine["id"])
    assert in_community == {"community_id": mine["id"], "post_reports": 3, "comment_reports": 1}

    # Someone who moderates nothing may not read a queue.
    for path in ("/post/report/list", "/comment/report/list", "/user/report_count"):
        status, body = await reporters[2].get(path)
        assert (status, body) == (400, {"error": "not_a_mod_or_admin"}), path


async def test_report_refusals(app: Any, user: Api, other: Api, anon: Api) -> None:
    community, post, comment = await _setup(user)
    assert await other.post("/post/report", {"post_id": post["id"], "reason": "   "}) == (
        400,
        {"error": "report_reason_required"},
    )
    assert await other.post("/comment/report", {"comment_id": comment["id"], "reason": "x" * 1001}) == (
        400,
        {"error": "report_too_long"},
    )
    await other.ok_post("/post/report", {"post_id": post["id"], "reason": "x" * 1000})
    # One report per person and post, as Lemmy's unique key.
    assert await other.post("/post/report", {"post_id": post["id"], "reason": "again"}) == (
        400,
        {"error": "couldnt_create_report"},
    )
    status, body = await other.post("/post/report", {"post_id": 2_000_000_000, "reason": "gone"})
    assert (status, body["error"]) == (404, "couldnt_find_post")
    status, body = await other.post("/comment/report", {"comment_id": 2_000_000_000, "reason": "gone"})
    assert (status, body["error"]) == (404, "couldnt_find_comment")
    status, body = await anon.post("/post/report", {"post_id": post["id"], "reason": "anon"})
    assert (status, body["error"]) == (401, "not_logged_in")

    # Only the community's moderators (and admins) resolve.
    report = (await user.ok_get("/post/report/list", post_id=post["id"]))["post_reports"][0]["post_report"]
    assert await other.put("/post/report/resolve", {"report_id": report["id"], "resolved": True}) == (
        400,
        {"error": "not_a_mod_or_admin"},
    )
    status, body = await user.put("/post/report/resolve", {"report_id": 2_000_000_000, "resolved": True})
    assert (status, body["error"]) == (404, "couldnt_find_post_report")
    status, body = await user.put("/comment/report/resolve", {"report_id": 2_000_000_000, "resolved": True})
    assert (status, body["error"]) == (404, "couldnt_find_comment_report")

    # A person banned from the community reports nothing in it.
    await _ban_from(app, community["id"], other.person_id)
    assert await other.post("/comment/report", {"comment_id": comment["id"], "reason": "banned"}) == (
        400,
        {"error": "banned_from_community"},
    )
    post_2 = await make_post(user, community["id"])
    assert await other.post("/post/report", {"post_id": post_2["id"], "reason": "banned"}) == (
        400,
        {"error": "banned_from_community"},
    )

    # Deleted content: your own deleted post is `deleted`, someone else's is not found (Lemmy's view hides it).
    await user.ok_post("/post/delete", {"post_id": post_2["id"], "deleted": True})
    assert await user.post("/post/report", {"post_id": post_2["id"], "reason": "mine"}) == (400, {"error": "deleted"})
    third = await register(user.client)
    status, body = await third.post("/post/report", {"post_id": post_2["id"], "reason": "theirs"})
    assert (status, body["error"]) == (404, "couldnt_find_post")
    await user.ok_post("/comment/delete", {"comment_id": comment["id"], "deleted": True})
    assert await third.post("/comment/report", {"comment_id": comment["id"], "reason": "gone"}) == (
        400,
        {"error": "deleted"},
    )


@pytest.mark.parametrize("kind", ["post", "comment"])
async def test_report_list_query_count(http: httpx.AsyncClient, user: Api, kind: str) -> None:
    community = await make_community(user)
    for i in range(6):
        post = await make_post(user, community["id"], name=f"post {i}")
        target = post if kind == "post" else await make_comment(user, post["id"])
        reporter = await register(http)
        made = await reporter.ok_post(f"/{kind}/report", {f"{kind}_id": target["id"], "reason": f"reason {i}"})
        report_id = made[f"{kind}_report_view"][f"{kind}_report"]["id"]
        await user.ok_put(f"/{kind}/report/resolve", {"report_id": report_id, "resolved": i % 2 == 0})
    async with count_queries() as statements:
        data = await user.ok_get(f"/{kind}/report/list", community_id=community["id"], limit=20)
    assert len(data[f"{kind}_reports"]) == 6
    # login, the moderator check, the page
    assert len(statements) == 3, statements


async def test_report_received_by_flag(app: Any, user: Api, other: Api) -> None:
    """`receive_report`, which the inbox calls for a Flag: stored once per Flag and per person and object, and
    listed for the moderators like any report."""
    community, post, comment = await _setup(user)
    flag = f"https://remote.example/activities/flag/{post['id']}"
    async with app.state.moot.db.write() as session:
        reporter = await session.get(Person, other.person_id)
        assert reporter is not None
        first = await receive_report(session, reporter, post["ap_id"], "  flagged  ", flag)
        again = await receive_report(session, reporter, post["ap_id"], "flagged", flag)
        assert again.id == first.id
        on_comment = await receive_report(session, reporter, comment["ap_id"], "bad", flag + "/c")
        assert isinstance(on_comment, CommentReport) and on_comment.ap_id == flag + "/c"
        with pytest.raises(LemmyError) as unknown:
            await receive_report(session, reporter, "https://remote.example/post/1", "?", flag + "/x")
        assert unknown.value.error == "couldnt_find_object"
    [row] = (await user.ok_get("/post/report/list", community_id=community["id"]))["post_reports"]
    assert row["post_report"]["reason"] == "flagged" and row["creator"]["id"] == other.person_id
    assert len((await user.ok_get("/comment/report/list", community_id=community["id"]))["comment_reports"]) == 1
    await _ban_from(app, community["id"], other.person_id)
    async with app.state.moot.db.write() as session:
        reporter = await session.get(Person, other.person_id)
        assert reporter is not None
        with pytest.raises(LemmyError) as banned:
            await receive_report(session, reporter, comment["ap_id"], "again", flag + "/banned")
        assert banned.value.error == "banned_from_community"
