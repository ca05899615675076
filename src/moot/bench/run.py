"""`moot bench run`: start the real server, drive each scenario over HTTP, do the same work directly, report.

Per scenario and concurrency level, three sides each run for `--duration` seconds (`--repeat` times, medians
reported): Moot over HTTP, the direct side (Moot's own SQL replayed, or its actions in-process for writes), and
the reference side (the cheapest hand-written statement for the same rows, bench/reference/*.sql; PostgreSQL
only). The server is `moot serve` as in production: one process per core on PostgreSQL (one on SQLite), jobs
and delivery off so that only the measured requests run."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from moot import __version__
from moot.app import create_app
from moot.bench.direct import DirectSpec, Recorder, Statement, measure_direct
from moot.bench.loadgen import Measurement, run_load
from moot.bench.progress import step
from moot.bench.reference import available, measure_writes, read_statement, server_settings, sql_name, write_spec
from moot.bench.scenarios import (
    CURSOR_PAGE,
    Account,
    Facts,
    Scenario,
    build_scenarios,
    current_votes,
    discover,
    http_maker,
    listing_path,
    split_targets,
    write_accounts,
)
from moot.bench.seed import BENCH_PASSWORD
from moot.bench.stats import Summary, median_of, summarize
from moot.db.engine import Database
from moot.queries.site import load_local_site
from moot.settings import Settings

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class RunOptions:
    duration: float = 10.0
    concurrency: list[int] = field(default_factory=lambda: [1, 4, 16, 64])
    out: str | None = None
    workers: int | None = None
    repeat: int = 1
    warmup: float = 1.0
    scenarios: list[str] = field(default_factory=list)
    label: str = ""
    anon_cache_seconds: float | None = None  # None: the server's default


@dataclass(slots=True)
class Prepared:
    facts: Facts
    accounts: list[Account]
    scenarios: list[Scenario]
    captured: dict[str, list[Statement]]
    jwt_secret: str
    cursor_page: int
    cursor: str | None
    reference: dict[str, Statement]  # each read scenario's reference statement, bound to its targets


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


async def _walk_cursor(client: httpx.AsyncClient) -> tuple[str | None, int]:
    """Follow next_page from the first page to page 50, or to the last page that has posts."""
    cursors: list[str | None] = [None]  # cursors[k - 1] fetches page k
    while len(cursors) < CURSOR_PAGE:
        body = (await client.get(listing_path(cursors[-1]))).json()
        if not body.get("posts"):
            if len(cursors) > 1:
                cursors.pop()
            break
        if "next_page" not in body:
            break
        cursors.append(body["next_page"])
    return cursors[-1], len(cursors)


async def _prepare(settings: Settings) -> Prepared:
    """In-process, before the server starts: find the targets, log the bench accounts in, walk the cursor,
    and capture the SQL each read scenario issues (the second of two identical requests, caches warm)."""
    db = Database(settings)
    try:
        facts = await discover(db)
        async with db.read() as session:
            loaded = await load_local_site(session)
        if loaded is None:
            raise RuntimeError("the database has no site: seed it with `moot bench seed`")
    finally:
        await db.dispose()
    # The capture must see the SQL of every request: no anonymous cache in this in-process app.
    app = create_app(dataclasses.replace(settings, anon_cache_seconds=0), migrate=False)
    async with app.router.lifespan_context(app):
        recorder = Recorder(app.state.moot.db)
        transport = httpx.ASGITransport(app=app, client=(HOST, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{settings.hostname}") as client:
            accounts = []
            for name, person_id in facts.bench_users:
                reply = await client.post(
                    "/api/v3/user/login", json={"username_or_email": name, "password": BENCH_PASSWORD}
                )
                reply.raise_for_status()
                accounts.append(Account(name=name, person_id=person_id, token=reply.json()["jwt"]))
            cursor, page = await _walk_cursor(client)
            scenarios = build_scenarios(facts, cursor, page)
            captured: dict[str, list[Statement]] = {}
            for scenario in scenarios:
                if scenario.kind != "read":
                    continue
                token = accounts[scenario.user].token if scenario.user is not None else None
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                for attempt in range(2):
                    recorder.on = attempt == 1
                    reply = await client.request(scenario.method, scenario.path, headers=headers)
                    recorder.on = False
                    if reply.status_code != 200:
                        raise RuntimeError(f"{scenario.name}: {reply.status_code} {reply.text[:300]}")
                captured[scenario.name] = recorder.take()
    reference = {}
    if available(settings) is None:
        reference = {s.name: read_statement(s, facts, accounts, cursor) for s in scenarios if s.kind == "read"}
    return Prepared(facts, accounts, scenarios, captured, loaded.jwt_secret, page, cursor, reference)


@dataclass(slots=True)
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path


def start_server(
    settings: Settings, workers: int, env: dict[str, str] | None = None, port: int | None = None
) -> Server:
    """`moot serve --workers N` on a loopback port; `env` adds to (or overrides) the environment."""
    port = port or _free_port()
    log = Path(tempfile.mkstemp(prefix="moot-bench-server-", suffix=".log")[1])
    full_env = {
        **os.environ,
        "MOOT_DATABASE_URL": settings.effective_database_url,
        "MOOT_DATA_DIR": str(settings.data_dir),
        "MOOT_HOSTNAME": settings.hostname,
        "MOOT_TLS_ENABLED": "true" if settings.tls_enabled else "false",
        "MOOT_DB_POOL_SIZE": str(settings.db_pool_size),
        # Only the measured requests run: no rank job, no delivery loop, in any process.
        "MOOT_RUN_JOBS": "false",
        "MOOT_RUN_DELIVERY": "false",
        "MOOT_ANON_CACHE_SECONDS": str(settings.anon_cache_seconds),
        **(env or {}),
    }
    command = [sys.executable, "-m", "moot.cli", "serve", "--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=full_env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        try:
            # Every process listening, not only the first: connections go to the sockets there are.
            up = listening_processes(port, process.pid) == workers
            if up and httpx.get(f"http://{HOST}:{port}/api/v3/site", timeout=2).status_code == 200:
                return Server(process=process, port=port, log=log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    server.log.unlink(missing_ok=True)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_memory(root: int) -> list[dict[str, Any]]:
    """Peak resident memory (VmHWM) of the server process and every process under it (the workers)."""
    processes = []
    for pid in process_tree(root):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120].strip()
        except OSError:
            command = "?"
        processes.append({"pid": pid, "peak_rss_mib": round(_status_kib(pid, "VmHWM") / 1024, 1), "cmd": command})
    return processes


def process_tree(root: int) -> list[int]:
    """`root` and the processes under it (its children, theirs, ...): a server and its workers."""
    found, todo = [root], [root]
    while todo:
        children = _children(todo.pop())
        found += children
        todo += children
    return found


def _socket_inodes(port: int, state: str) -> set[str]:
    """The inodes of the TCP sockets whose local port is `port`, in `state` ("01" established, "0A" listening),
    from /proc/net/tcp and tcp6."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local address "0100007F:1F90", then the remote one, the state, ..., the inode tenth
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU time each process has used (one that has exited is left out)."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return used


def _used_since(before: dict[int, float], now: dict[int, float]) -> float:
    """CPU seconds used meanwhile by the processes alive at the end (one started meanwhile counts whole; the
    time of one that ended meanwhile is lost with it)."""
    return sum(used - before.get(pid, 0.0) for pid, used in now.items())


def _postgres_processes() -> list[int]:
    """Every PostgreSQL server process on this machine (the bench is meant to be its only user)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().startswith("postgres"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@dataclass(frozen=True, slots=True)
class CpuUse:
    """CPU milliseconds per answered request, of Moot's server processes and of PostgreSQL's, over a measurement:
    which side a request's cost is on. (On a 2-core machine shared by the two, their sum bounds requests/s.)"""

    server_ms: float
    postgres_ms: float

    def as_json(self) -> dict[str, float]:
        return {"server_ms": round(self.server_ms, 3), "postgres_ms": round(self.postgres_ms, 3)}


@dataclass(frozen=True, slots=True)
class CpuClock:
    """The CPU time Moot's server processes and PostgreSQL's had used when a measurement started."""

    root: int
    server: dict[int, float]
    postgres: dict[int, float]

    @staticmethod
    def start(root: int) -> CpuClock:
        return CpuClock(root, _cpu_seconds(process_tree(root)), _cpu_seconds(_postgres_processes()))

    def per_request(self, answered: int) -> CpuUse:
        count = max(answered, 1)
        return CpuUse(
            server_ms=1000 * _used_since(self.server, _cpu_seconds(process_tree(self.root))) / count,
            postgres_ms=1000 * _used_since(self.postgres, _cpu_seconds(_postgres_processes())) / count,
        )


def _holding(pids: list[int], inodes: set[str]) -> dict[int, int]:
    """How many of the sockets each process holds (processes holding none left out)."""
    held = {}
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        count = sum(1 for link in links if link.startswith("socket:[") and link[8:-1] in inodes)
        if count:
            held[pid] = count
    return held


def connection_spread(port: int, root: int) -> dict[int, int]:
    """How many of the connections to `port` each of `root` and the processes under it holds: whether the
    server's processes share the clients, or one serves them all (one process alone, on SQLite, holds them all)."""
    return _holding(process_tree(root), _socket_inodes(port, "01"))


def listening_processes(port: int, root: int) -> int:
    """How many of `root` and the processes under it listen on `port`: with `--workers N`, N once all are up."""
    return len(_holding(process_tree(root), _socket_inodes(port, "0A")))


async def _cell(
    settings: Settings,
    prepared: Prepared,
    scenario: Scenario,
    concurrency: int,
    options: RunOptions,
    server: Server,
    workers: int,
    pool: ProcessPoolExecutor | None,
) -> dict[str, Any]:
    """One scenario at one concurrency level: Moot, direct, then reference, `repeat` times; medians and ratios."""
    http_targets, direct_targets = split_targets(prepared.facts.write_posts)
    writers = write_accounts(prepared.accounts)
    with_reference = available(settings) is None
    runs: dict[str, list[Summary]] = {"moot": [], "direct": [], "reference": []}
    spreads: list[list[int]] = []
    cpu_uses: list[CpuUse] = []
    first_errors: list[str] = []
    for _ in range(options.repeat):
        votes = await _votes_now(settings, scenario, writers, prepared.facts.write_posts)
        maker = http_maker(scenario, f"{HOST}:{server.port}", prepared.accounts, http_targets, concurrency, votes)
        spread = functools.partial(connection_spread, server.port, server.process.pid)
        clock = CpuClock.start(server.process.pid)
        measured = {"moot": await run_load(HOST, server.port, maker, concurrency, options.duration, spread)}
        cpu_uses.append(clock.per_request(len(measured["moot"].latencies)))
        spreads.append(measured["moot"].spread)
        spec = DirectSpec(
            kind=scenario.kind,
            statements=prepared.captured.get(scenario.name, []),
            tokens=[a.token for a in writers],
            targets=direct_targets,
            votes=votes,
            jwt_secret=prepared.jwt_secret,
        )
        measured["direct"] = await measure_direct(settings, spec, concurrency, options.duration, workers, pool)
        if with_reference:
            measured["reference"] = await _reference(settings, prepared, scenario, concurrency, options, workers, pool)
        for side, result in measured.items():
            runs[side].append(summarize(result.latencies, result.errors, result.seconds))
            first_errors += [result.first_error] if result.first_error else []
    medians = {side: median_of(found) for side, found in runs.items() if found}
    moot, direct = medians["moot"], medians["direct"]
    line = (
        f"{scenario.name:<15} c={concurrency:<3} moot {moot.rps:8.1f}/s p50 {moot.p50_ms:7.1f} ms"
        f" p99 {moot.p99_ms:7.1f} ms | direct {direct.rps:8.1f}/s p50 {direct.p50_ms:7.1f} ms"
        f" | ratio {_ratio(moot, direct):4.2f}"
    )
    cell: dict[str, Any] = {
        "concurrency": concurrency,
        "moot": moot.as_json(),
        "direct": direct.as_json(),
        "ratio": round(_ratio(moot, direct), 3),
        # Connections per server process in each measurement (moot/processes.py spreads them).
        "moot_connection_spread": spreads,
        # CPU ms per request of Moot's processes and of PostgreSQL's in each measurement, and their medians.
        "moot_cpu_per_request": [use.as_json() for use in cpu_uses],
        "moot_cpu_ms": {
            "server": round(statistics.median(u.server_ms for u in cpu_uses), 3),
            "postgres": round(statistics.median(u.postgres_ms for u in cpu_uses), 3),
        },
    }
    if "reference" in medians:
        reference = medians["reference"]
        cell["reference"] = reference.as_json()
        cell["moot_over_reference"] = round(_ratio(moot, reference), 3)
        cell["direct_over_reference"] = round(_ratio(direct, reference), 3)
        line += (
            f" | reference {reference.rps:8.1f}/s p50 {reference.p50_ms:7.1f} ms"
            f" | moot/ref {cell['moot_over_reference']:4.2f} direct/ref {cell['direct_over_reference']:4.2f}"
        )
    shown = " ".join("/".join(map(str, spread)) for spread in spreads)
    cpu_ms = cell["moot_cpu_ms"]
    step(
        f"{line}  load {os.getloadavg()[0]:.1f}  connections per process {shown}"
        f"  cpu ms/request server {cpu_ms['server']:.2f} postgres {cpu_ms['postgres']:.2f}"
    )
    cell["runs"] = {side: [r.as_json() for r in found] for side, found in runs.items() if found}
    cell["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    if first_errors:
        cell["first_error"] = first_errors[0]
    return cell


def _ratio(side: Summary, over: Summary) -> float:
    """Requests/s of one side over another's (0 when the other measured nothing)."""
    return side.rps / over.rps if over.rps else 0.0


async def _reference(
    settings: Settings,
    prepared: Prepared,
    scenario: Scenario,
    concurrency: int,
    options: RunOptions,
    workers: int,
    pool: ProcessPoolExecutor | None,
) -> Measurement:
    """The reference statement run like the direct side: a read is replayed as the direct side replays Moot's
    SQL; a write goes to the direct side's posts with its writers, from their votes as they are now."""
    if scenario.kind == "read":
        spec = DirectSpec(kind="read", statements=[prepared.reference[scenario.name]])
        return await measure_direct(settings, spec, concurrency, options.duration, workers, pool)
    _, direct_targets = split_targets(prepared.facts.write_posts)
    writers = write_accounts(prepared.accounts)
    votes = await _votes_now(settings, scenario, writers, prepared.facts.write_posts)
    writes = write_spec(scenario.kind, writers, direct_targets, settings.base_url, votes)
    return await measure_writes(settings, writes, concurrency, options.duration, workers, pool)


async def _votes_now(
    settings: Settings, scenario: Scenario, writers: list[Account], posts: list[int]
) -> dict[Any, int]:
    if scenario.kind != "vote":
        return {}
    db = Database(settings)
    try:
        return await current_votes(db, writers, posts)
    finally:
        await db.dispose()


async def _warm(scenario: Scenario, prepared: Prepared, server: Server, concurrency: int, seconds: float) -> None:
    if seconds <= 0:
        return
    if scenario.kind == "vote":
        return  # a warm-up vote would change the state the measured votes start from
    http_targets, _ = split_targets(prepared.facts.write_posts)
    maker = http_maker(scenario, f"{HOST}:{server.port}", prepared.accounts, http_targets, concurrency, {})
    result: Measurement = await run_load(HOST, server.port, maker, concurrency, seconds)
    if result.errors and not result.latencies:
        raise RuntimeError(f"{scenario.name} fails over HTTP: {result.first_error}")


def machine_facts() -> dict[str, Any]:
    memory = 0
    model = platform.processor()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


async def _database_version(settings: Settings) -> str:
    db = Database(settings)
    try:
        async with db.read() as session:
            query = "SELECT sqlite_version()" if db.is_sqlite else "SELECT version()"
            return str(await session.scalar(text(query)))
    finally:
        await db.dispose()


@contextmanager
def _direct_pool(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    if workers <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


async def _measure(settings: Settings, options: RunOptions) -> dict[str, Any]:
    workers = options.workers or (1 if settings.is_sqlite else os.cpu_count() or 1)
    step("preparing: accounts, cursor walk, SQL capture")
    prepared = await _prepare(settings)
    wanted = set(options.scenarios)
    unknown = wanted - {s.name for s in prepared.scenarios}
    if unknown:
        raise ValueError(f"unknown scenarios: {sorted(unknown)}")
    scenarios = [s for s in prepared.scenarios if not wanted or s.name in wanted]
    step(f"starting moot serve with {workers} worker(s)")
    server = start_server(settings, workers)
    results: dict[str, Any] = {}
    try:
        with _direct_pool(workers) as pool:
            for scenario in scenarios:
                await _warm(scenario, prepared, server, max(options.concurrency), options.warmup)
                cells = [
                    await _cell(settings, prepared, scenario, c, options, server, workers, pool)
                    for c in options.concurrency
                ]
                results[scenario.name] = {
                    "description": scenario.description,
                    "request": f"{scenario.method} {scenario.path}",
                    "direct": "sql-replay" if scenario.kind == "read" else "actions-in-process",
                    "statements": len(prepared.captured.get(scenario.name, [])),
                    "reference": _reference_source(settings, scenario, prepared.cursor),
                    "cells": cells,
                }
        memory = peak_memory(server.process.pid)
    finally:
        stop_server(server)
    facts = prepared.facts
    return {
        "moot_version": __version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "label": options.label,
        "machine": machine_facts(),
        "postgresql_settings": await server_settings(settings),
        "reference": available(settings) or "bench/reference/*.sql, one statement per scenario",
        "database": {
            "engine": "sqlite" if settings.is_sqlite else "postgresql",
            "version": await _database_version(settings),
            "rows": facts.rows,
            "biggest_thread_comments": facts.biggest_post_comments,
            "cursor_page": prepared.cursor_page,
            "search_word": facts.search_word,
            "link_group": facts.link_group.as_json() if facts.link_group else None,
        },
        "settings": {
            "duration_seconds": options.duration,
            "concurrency": options.concurrency,
            "repeat": options.repeat,
            "warmup_seconds": options.warmup,
            "server_workers": workers,
            "db_pool_size": settings.db_pool_size,
            "anon_cache_seconds": settings.anon_cache_seconds,
        },
        "server_memory": memory,
        "scenarios": results,
    }


def _reference_source(settings: Settings, scenario: Scenario, cursor: str | None) -> str:
    return available(settings) or f"bench/reference/{sql_name(scenario, cursor)}.sql"


def format_table(report: dict[str, Any]) -> str:
    header = (
        f"{'scenario':<15} {'c':>3} | {'moot/s':>8} {'p50':>7} {'p95':>7} {'p99':>7} |"
        f" {'direct/s':>8} {'p50':>7} {'p95':>7} {'p99':>7} | {'ratio':>5} |"
        f" {'ref/s':>8} {'p50':>7} | {'m/ref':>5} {'d/ref':>5} | {'err':>4}"
    )
    lines = [header, "-" * len(header)]
    for name, scenario in report["scenarios"].items():
        for cell in scenario["cells"]:
            m, d = cell["moot"], cell["direct"]
            r = cell.get("reference")
            reference = (
                f"{r['rps']:>8.1f} {r['p50_ms']:>7.1f} | {cell['moot_over_reference']:>5.2f}"
                f" {cell['direct_over_reference']:>5.2f}"
                if r
                else f"{'-':>8} {'-':>7} | {'-':>5} {'-':>5}"
            )
            errors = m["errors"] + d["errors"] + (r["errors"] if r else 0)
            lines.append(
                f"{name:<15} {cell['concurrency']:>3} | {m['rps']:>8.1f} {m['p50_ms']:>7.1f} {m['p95_ms']:>7.1f}"
                f" {m['p99_ms']:>7.1f} | {d['rps']:>8.1f} {d['p50_ms']:>7.1f} {d['p95_ms']:>7.1f} {d['p99_ms']:>7.1f}"
                f" | {cell['ratio']:>5.2f} | {reference} | {errors:>4}"
            )
    lines.append(
        "(latencies in ms; ratio = Moot requests/s over direct requests/s; m/ref and d/ref = Moot's and direct's"
        " requests/s over the reference's)"
    )
    lines.append(f"reference side: {report.get('reference', '-')}")
    server = report.get("postgresql_settings") or {}
    if server:
        lines.append("postgresql: " + ", ".join(f"{k}={v}" for k, v in server.items()))
    total = sum(p["peak_rss_mib"] for p in report["server_memory"])
    per = ", ".join(f"{p['pid']}: {p['peak_rss_mib']} MiB" for p in report["server_memory"])
    lines.append(f"server peak RSS: {total:.1f} MiB in all ({per})")
    return "\n".join(lines)


def run_bench(settings: Settings, options: RunOptions) -> int:
    settings = dataclasses.replace(settings, run_jobs=False, run_delivery=False)
    if options.anon_cache_seconds is not None:
        settings = dataclasses.replace(settings, anon_cache_seconds=options.anon_cache_seconds)
    report = asyncio.run(_measure(settings, options))
    print(format_table(report))
    write_report(report, options.out)
    return 0


def write_report(report: dict[str, Any], out: str | None) -> None:
    """The raw JSON of a run, when asked for (`--out`)."""
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        step(f"wrote {path}")
