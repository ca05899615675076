"""The reference side of `moot bench run`: for each scenario, the cheapest hand-written PostgreSQL statement
that returns the same rows and fields (or, for writes, changes the same rows in one round trip).

The statements live in `bench/reference/<scenario>.sql`, one readable file each, with named parameters
(`:post_id`) that are filled from the scenario's facts. Each is compiled once to the driver's form and then run
like the direct side's replay: the same asyncpg driver through SQLAlchemy, the same pool settings, the same
number of processes. What Moot does beyond them (HTTP, routing, Python models, JSON, the token check) is the
distance the report shows. PostgreSQL only: on SQLite the side is skipped."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import asyncpg

from moot.bench.direct import Statement, spread, timed_loops
from moot.bench.loadgen import Measurement
from moot.bench.scenarios import LISTING_LIMIT, Account, Facts, Scenario, comment_text, flip, partition
from moot.db.engine import Database
from moot.queries.comments import TREE_CAP
from moot.settings import Settings

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "bench" / "reference"
TREE_DEPTH = 8  # the max_depth the tree scenarios ask for


def available(settings: Settings) -> str | None:
    """None when the reference side can run, or why it cannot (reported instead of its numbers)."""
    if settings.is_sqlite:
        return "skipped: the reference statements are PostgreSQL SQL"
    if not REFERENCE_DIR.is_dir():
        return f"skipped: {REFERENCE_DIR} not found (run from a checkout)"
    return None


def load_sql(name: str) -> str:
    """The statement of `bench/reference/<name>.sql` without its comment lines (they explain it)."""
    lines = (REFERENCE_DIR / f"{name}.sql").read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("--"))


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement in the driver's form ($1, $2 ...) and the names of its parameters in that order."""

    sql: str
    names: tuple[str, ...]

    def bind(self, values: dict[str, Any]) -> Statement:
        return self.sql, tuple(values[name] for name in self.names)


def compile_sql(sql: str) -> Compiled:
    dialect: Any = asyncpg.dialect  # the driver Moot's engine uses: $1 placeholders, asyncpg's types
    compiled = text(sql).compile(dialect=dialect())
    return Compiled(compiled.string, tuple(compiled.positiontup or ()))


def decode_cursor(cursor: str) -> int:
    """The post a page cursor names ("P" and the id in hex, as queries/posts.py's encode_cursor writes it)."""
    return int(cursor[1:], 16)


def read_parameters(scenario: Scenario, facts: Facts, accounts: list[Account], cursor: str | None) -> dict[str, Any]:
    """The values a read scenario's reference is run with: the same targets as its HTTP request."""
    tree = {"max_depth": TREE_DEPTH, "limit": TREE_CAP}
    group = facts.link_group
    name = scenario.name
    values: dict[str, Any] = {"limit": LISTING_LIMIT}
    if scenario.user is not None:
        values["viewer_id"] = accounts[scenario.user].person_id
    if name in ("community_hot", "community_hot_user"):
        values["community_id"] = facts.community_id
    elif name == "page50_cursor" and cursor:
        values["anchor_id"] = decode_cursor(cursor)
    elif name == "post":
        values = {"post_id": facts.biggest_post_id}
    elif name == "post_tree":
        values = {"post_id": facts.biggest_post_id, **tree}
    elif name == "joined_tree" and group is not None:
        values = {"post_id": group.home_post_id, **tree}
    elif name == "same_size_tree" and group is not None:
        values = {"post_id": group.same_size_post_id, **tree}
    elif name == "search":
        # The bench's search word is one word of letters: Moot's query for it is a prefix match.
        values.update(query=f"{facts.search_word}:*", pattern=f"%{facts.search_word}%")
    elif name == "person_details":
        values["person_id"] = facts.person_id
    return values


def sql_name(scenario: Scenario, cursor: str | None) -> str:
    """page50_cursor without a cursor (an instance of one page) is the first page: front_hot_anon's statement."""
    if scenario.name == "page50_cursor" and not cursor:
        return "front_hot_anon"
    return scenario.name


def read_statement(scenario: Scenario, facts: Facts, accounts: list[Account], cursor: str | None) -> Statement:
    """The statement bound to its values. The page size is written into the SQL, as Moot writes its own
    (db/params.py `literal_param`): behind a `$n`, PostgreSQL's generic plan expects a tenth of the table, so it
    keeps planning the statement on every run (2.7 ms for the logged-in front page's, against 0.5 executing)."""
    values = read_parameters(scenario, facts, accounts, cursor)
    sql = load_sql(sql_name(scenario, cursor))
    if "limit" in values:
        sql = LIMIT_PARAMETER.sub(str(int(values.pop("limit"))), sql)
    return compile_sql(sql).bind(values)


LIMIT_PARAMETER = re.compile(r":limit\b")


@dataclass(frozen=True, slots=True)
class WriteSpec:
    """Picklable: what one reference write run does. `writers` are person ids (the direct side's accounts,
    in the same order), `targets` the posts written to (the direct side's), `votes` the writers' votes now."""

    kind: str  # "comment" or "vote"
    compiled: Compiled
    writers: list[int]
    targets: list[int]
    base_url: str
    votes: dict[tuple[int, int], int] = field(default_factory=dict)


def write_spec(kind: str, writers: list[Account], targets: list[int], base_url: str, votes: Any) -> WriteSpec:
    name = "create_comment" if kind == "comment" else "vote"
    return WriteSpec(kind, compile_sql(load_sql(name)), [a.person_id for a in writers], targets, base_url, votes)


def write_values(spec: WriteSpec, votes: dict[tuple[int, int], int], task: int, k: int, post_id: int) -> dict[str, Any]:
    """The parameters of write `k` of loop `task`: the same writer, post and text (or vote) as the direct side."""
    person_id = spec.writers[task % len(spec.writers)]
    if spec.kind == "comment":
        content = comment_text(task, k)
        return {"person_id": person_id, "post_id": post_id, "parent_id": None, "content": content,
                "base_url": spec.base_url}  # fmt: skip
    return {"person_id": person_id, "post_id": post_id, "score": flip(votes, person_id, post_id)}


async def write_load(
    settings: Settings, spec: WriteSpec, first_task: int, tasks: int, total_tasks: int, duration: float, start_at: float
) -> Measurement:
    """`tasks` loops of reference writes, each its own transaction (one round trip and the commit)."""
    db = Database(settings)
    votes = dict(spec.votes)
    targets = {t: partition(spec.targets, t, total_tasks) for t in range(total_tasks)}

    async def request(task: int, k: int) -> None:
        post_id = targets[task][k % len(targets[task])]
        sql, parameters = spec.compiled.bind(write_values(spec, votes, task, k, post_id))
        async with db.engine.begin() as conn:
            (await conn.exec_driver_sql(sql, parameters)).fetchall()

    try:
        async with db.engine.connect() as conn:  # connect before the clock starts
            await conn.exec_driver_sql("SELECT 1")
        return await timed_loops(first_task, tasks, start_at, duration, request)
    finally:
        await db.dispose()


def _in_process(settings: Settings, spec: WriteSpec, first: int, tasks: int, total: int, duration: float,
                start_at: float) -> Measurement:  # fmt: skip
    return asyncio.run(write_load(settings, spec, first, tasks, total, duration, start_at))


async def measure_writes(
    settings: Settings, spec: WriteSpec, concurrency: int, duration: float, processes: int, pool: Executor | None
) -> Measurement:
    """`concurrency` write loops over `processes` processes, as direct.measure_direct spreads its loops."""
    return await spread(write_load, _in_process, settings, spec, concurrency, duration, processes, pool)


# The server settings a run records (`SHOW`), beside the machine's facts: what `moot pg-config` sizes.
SERVER_SETTINGS = (
    "server_version",
    "max_connections",
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "maintenance_work_mem",
    "random_page_cost",
    "effective_io_concurrency",
    "jit",
    "max_wal_size",
    "checkpoint_completion_target",
    "max_worker_processes",
    "max_parallel_workers_per_gather",
    "synchronous_commit",
)


async def server_settings(settings: Settings) -> dict[str, str]:
    """The PostgreSQL server's values of SERVER_SETTINGS, as `SHOW` prints them (empty on SQLite)."""
    if settings.is_sqlite:
        return {}
    db = Database(settings)
    try:
        async with db.engine.connect() as conn:
            return {name: str(await conn.scalar(text(f"SHOW {name}"))) for name in SERVER_SETTINGS}
    finally:
        await db.dispose()
