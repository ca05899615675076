"""The reference side of `moot bench run` is honest: each hand-written statement (bench/reference/*.sql) returns
the same rows, in the same order, as Moot's API for its scenario, with the same viewer flags; and the write
statements change the same counters as Moot's actions. PostgreSQL only (the statements are PostgreSQL SQL)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from conftest import DatabaseUnderTest, backend, drop_database, make_database
from moot.app import create_app
from moot.bench.reference import compile_sql, load_sql, write_spec, write_values
from moot.bench.run import HOST, Prepared, _prepare
from moot.bench.scenarios import Account, write_accounts
from moot.db.engine import Database
from moot.settings import Settings, load_settings

pytestmark = pytest.mark.skipif(backend() != "postgres", reason="the reference statements are PostgreSQL SQL")


@pytest.fixture(scope="module")
def bench_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    db = make_database(tmp_path_factory.mktemp("reference"))
    yield db
    drop_database(db)


@pytest.fixture(scope="module")
async def settings(bench_db: DatabaseUnderTest) -> Settings:
    env = {**os.environ, "MOOT_DATA_DIR": str(bench_db.data_dir), "MOOT_DATABASE_URL": bench_db.url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "moot.cli", "bench", "seed", "--communities", "6", "--people", "60", "--posts", "300",
        "--comments", "3000", "--users", "4", "--link-group", "400", "--database-url", bench_db.url,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()[-3000:]
    loaded = load_settings({"MOOT_DATABASE_URL": bench_db.url, "MOOT_DATA_DIR": str(bench_db.data_dir)})
    return dataclasses.replace(loaded, run_jobs=False, run_delivery=False, anon_cache_seconds=0)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, migrate=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(HOST, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{settings.hostname}") as client:
            yield client


async def _reference(db: Database, prepared: Prepared, name: str) -> list[Any]:
    sql, parameters = prepared.reference[name]
    async with db.engine.connect() as conn:
        return list((await conn.exec_driver_sql(sql, parameters)).all())


async def _get(api: httpx.AsyncClient, path: str, token: str | None = None) -> Any:
    reply = await api.get(path, headers={"Authorization": f"Bearer {token}"} if token else {})
    assert reply.status_code == 200, reply.text[:300]
    return reply.json()


def _flags(view: dict[str, Any]) -> tuple[Any, ...]:
    """Lemmy leaves my_vote out for nobody's vote."""
    return view["post"]["id"], view.get("my_vote") or 0, view["saved"], view["read"], view["creator_is_moderator"]


def _row_flags(row: Any) -> tuple[Any, ...]:
    return row.id, row.my_vote or 0, row.saved is not None, row.read is not None, row.creator_is_moderator


async def test_the_read_references_return_moot_s_rows(settings: Settings, api: httpx.AsyncClient, db: Database) -> None:
    # bench_1 leaves flags on the front page first (a vote, a save, a hidden post), so that they are compared.
    bench_1 = (await api.post("/api/v3/user/login", json={"username_or_email": "bench_1",
                                                          "password": "bench-password-1"})).json()["jwt"]  # fmt: skip
    auth = {"Authorization": f"Bearer {bench_1}"}
    views = (await _get(api, "/api/v3/post/list?type_=All&sort=Hot&limit=20"))["posts"]
    front = [v["post"]["id"] for v in views]
    assert (await api.post("/api/v3/post/like", json={"post_id": front[0], "score": -1}, headers=auth)).is_success
    assert (await api.put("/api/v3/post/save", json={"post_id": front[1], "save": True}, headers=auth)).is_success
    assert (await api.post("/api/v3/post/hide", json={"post_ids": [front[2]], "hide": True}, headers=auth)).is_success
    # ... and blocks the author of a later post there (not an admin: those cannot be blocked).
    blocked = next(v["creator"]["id"] for v in views[3:] if not v["creator_is_admin"])
    assert (await api.post("/api/v3/user/block", json={"person_id": blocked, "block": True}, headers=auth)).is_success

    prepared = await _prepare(settings)
    scenarios = {s.name: s for s in prepared.scenarios if s.kind == "read"}
    assert set(prepared.reference) == set(scenarios)
    checked = set()
    for name, scenario in scenarios.items():
        token = prepared.accounts[scenario.user].token if scenario.user is not None else None
        moot = await _get(api, scenario.path, token)
        rows = await _reference(db, prepared, name)
        if "posts" in moot and name != "search" and name != "person_details":
            assert [r.id for r in rows] == [v["post"]["id"] for v in moot["posts"]], name
            assert [_row_flags(r) for r in rows] == [_flags(v) for v in moot["posts"]], name
            assert len(rows) == 20 or name == "subscribed", name
        elif "comments" in moot and name.endswith("tree"):
            # The same 300 comments; Moot lays them out in its tree's order, the reference in the sort's.
            assert sorted(r.id for r in rows) == sorted(v["comment"]["id"] for v in moot["comments"]), name
            assert len(rows) >= 250, name  # most of a 300-cap tree: a real comparison, not two empty lists
        elif name == "post":
            (row,) = rows
            assert row.post_view["id"] == moot["post_view"]["post"]["id"]
            assert row.community_view["id"] == moot["community_view"]["community"]["id"]
            assert [m["id"] for m in row.moderators] == [m["moderator"]["id"] for m in moot["moderators"]]
            assert [p["id"] for p in row.cross_posts] == [p["post"]["id"] for p in moot["cross_posts"]]
        elif name == "search":
            (row,) = rows
            assert [p["id"] for p in row.posts] == [v["post"]["id"] for v in moot["posts"]]
            assert [c["id"] for c in row.comments] == [v["comment"]["id"] for v in moot["comments"]]
            assert [c["id"] for c in row.communities] == [v["community"]["id"] for v in moot["communities"]]
            assert [u["id"] for u in row.users] == [v["person"]["id"] for v in moot["users"]]
            assert row.comments, "the search word matches comments"
        elif name == "person_details":
            (row,) = rows
            assert row.person_view["id"] == moot["person_view"]["person"]["id"]
            assert [p["id"] for p in row.posts] == [v["post"]["id"] for v in moot["posts"]]
            assert [c["id"] for c in row.comments] == [v["comment"]["id"] for v in moot["comments"]]
            assert [m["id"] for m in row.moderates] == [v["community"]["id"] for v in moot["moderates"]]
            assert len(row.comments) == 20
        checked.add(name)
    assert checked == set(scenarios)
    # The flags really were exercised: the user's front page has the vote and the save, not the hidden post.
    user_rows = await _reference(db, prepared, "front_hot_user")
    assert {r.id: (r.my_vote, r.saved is not None) for r in user_rows}[front[0]] == (-1, False)
    assert {r.id: r.saved is not None for r in user_rows}[front[1]]
    assert front[2] not in {r.id for r in user_rows}
    assert blocked not in {r.creator_id for r in user_rows}


async def _counters(db: Database, post_id: int, person_id: int) -> dict[str, Any]:
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT p.comments, p.score, p.upvotes, p.downvotes, p.controversy_rank, c.comments AS community,"
                    " u.comment_count, a.like_score, a.read IS NOT NULL AS read,"
                    " a.read_comments_amount IS NOT DISTINCT FROM p.comments AS read_all_comments,"
                    " (SELECT count(*) FROM comment_reply) AS replies"
                    " FROM post p JOIN community c ON c.id = p.community_id JOIN person u ON u.id = :person"
                    " LEFT JOIN post_actions a ON a.post_id = p.id AND a.person_id = :person WHERE p.id = :post"
                ),
                {"post": post_id, "person": person_id},
            )
        ).one()
    return dict(row._mapping)


def _delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed: numbers as differences, the rest as the new value."""
    counted = {k for k, v in after.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return {k: after[k] - (before[k] or 0) if k in counted - {"like_score"} else after[k] for k in after}


async def _newest_comment(db: Database, person_id: int) -> Any:
    async with db.engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT k.path, k.depth, k.score, k.upvotes, k.child_count, k.ap_id, k.post_id, k.id, a.like_score"
                    " FROM comment k JOIN comment_actions a ON a.comment_id = k.id AND a.person_id = k.creator_id"
                    " WHERE k.creator_id = :person ORDER BY k.id DESC LIMIT 1"
                ),
                {"person": person_id},
            )
        ).one()


async def _write(db: Database, spec: Any, values: dict[str, Any]) -> None:
    sql, parameters = spec.compiled.bind(values)
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(sql, parameters)


async def test_the_write_references_change_what_moot_s_actions_change(
    settings: Settings, api: httpx.AsyncClient, db: Database
) -> None:
    async with db.engine.connect() as conn:
        writer_id = (await conn.execute(text("SELECT id FROM person WHERE name = 'bench_3'"))).scalar_one()
        # Two busy posts, each with a depth-2 comment by another local user: the reply notifies them.
        found = await conn.execute(
            text(
                "SELECT DISTINCT ON (k.post_id) k.post_id, k.id, k.path, k.creator_id FROM comment k"
                " JOIN local_user l ON l.person_id = k.creator_id"
                " WHERE k.depth = 2 AND k.creator_id <> :writer ORDER BY k.post_id, k.id LIMIT 2"
            ),
            {"writer": writer_id},
        )
        parents = {row.post_id: row for row in found}
    posts = sorted(parents)
    assert len(posts) == 2
    token = (await api.post("/api/v3/user/login", json={"username_or_email": "bench_3",
                                                        "password": "bench-password-1"})).json()["jwt"]  # fmt: skip
    writer = Account("bench_3", writer_id, token)
    moot_post, reference_post = posts
    auth = {"Authorization": f"Bearer {token}"}

    # A reply (to a depth-2 comment: two ancestors' child_count move) by Moot, then by the reference.
    before = await _counters(db, moot_post, writer_id)
    body = {"post_id": moot_post, "parent_id": parents[moot_post].id, "content": "A reply, the Moot way."}
    assert (await api.post("/api/v3/comment", json=body, headers=auth)).is_success
    moot_delta = _delta(before, await _counters(db, moot_post, writer_id))
    moot_comment = await _newest_comment(db, writer_id)

    spec = write_spec("comment", [writer], [reference_post], settings.base_url, {})
    before = await _counters(db, reference_post, writer_id)
    values = write_values(spec, {}, 0, 0, reference_post) | {"parent_id": parents[reference_post].id}
    await _write(db, spec, values)
    reference_delta = _delta(before, await _counters(db, reference_post, writer_id))
    reference_comment = await _newest_comment(db, writer_id)

    assert moot_delta["comments"] == 1 and moot_delta["community"] == 1 and moot_delta["comment_count"] == 1
    assert reference_delta == moot_delta
    for made, parent in ((moot_comment, parents[moot_post]), (reference_comment, parents[reference_post])):
        assert made.path == f"{parent.path}.{made.id}" and made.depth == 3
        assert (made.score, made.upvotes, made.child_count, made.like_score) == (1, 1, 0, 1)
        assert made.ap_id == f"{settings.base_url}/comment/{made.id}"
    async with db.engine.connect() as conn:
        ancestors = list(
            await conn.execute(
                text(
                    "SELECT a.child_count, (SELECT count(*) FROM comment d WHERE d.post_id = a.post_id"
                    " AND d.path LIKE a.path || '.%') AS descendants FROM comment a WHERE a.id = ANY(:ids)"
                ),
                {"ids": [int(i) for p in posts for i in parents[p].path.split(".")[1:]]},
            )
        )
    # Both ancestors of both parents (and the parents) count every reply under them, the new ones included.
    assert len(ancestors) == 4
    assert all(r.child_count == r.descendants for r in ancestors)

    # Votes: up, down, then taken back, by Moot and by the reference: the same counters move the same way.
    spec = write_spec("vote", [writer], [reference_post], settings.base_url, {})
    for score in (1, -1, 0):
        before = await _counters(db, moot_post, writer_id)
        vote = {"post_id": moot_post, "score": score}
        assert (await api.post("/api/v3/post/like", json=vote, headers=auth)).is_success
        moot_delta = _delta(before, await _counters(db, moot_post, writer_id))
        before = await _counters(db, reference_post, writer_id)
        await _write(db, spec, {"person_id": writer_id, "post_id": reference_post, "score": score})
        reference_delta = _delta(before, await _counters(db, reference_post, writer_id))
        assert {k: v for k, v in reference_delta.items() if k != "controversy_rank"} == {
            k: v for k, v in moot_delta.items() if k != "controversy_rank"
        }, score
        assert moot_delta["like_score"] == (score or None)


async def test_the_statements_compile_to_the_driver_s_form() -> None:
    compiled = compile_sql(load_sql("vote"))
    assert set(compiled.names) == {"person_id", "post_id", "score"}
    assert "$1" in compiled.sql and ":score" not in compiled.sql
    assert "--" not in load_sql("front_hot_anon")  # the comments explain; they are not sent
    assert write_accounts([Account("a", 1, ""), Account("b", 2, ""), Account("c", 3, "")])[0].person_id == 3
