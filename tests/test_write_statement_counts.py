"""The two busiest writes run a fixed number of SQL statements: a new comment and a vote on a post.

"This is a performance-critical code path": each statement is a round trip taken while the transaction holds
its locks, and most of a write's Python time is spent issuing them. The counts below are the whole request
(login, the access gate, the rows, the counters, the activity sent, the answer's view), on either engine; a
change that adds one should say why here."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from sqlalchemy import func, select

from conftest import Api, backend, make_comment, make_community, make_post, register
from moot.actions import posts
from moot.actions.remote import upsert_remote_person
from moot.db.engine import Database, count_queries
from moot.db.federation import SentActivity
from moot.db.post import Post
from moot.domain.ranking import controversy_rank
from moot.queries import defaults
from moot.queries.viewer import RemoteActor
from moot.settings import Settings


def _kinds(statements: list[str]) -> list[str]:
    """Each statement's verb and table, enough to read a failure: `INSERT comment`, `UPDATE post`..."""
    named = []
    for statement in statements:
        words = statement.replace("(", " ( ").split()
        verb = words[0].upper()
        if verb == "INSERT":
            named.append(f"INSERT {words[2]}")
        elif verb == "UPDATE":
            named.append(f"UPDATE {words[1]}")
        elif verb == "WITH":  # data-modifying CTEs (PostgreSQL): named by the first
            named.append(f"WITH {words[1]}")
        else:
            named.append(f"{verb} {_outer_from(statement)}")
    return named


def _outer_from(statement: str) -> str:
    """The first table after the statement's own FROM (not a subquery's); when it reads from a subquery of
    values (`FROM (SELECT 1) LEFT JOIN person`), the first table it joins."""
    depth = 0
    tokens = statement.replace("(", " ( ").replace(")", " ) ").split()
    after_from = False
    for i, token in enumerate(tokens):
        depth += {"(": 1, ")": -1}.get(token, 0)
        if depth == 0 and token == "FROM":
            if tokens[i + 1] != "(":
                return tokens[i + 1]
            after_from = True
        elif after_from and depth == 0 and token == "JOIN":
            return tokens[i + 1]
    return "?"


async def test_create_comment_statement_count(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    defaults.forget()
    await make_comment(other, post["id"], "a first comment: the site's switches are read and kept")
    async with count_queries() as statements:
        data = await other.ok_post("/comment", {"post_id": post["id"], "content": "a reply to the post's author"})
    assert data["comment_view"]["counts"]["score"] == 1
    assert data["comment_view"]["my_vote"] == 1
    assert data["recipient_ids"]  # the post's author is told
    assert data["comment_view"]["post"]["creator_id"] == user.person_id  # the counters' UPDATE set nothing else
    names = _kinds(statements)
    expected = [
        "SELECT local_user",  # login
        # (the blocked URLs are kept in memory with the site's switches: read by the first comment above)
        "SELECT post",  # with its community, its author and the access gate's ban flag (and the new id: PostgreSQL)
        "INSERT comment",  # with the author's own vote counted
        "SELECT local_user",  # the reply's recipient, unless they block the author, community or instance
        "UPDATE comment",  # its path and ap_id, which name its id (SQLite: PostgreSQL took the id first)
        "INSERT comment_reply",
        "INSERT sent_activity",  # the community's Announce{Create{Note}}
        "UPDATE post",  # counters last: comments and newest comment times, by increments
        "UPDATE community",
        "UPDATE person",
        "INSERT comment_actions",  # the author's vote
        "INSERT post_actions",  # the author's read mark (an upsert)
        # and no read for the answer: its view is made of the rows written (queries/comments.py)
    ]
    if backend() == "postgres":
        expected.remove("UPDATE comment")
        # The Announce, and the counters, the author's vote and read mark as one statement (data-modifying CTEs),
        # kept for the COMMIT and sent with it in one round trip (db/engine.py commit).
        at = expected.index("INSERT sent_activity")
        expected[at : at + 6] = ["INSERT sent_activity"]
    if backend() == "sqlite":
        # FTS5, kept by the action (PostgreSQL's GIN index follows the row by itself)
        at = expected.index("INSERT comment") + 1
        expected[at:at] = ["DELETE comment_fts", "INSERT comment_fts"]
    assert names == expected, "\n".join(statements)
    if backend() == "postgres":
        sent = statements[names.index("INSERT sent_activity")]
        assert "; WITH counted_post" in sent and sent.endswith("; COMMIT"), sent


async def test_a_new_comments_answer_is_the_view_read_after_it(
    user: Api, other: Api, admin: Api, http: httpx.AsyncClient
) -> None:
    """The answer to a new comment is made of the rows its write holds (no read after the commit): it must be
    what a read afterwards gives, for a commenter who follows the community or not, a moderator, an admin, a
    reply and a top-level comment."""
    community = await make_community(user)  # its creator moderates it, and follows it
    post = await make_post(user, community["id"])
    stranger = await register(http)
    await other.ok_post("/community/follow", {"community_id": community["id"], "follow": True})
    parent = None
    for author in (other, stranger, user, admin, other):
        body: dict[str, Any] = {"post_id": post["id"], "content": "**words**, a [link](https://example.com/a)"}
        if parent is not None:
            body["parent_id"] = parent
        answer = (await author.ok_post("/comment", body))["comment_view"]
        assert answer == (await author.ok_get("/comment", id=answer["comment"]["id"]))["comment_view"]
        parent = answer["comment"]["id"]
    assert answer["comment"]["path"].count(".") == 5 and answer["subscribed"] == "Subscribed"


async def test_a_reply_to_a_remote_author_looks_for_no_inbox(user: Api, other: Api, settings: Settings) -> None:
    """The post's author is read with the target: a remote one has no inbox here, and nothing is looked up."""
    community = await make_community(user)
    db = Database(settings)
    try:
        async with db.write() as session:
            author = await upsert_remote_person(
                session, ap_id="http://remote.example/u/far", name="far", domain="remote.example"
            )
            await session.flush()
            post = await posts.create_post(
                session,
                settings,
                RemoteActor(author),
                community_id=community["id"],
                name="a remote person's post",
                ap_id="http://remote.example/post/far-1",
            )
            post_id = post.id
    finally:
        await db.dispose()
    await make_comment(other, post_id, "a first comment: the site's switches are read and kept")
    async with count_queries() as statements:
        data = await other.ok_post("/comment", {"post_id": post_id, "content": "a reply to a remote author"})
    assert data["recipient_ids"] == []
    names = _kinds(statements)
    assert names.count("SELECT local_user") == 1, names  # the login only
    assert "INSERT comment_reply" not in names


async def test_vote_statement_count(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    async with count_queries() as statements:
        data = await other.ok_post("/post/like", {"post_id": post["id"], "score": 1})
    assert data["post_view"]["counts"]["score"] == 2
    assert data["post_view"]["my_vote"] == 1
    expected = [
        "SELECT local_user",  # login
        # The answer's view, with the community and the site's downvote switch, the post locked (PostgreSQL):
        # the vote's target too (the access gate's ban flag is the view's). No second read for the answer.
        "SELECT post",
        "SELECT post_actions",  # the vote it replaces
        "INSERT post_actions",  # the vote and the read mark, one row (an upsert)
        "UPDATE post",  # counters by increments, the controversy rank with them (stays 0: no downvote)
        "INSERT sent_activity",  # the community's Announce{Like}
    ]
    if backend() == "postgres":
        # The vote replaced, the upsert and the counters as one statement (a data-modifying CTE); the Announce
        # kept for the COMMIT, sent with it (db/engine.py commit).
        at = expected.index("SELECT post_actions")
        expected[at : at + 3] = ["WITH replaced"]
    assert _kinds(statements) == expected, "\n".join(statements)
    if backend() == "postgres":
        assert statements[-1].endswith("; COMMIT"), statements[-1]
    # Changing it: the Dislike alone is sent (as Lemmy sends it), the controversy rank moves with the counts.
    async with count_queries() as changed:
        data = await other.ok_post("/post/like", {"post_id": post["id"], "score": -1})
    assert data["post_view"]["counts"] == {**data["post_view"]["counts"], "score": 0, "upvotes": 1, "downvotes": 1}
    assert data["post_view"]["my_vote"] == -1
    names = _kinds(changed)
    assert names.count("INSERT sent_activity") == 1, "\n".join(changed)
    # The controversy rank moves with the counts, in the same statement.
    assert len(names) == len(expected), "\n".join(changed)


async def test_a_votes_answer_is_the_view_read_after_it(user: Api, other: Api) -> None:
    """The answer to a vote is the view read with the vote's target, before the write, with what the vote
    changed written into it: it must be what a read after the commit gives, whatever the vote did (a first
    vote, a change, the same vote again, one taken back; on a post whose content the voter no longer sees)."""
    community = await make_community(user)
    post = await make_post(user, community["id"], body="words the voter will not see once it is deleted")
    await make_comment(user, post["id"], "a comment: unread_comments stays as it was")
    for score in (1, -1, -1, 0, 1, 0):
        answer = await other.ok_post("/post/like", {"post_id": post["id"], "score": score})
        assert answer["post_view"] == (await other.ok_get("/post", id=post["id"]))["post_view"], score
    await user.ok_post("/post/delete", {"post_id": post["id"], "deleted": True})
    for score in (-1, 1):
        answer = await other.ok_post("/post/like", {"post_id": post["id"], "score": score})
        assert "body" not in answer["post_view"]["post"]
        assert answer["post_view"] == (await other.ok_get("/post", id=post["id"]))["post_view"], score
    assert answer["post_view"]["counts"]["upvotes"] == 2 and answer["post_view"]["my_vote"] == 1


async def test_comment_vote_statement_count(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    comment = await make_comment(user, post["id"], "a comment to vote on")
    async with count_queries() as statements:
        data = await other.ok_post("/comment/like", {"comment_id": comment["id"], "score": -1})
    assert data["comment_view"]["counts"]["score"] == 0
    assert data["comment_view"]["my_vote"] == -1
    expected = [
        "SELECT local_user",  # login
        # The answer's view, with the community and the site's downvote switch, the comment locked (PostgreSQL):
        # the vote's target too (the access gate's ban flag is the view's). No second read for the answer.
        "SELECT comment",
        "SELECT comment_actions",  # the vote it replaces
        "INSERT comment_actions",  # an upsert
        "UPDATE comment",  # counters by increments, with the controversy rank of the counts they leave
        "INSERT sent_activity",  # the community's Announce{Dislike}
    ]
    if backend() == "postgres":
        # As a post's vote: the vote replaced, the upsert and the counters as one statement; the Announce kept
        # for the COMMIT, sent with it (db/engine.py commit).
        at = expected.index("SELECT comment_actions")
        expected[at : at + 3] = ["WITH replaced"]
    assert _kinds(statements) == expected, "\n".join(statements)
    if backend() == "postgres":
        assert statements[-1].endswith("; COMMIT"), statements[-1]


async def test_a_comment_votes_answer_is_the_view_read_after_it(user: Api, other: Api) -> None:
    """As a post's (above): the answer is the view read with the target, with what the vote changed written in."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    comment = await make_comment(user, post["id"], "a comment to vote on, and to delete")

    async def read() -> Any:
        found = await other.ok_get("/comment", id=comment["id"])
        return found["comment_view"]

    for score in (1, -1, -1, 0, 1, 0, -1):
        answer = await other.ok_post("/comment/like", {"comment_id": comment["id"], "score": score})
        assert answer["comment_view"] == await read(), score
    await user.ok_post("/comment/delete", {"comment_id": comment["id"], "deleted": True})
    answer = await other.ok_post("/comment/like", {"comment_id": comment["id"], "score": 1})
    assert answer["comment_view"] == await read()
    assert answer["comment_view"]["counts"]["upvotes"] == 2 and answer["comment_view"]["my_vote"] == 1


async def test_opening_a_post_writes_its_read_mark_once(user: Api, other: Api) -> None:
    """Lemmy's GetPost marks the post read and remembers its comment count: one upsert, and none when the reader
    read it before and no comment came since."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await make_comment(user, post["id"], "a comment before the reader comes")

    async def opened() -> list[str]:
        async with count_queries() as statements:
            await other.ok_get("/post", id=post["id"])
        return [name for name in _kinds(statements) if not name.startswith("SELECT")]

    def listed(data: dict[str, Any]) -> dict[str, Any]:
        return next(v for v in data["posts"] if v["post"]["id"] == post["id"])

    assert await opened() == ["INSERT post_actions"]
    view = listed(await other.ok_get("/post/list", community_id=community["id"]))
    assert (view["read"], view["unread_comments"]) == (True, 0)
    assert await opened() == []  # read, and nothing new: no write at all
    await make_comment(user, post["id"], "a comment after the first visit")
    view = listed(await other.ok_get("/post/list", community_id=community["id"]))
    assert (view["read"], view["unread_comments"]) == (True, 1)
    assert await opened() == ["INSERT post_actions"]
    view = listed(await other.ok_get("/post/list", community_id=community["id"]))
    assert (view["read"], view["unread_comments"]) == (True, 0)


async def test_concurrent_writes_keep_counters_exact(user: Api, http: httpx.AsyncClient) -> None:
    """Votes and comments on one post at the same moment all count: the counters move by increments, never by
    a value computed from a copy read before another writer committed."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    voters = [await register(http) for _ in range(6)]
    await asyncio.gather(*(v.ok_post("/post/like", {"post_id": post["id"], "score": 1}) for v in voters))
    await asyncio.gather(*(make_comment(v, post["id"], "at the same time") for v in voters))
    view = (await user.ok_get("/post", id=post["id"]))["post_view"]
    assert view["counts"]["score"] == 7 and view["counts"]["upvotes"] == 7
    assert view["counts"]["comments"] == 6
    page = await user.ok_get("/community", id=community["id"])
    assert page["community_view"]["counts"]["comments"] == 6
    # Comment votes too, and one person's same vote sent three times at once counts once (each vote, the
    # comment's row locked first, sees the vote it replaces).
    comment = await make_comment(user, post["id"], "voted on by everyone at once")
    like = {"comment_id": comment["id"], "score": 1}
    await asyncio.gather(
        *(v.ok_post("/comment/like", like) for v in voters), *(user.ok_post("/comment/like", like) for _ in range(3))
    )
    counts = (await user.ok_get("/comment", id=comment["id"]))["comment_view"]["counts"]
    assert (counts["score"], counts["upvotes"], counts["downvotes"]) == (7, 7, 0)


async def test_votes_write_the_controversy_rank_of_their_counts(
    user: Api, http: httpx.AsyncClient, settings: Settings
) -> None:
    """The rank is written with the counters (chosen for the vote the statement finds it replaces): after ups,
    downs, changes and votes taken back, it is the one the counts give."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    voters = [await register(http) for _ in range(4)]
    for voter, scores in zip(voters, ([-1], [1, -1], [-1, 0], [1, -1, 1]), strict=True):
        for score in scores:
            await voter.ok_post("/post/like", {"post_id": post["id"], "score": score})
    db = Database(settings)
    try:
        async with db.read() as session:
            row = (
                await session.execute(
                    select(Post.upvotes, Post.downvotes, Post.controversy_rank).where(Post.id == post["id"])
                )
            ).one()
    finally:
        await db.dispose()
    assert (row.upvotes, row.downvotes) == (2, 2)  # the author's own and the last voter's; two downs
    assert row.controversy_rank == controversy_rank(2, 2)


async def test_a_new_posts_announces_are_recorded_in_one_statement(db: Database, user: Api) -> None:
    """A local community's new post goes out twice (Announce{Create{Page}}, and Announce{Page} for Mastodon): one
    INSERT of both rows on PostgreSQL (federation/outbox.py `record_all`), one each on SQLite."""
    community = await make_community(user)
    async with db.read() as session:
        before = await session.scalar(select(func.max(SentActivity.id))) or 0
    async with count_queries() as statements:
        post = await make_post(user, community["id"])
    assert _kinds(statements).count("INSERT sent_activity") == (1 if backend() == "postgres" else 2)
    async with db.read() as session:
        rows = (
            await session.scalars(select(SentActivity).where(SentActivity.id > before).order_by(SentActivity.id))
        ).all()
    announced = [json.loads(row.data)["object"] for row in rows]
    assert [(obj["type"], obj.get("object", obj).get("id")) for obj in announced] == [
        ("Create", post["ap_id"]),
        ("Page", post["ap_id"]),
    ]
    assert {row.send_community_followers_of for row in rows} == {community["id"]}
    assert all(row.published is not None and row.actor_ap_id == community["actor_id"] for row in rows)
