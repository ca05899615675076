"""`moot bench seed` and `moot bench run` end to end on a tiny instance (of the engine under test).

The seed must leave every counter equal to what its rows say (and the real actions must keep them so while the
run writes comments and votes); the run must measure every scenario, both sides, without errors."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from conftest import DatabaseUnderTest, drop_database, make_database
from moot.db.engine import Database
from moot.queries.comments import TREE_CAP, CommentQuery, list_comments
from moot.settings import load_settings

SCENARIOS = {
    "front_hot_anon",
    "front_default",
    "front_hot_user",
    "community_hot",
    "community_hot_user",
    "subscribed",
    "page50_cursor",
    "post",
    "post_tree",
    "joined_tree",
    "same_size_tree",
    "search",
    "person_details",
    "create_comment",
    "vote",
}


@pytest.fixture(scope="module")
def bench_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    db = make_database(tmp_path_factory.mktemp("bench"))
    yield db
    drop_database(db)


async def _moot(db: DatabaseUnderTest, *args: str) -> str:
    env = {**os.environ, "MOOT_DATA_DIR": str(db.data_dir), "MOOT_DATABASE_URL": db.url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "moot.cli", "bench", *args, "--database-url", db.url,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 0, err.decode()[-3000:]
    return out.decode()


@pytest.fixture(scope="module")
async def seeded(bench_db: DatabaseUnderTest) -> dict[str, Any]:
    out = await _moot(bench_db, "seed", "--communities", "6", "--people", "60", "--posts", "300", "--comments",
                      "3000", "--users", "4", "--link-group", "400")  # fmt: skip
    report: dict[str, Any] = json.loads(out)
    return report


@pytest.fixture
async def conn(bench_db: DatabaseUnderTest) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(bench_db.url)
    async with engine.connect() as connection:
        yield connection
    await engine.dispose()


async def _rows(conn: AsyncConnection, sql: str) -> list[Any]:
    return list((await conn.execute(text(sql))).all())


async def _mismatches(conn: AsyncConnection) -> dict[str, int]:
    """Every stored counter against a count of the rows it summarises (0 everywhere when consistent)."""
    checks = {
        "post.comments": """
            SELECT count(*) FROM post p LEFT JOIN (SELECT post_id, count(*) AS n FROM comment GROUP BY post_id) c
            ON c.post_id = p.id WHERE p.comments != coalesce(c.n, 0)""",
        "post votes": """
            SELECT count(*) FROM post p LEFT JOIN (
              SELECT post_id, sum(like_score) AS s, sum(CASE WHEN like_score = 1 THEN 1 ELSE 0 END) AS u,
                     sum(CASE WHEN like_score = -1 THEN 1 ELSE 0 END) AS d
              FROM post_actions GROUP BY post_id) a ON a.post_id = p.id
            WHERE p.score != coalesce(a.s, 0) OR p.upvotes != coalesce(a.u, 0) OR p.downvotes != coalesce(a.d, 0)""",
        "comment votes": """
            SELECT count(*) FROM comment c LEFT JOIN (
              SELECT comment_id, sum(like_score) AS s, sum(CASE WHEN like_score = 1 THEN 1 ELSE 0 END) AS u,
                     sum(CASE WHEN like_score = -1 THEN 1 ELSE 0 END) AS d
              FROM comment_actions GROUP BY comment_id) a ON a.comment_id = c.id
            WHERE c.score != coalesce(a.s, 0) OR c.upvotes != coalesce(a.u, 0) OR c.downvotes != coalesce(a.d, 0)""",
        "community counts": """
            SELECT count(*) FROM community m
            LEFT JOIN (SELECT community_id, count(*) AS n FROM post GROUP BY community_id) p ON p.community_id = m.id
            LEFT JOIN (SELECT p.community_id, count(*) AS n FROM comment c JOIN post p ON p.id = c.post_id
                       GROUP BY p.community_id) c ON c.community_id = m.id
            LEFT JOIN (SELECT f.community_id, count(*) AS n,
                              sum(CASE WHEN pe.local THEN 1 ELSE 0 END) AS l
                       FROM community_follower f JOIN person pe ON pe.id = f.person_id
                       GROUP BY f.community_id) f ON f.community_id = m.id
            WHERE m.posts != coalesce(p.n, 0) OR m.comments != coalesce(c.n, 0)
               OR m.subscribers != coalesce(f.n, 0) OR m.subscribers_local != coalesce(f.l, 0)""",
        "person counts": """
            SELECT count(*) FROM person m
            LEFT JOIN (SELECT creator_id, count(*) AS n FROM post GROUP BY creator_id) p ON p.creator_id = m.id
            LEFT JOIN (SELECT creator_id, count(*) AS n FROM comment GROUP BY creator_id) c ON c.creator_id = m.id
            WHERE m.post_count != coalesce(p.n, 0) OR m.comment_count != coalesce(c.n, 0)""",
    }
    found = {name: int((await _rows(conn, sql))[0][0]) for name, sql in checks.items()}
    comments = await _rows(conn, "SELECT id, post_id, path, depth, child_count FROM comment")
    by_id = {row.id: row for row in comments}
    descendants: Counter[int] = Counter()
    bad_paths = 0
    for row in comments:
        ids = [int(i) for i in row.path.split(".")[1:]]
        bad_paths += ids[-1] != row.id or len(ids) != row.depth
        bad_paths += any(by_id[a].post_id != row.post_id for a in ids[:-1])
        descendants.update(ids[:-1])
    found["child_count"] = sum(1 for row in comments if row.child_count != descendants[row.id])
    found["path and depth"] = bad_paths
    return found


async def test_seed_makes_a_skewed_consistent_instance(seeded: dict[str, Any], conn: AsyncConnection) -> None:
    assert seeded["rows"]["post"] == 300 and seeded["rows"]["comment"] == 3000
    assert seeded["rows"]["comment_actions"] >= 3000  # at least every author's own upvote
    assert await _mismatches(conn) == {k: 0 for k in await _mismatches(conn)}
    counts = sorted(r[0] for r in await _rows(conn, "SELECT comments FROM post"))
    # Skewed: one big thread (a tenth of all comments here), while most posts have a handful or none.
    assert counts[-1] >= 300
    assert counts[len(counts) // 2] <= 10
    depth = (await _rows(conn, "SELECT max(depth) FROM comment"))[0][0]
    assert depth >= 8
    for table in ("post", "comment", "person", "community"):
        total, distinct = (await _rows(conn, f"SELECT count(*), count(DISTINCT ap_id) FROM {table}"))[0]
        assert total == distinct
    follows = await _rows(
        conn,
        "SELECT p.name, count(*) FROM community_follower f JOIN person p ON p.id = f.person_id "
        "WHERE p.name = 'bench_0' GROUP BY p.name",
    )
    assert follows == [("bench_0", 6)]  # wants 50, the instance has 6 communities
    ranked = (await _rows(conn, "SELECT count(*) FROM post WHERE hot_rank > 0"))[0][0]
    assert 0 < ranked < 300
    # The site's counts (kept by triggers, which the PostgreSQL load turns off) are the rows' own.
    stored = (await _rows(conn, "SELECT sum(users), sum(posts), sum(comments), sum(communities) FROM site_counts"))[0]
    counted = [
        (await _rows(conn, f"SELECT count(*) FROM {table} WHERE local AND NOT deleted"))[0][0]
        for table in ("person", "post", "comment", "community")
    ]
    assert list(stored) == counted and counted[2] > 0


async def test_seed_makes_a_link_group_and_a_thread_of_its_size(seeded: dict[str, Any], conn: AsyncConnection) -> None:
    group = await _rows(
        conn,
        "SELECT url_match, count(*), count(DISTINCT community_id), count(DISTINCT url), sum(comments) FROM post "
        "WHERE url LIKE '%link-group.example%' GROUP BY url_match",
    )
    # One key for the four spellings of the link; a post in each of the 6 communities; 400 comments in all.
    assert [tuple(r) for r in group] == [("link-group.example/2026/one-story-many-communities", 6, 6, 4, 400)]
    single = await _rows(conn, "SELECT comments FROM post WHERE url LIKE '%same-size.example%'")
    assert [r[0] for r in single] == [400]


async def test_the_joined_tree_is_the_best_300_of_all_the_posts(
    seeded: dict[str, Any], bench_db: DatabaseUnderTest, conn: AsyncConnection
) -> None:
    """The joined tree takes each post's best 300 and merges them (queries/comments.py): the same comments as
    sorting every comment of the group's posts and keeping 300 (the group has 400 here, so the cap bites)."""
    ids = [r[0] for r in await _rows(conn, "SELECT id FROM post WHERE url LIKE '%link-group.example%' ORDER BY id")]
    every = await _rows(
        conn,
        "SELECT c.id, c.post_id FROM comment c WHERE c.post_id IN ({}) AND c.depth <= 8 "
        "ORDER BY c.depth, c.distinguished DESC, c.hot_rank DESC, c.score DESC, c.id".format(",".join(map(str, ids))),
    )
    assert len(every) > TREE_CAP
    settings = load_settings({"MOOT_DATABASE_URL": bench_db.url, "MOOT_DATA_DIR": str(bench_db.data_dir)})
    db = Database(settings)
    try:
        async with db.read() as session:
            views = await list_comments(session, CommentQuery(post_ids=ids, max_depth=8), None)
    finally:
        await db.dispose()
    assert len(views) == TREE_CAP
    assert {v.comment.id for v in views} == {r.id for r in every[:TREE_CAP]}
    assert len({v.comment.post_id for v in views}) == len(ids)  # every post has some of the best


async def test_seed_keeps_full_text_search(seeded: dict[str, Any], conn: AsyncConnection) -> None:
    word = (await _rows(conn, "SELECT content FROM comment ORDER BY id LIMIT 1"))[0][0].split()[0].lower()
    if conn.dialect.name == "sqlite":
        assert (await _rows(conn, "SELECT count(*) FROM comment_fts"))[0][0] == 3000
        assert (await _rows(conn, "SELECT count(*) FROM post_fts"))[0][0] == 300
        sql = f"SELECT count(*) FROM comment_fts WHERE comment_fts MATCH '\"{word}\"'"
    else:
        sql = f"SELECT count(*) FROM comment WHERE to_tsvector('simple', content) @@ to_tsquery('simple', '{word}')"
    assert (await _rows(conn, sql))[0][0] >= 1


async def test_seed_leaves_every_table_with_statistics(seeded: dict[str, Any], conn: AsyncConnection) -> None:
    """Plans on the bench database are those of a live one (autovacuum analyzes what is written; CI's PostgreSQL
    runs without it): no table the seed filled is left without statistics."""
    if conn.dialect.name == "sqlite":
        assert (await _rows(conn, "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'local_user'"))[0][0] >= 1
        return
    never = "last_analyze IS NULL AND last_autoanalyze IS NULL"
    assert await _rows(conn, f"SELECT relname FROM pg_stat_user_tables WHERE n_tup_ins > 0 AND {never}") == []
    admin = "SELECT count(*) FROM pg_stats WHERE tablename = 'local_user' AND attname = 'admin'"
    assert (await _rows(conn, admin))[0][0] == 1


async def test_seed_refuses_a_database_with_content(seeded: dict[str, Any], bench_db: DatabaseUnderTest) -> None:
    env = {**os.environ, "MOOT_DATA_DIR": str(bench_db.data_dir)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "moot.cli", "bench", "seed", "--posts", "5", "--database-url", bench_db.url,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 1
    assert b"already has posts" in err


async def test_run_measures_every_scenario(
    seeded: dict[str, Any], bench_db: DatabaseUnderTest, conn: AsyncConnection, tmp_path: Path
) -> None:
    out = tmp_path / "result.json"
    table = await _moot(bench_db, "run", "--duration", "1", "--concurrency", "1", "--warmup", "0", "--out", str(out))
    report = json.loads(out.read_text())
    assert set(report["scenarios"]) == SCENARIOS
    for name, scenario in report["scenarios"].items():
        cell = scenario["cells"][0]
        assert cell["concurrency"] == 1
        assert cell["moot"]["requests"] > 0 and cell["direct"]["requests"] > 0, name
        assert cell["moot"]["errors"] == 0 and cell["direct"]["errors"] == 0, (name, cell.get("first_error"))
        assert cell["ratio"] > 0
        assert scenario["direct"] == ("sql-replay" if name not in ("create_comment", "vote") else "actions-in-process")
        assert name in table
        if conn.dialect.name == "sqlite":  # the reference statements are PostgreSQL SQL
            assert "reference" not in cell and scenario["reference"].startswith("skipped")
        else:
            reference = cell["reference"]
            assert reference["requests"] > 0 and reference["errors"] == 0, (name, cell.get("first_error"))
            assert cell["moot_over_reference"] > 0 and cell["direct_over_reference"] > 0
            assert scenario["reference"] == f"bench/reference/{name}.sql"
    server = report["postgresql_settings"]  # what `moot pg-config` sizes, as the server has it
    assert server == {} if conn.dialect.name == "sqlite" else server["jit"] in ("on", "off") and "work_mem" in server
    assert report["database"]["biggest_thread_comments"] >= 300
    assert report["database"]["link_group"]["comments"] == 400
    assert report["database"]["link_group"]["communities"] == 6
    assert report["database"]["link_group"]["same_size_comments"] == 400
    assert report["database"]["cursor_page"] == 15  # 300 posts, 20 a page: the walk ends at the last page
    assert all(p["peak_rss_mib"] > 0 for p in report["server_memory"])
    # The run wrote comments and votes through the real actions: the counters still add up.
    assert await _mismatches(conn) == {k: 0 for k in await _mismatches(conn)}


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
async def test_instructions_counts_a_request_and_a_vote(seeded: dict[str, Any], bench_db: DatabaseUnderTest) -> None:
    """`moot bench instructions` counts the instructions of the measured requests (callgrind), an anonymous read
    and a logged-in vote that changes each time (SCORE flipped): each costs millions (nothing counted would be
    zero: instrumentation never switched on), and far less than the start-up it leaves out (hundreds of millions)."""

    async def counted(*args: str) -> float:
        out = await _moot(bench_db, "instructions", *args, "--requests", "3")
        assert "measured 3 requests" in out, out
        return float(out.rsplit(": ", 1)[1].split(" M instructions")[0])

    read = await counted("/api/v3/post?id=1")
    body = '{"post_id": 1, "score": SCORE}'
    vote = await counted("/api/v3/post/like", "--method", "POST", "--body", body, "--flip", "--login", "bench_1")
    assert 1 < read < 100 and 1 < vote < 100
    # Signed inbound replies (signed before the count): each one answered 200 and stored, 20 warm-up ones too.
    before = await _comments_on(bench_db, 1)
    inbound = await counted("/inbox", "--inbound-reply-to", "1")
    assert 1 < inbound < 100
    assert await _comments_on(bench_db, 1) == before + 23


async def _comments_on(db: DatabaseUnderTest, post_id: int) -> int:
    engine = create_async_engine(db.url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("SELECT count(*) FROM comment WHERE post_id = :id"), {"id": post_id}))
    finally:
        await engine.dispose()
