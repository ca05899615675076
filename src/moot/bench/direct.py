"""The direct side of a measurement: the same database work as the endpoint, without HTTP, at the same
concurrency, through the same driver and the same pool settings as a server process.

With several server processes the direct side runs as many processes (each with its own pool), so both sides
have the same Python processes in front of the database; one process runs in the caller."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from moot.actions import comments, posts
from moot.bench.loadgen import Measurement
from moot.bench.scenarios import comment_text, flip, partition
from moot.db.engine import Database
from moot.queries.viewer import Viewer, load_viewer
from moot.settings import Settings

Statement = tuple[str, Any]


@dataclass(frozen=True, slots=True)
class DirectSpec:
    """Picklable: what one direct run does. `statements` for reads; tokens and targets for writes."""

    kind: str
    statements: list[Statement] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    targets: list[int] = field(default_factory=list)
    votes: dict[tuple[int, int], int] = field(default_factory=dict)
    jwt_secret: str = ""


class Recorder:
    """Records the statements (with their driver-level parameters) an engine runs while `on` is set."""

    def __init__(self, db: Database) -> None:
        self.on = False
        self.statements: list[Statement] = []
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if self.on:
            self.statements.append((statement, parameters))

    def take(self) -> list[Statement]:
        taken, self.statements = self.statements, []
        return taken


async def _replay(db: Database, statements: list[Statement]) -> None:
    async with db.engine.connect() as conn:
        for statement, parameters in statements:
            result = await conn.exec_driver_sql(statement, parameters)
            if result.returns_rows:
                result.fetchall()


async def _viewer(db: Database, token: str, secret: str) -> Viewer:
    async with db.read() as session:
        viewer = await load_viewer(session, token, secret)
    if viewer is None:
        raise RuntimeError("a bench token did not load a viewer")
    return viewer


async def _comment(db: Database, settings: Settings, viewer: Viewer, post_id: int, text: str) -> None:
    async with db.write() as session:
        # The answer's view is made of the rows written (comments.write_comment): nothing is read after.
        await comments.write_comment(session, settings, viewer, post_id=post_id, content=text)


async def _vote(db: Database, viewer: Viewer, post_id: int, score: int) -> None:
    async with db.write() as session:
        await posts.like_post(session, viewer, post_id, score)  # the answer's view is read with the target


async def direct_load(
    settings: Settings,
    spec: DirectSpec,
    first_task: int,
    tasks: int,
    total_tasks: int,
    duration: float,
    start_at: float,
) -> Measurement:
    """`tasks` loops (numbered from `first_task` out of `total_tasks` overall) from `start_at` (wall clock)
    for `duration` seconds."""
    db = Database(settings)
    votes = dict(spec.votes)
    targets = {t: partition(spec.targets, t, total_tasks) if spec.targets else [] for t in range(total_tasks)}

    async def request(task: int, k: int) -> None:
        if spec.kind == "read":
            await _replay(db, spec.statements)
            return
        # The endpoint loads the viewer from the token on every request; so does this side.
        viewer = await _viewer(db, spec.tokens[task % len(spec.tokens)], spec.jwt_secret)
        post_id = targets[task][k % len(targets[task])]
        if spec.kind == "comment":
            await _comment(db, settings, viewer, post_id, comment_text(task, k))
        else:
            await _vote(db, viewer, post_id, flip(votes, viewer.person_id, post_id))

    try:
        if spec.kind == "read":
            await _replay(db, spec.statements)  # connect and prepare before the clock starts
        return await timed_loops(first_task, tasks, start_at, duration, request)
    finally:
        await db.dispose()


async def timed_loops(
    first_task: int, tasks: int, start_at: float, duration: float, request: Callable[[int, int], Awaitable[None]]
) -> Measurement:
    """`tasks` loops (numbered from `first_task`) from `start_at` (wall clock) for `duration` seconds, each
    timing `request(task, k)` for its k-th request; failures are counted and the first one kept. The direct
    and the reference sides both measure through this."""
    result = Measurement()
    await asyncio.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    stop_at = started + duration

    async def loop(task: int) -> None:
        k = 0
        while time.perf_counter() < stop_at:
            sent = time.perf_counter()
            try:
                await request(task, k)
                result.latencies.append(time.perf_counter() - sent)
            except Exception as exc:
                result.errors += 1
                result.first_error = result.first_error or repr(exc)[:300]
            k += 1

    await asyncio.gather(*(loop(first_task + t) for t in range(tasks)))
    result.seconds = time.perf_counter() - started
    return result


def _in_process(settings: Settings, spec: DirectSpec, first: int, tasks: int, total: int, duration: float,
                start_at: float) -> Measurement:  # fmt: skip
    return asyncio.run(direct_load(settings, spec, first, tasks, total, duration, start_at))


async def measure_direct(
    settings: Settings,
    spec: DirectSpec,
    concurrency: int,
    duration: float,
    processes: int,
    pool: Executor | None,
) -> Measurement:
    """Run `concurrency` loops spread over `processes` processes (the caller's own when it is one)."""
    return await spread(direct_load, _in_process, settings, spec, concurrency, duration, processes, pool)


Load = Callable[[Settings, Any, int, int, int, float, float], Awaitable[Measurement]]
InProcess = Callable[[Settings, Any, int, int, int, float, float], Measurement]


async def spread(
    load: Load,
    in_process: InProcess,
    settings: Settings,
    spec: Any,
    concurrency: int,
    duration: float,
    processes: int,
    pool: Executor | None,
) -> Measurement:
    """`concurrency` loops of `load` over `processes` processes (`in_process`, a picklable function that runs
    `load` in its own event loop, in each), all starting together; their measurements merged. With one process,
    `load` runs here. The direct and the reference sides both spread their loops through this."""
    processes = max(1, min(processes, concurrency))
    if processes == 1 or pool is None:
        return await load(settings, spec, 0, concurrency, concurrency, duration, time.time())
    loop = asyncio.get_running_loop()
    start_at = time.time() + 1.5  # every process connected and prepared before anyone starts
    shares = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    firsts = [sum(shares[:i]) for i in range(processes)]
    futures = [
        loop.run_in_executor(pool, in_process, settings, spec, firsts[i], shares[i], concurrency, duration, start_at)
        for i in range(processes)
    ]
    parts = await asyncio.gather(*futures)
    merged = Measurement(seconds=max(p.seconds for p in parts))
    for part in parts:
        merged.latencies.extend(part.latencies)
        merged.errors += part.errors
        merged.first_error = merged.first_error or part.first_error
    return merged
