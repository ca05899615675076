"""`moot pg-config`: a postgresql.conf snippet sized for the machine and for Moot's connection pools.

PostgreSQL's defaults are sized for a small shared machine (128 MB of shared buffers, planner costs of spinning
disks, JIT on). Moot's statements are short index walks and small sorts run by many connections, so the useful
changes are few: memory for the buffer cache and for the planner's idea of the OS cache, enough sort memory
per statement, SSD costs, no JIT, calmer checkpoints, and a connection limit that fits every pool. Each line
says why, so an operator can adjust it knowingly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MIB = 1024**2
GIB = 1024**3

SHARED_BUFFERS_SHARE = 0.25
SHARED_BUFFERS_CAP = 16 * GIB  # beyond this the OS cache serves as well, and checkpoints get heavier
EFFECTIVE_CACHE_SHARE = 0.70
SORTS_PER_CONNECTION = 3  # a statement may run a few sorts or hashes at once, each up to work_mem
RESERVED_CONNECTIONS = 10  # psql, backups, monitoring, and PostgreSQL's superuser reserve
EXTRA_PROCESSES = 2  # `moot worker` shards, `moot` commands run beside the server


@dataclass(frozen=True, slots=True)
class Machine:
    memory: int  # bytes
    cores: int
    ssd: bool = True


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    value: str
    why: str


def machine_memory() -> int:
    """Total memory in bytes, from /proc/meminfo (or the page count where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def this_machine(ssd: bool = True) -> Machine:
    return Machine(memory=machine_memory(), cores=os.cpu_count() or 1, ssd=ssd)


def size(amount: int) -> str:
    """A memory size as postgresql.conf takes it: whole GB when it is one, else whole MB (rounded down)."""
    if amount >= GIB and amount % GIB == 0:
        return f"{amount // GIB}GB"
    return f"{max(1, amount // MIB)}MB"


def _round_down(amount: int, step: int) -> int:
    return max(step, amount // step * step)


def _nice(amount: int) -> int:
    """Whole GB from 4GB up, quarter GB from 1GB, whole MB below: readable values, never more than asked."""
    if amount >= 4 * GIB:
        return _round_down(amount, GIB)
    if amount >= GIB:
        return _round_down(amount, 256 * MIB)
    return _round_down(amount, MIB)


def max_connections(workers: int, pool_size: int) -> int:
    """Every Moot process may hold pool_size connections plus as many overflow ones (db/engine.py): the server's
    workers, the background process of `moot serve --workers N`, and a couple more processes beside them."""
    processes = workers + 1 + EXTRA_PROCESSES
    return processes * 2 * pool_size + RESERVED_CONNECTIONS


def recommend(machine: Machine, workers: int, pool_size: int) -> list[Setting]:
    """The settings, in the order they are printed."""
    memory = machine.memory
    connections = max_connections(workers, pool_size)
    shared = min(_nice(max(int(memory * SHARED_BUFFERS_SHARE), 128 * MIB)), SHARED_BUFFERS_CAP)
    cache = _nice(int(memory * EFFECTIVE_CACHE_SHARE))
    work = min(max((memory - shared) // (connections * SORTS_PER_CONNECTION), 4 * MIB), 64 * MIB)
    maintenance = min(max(memory // 16, 64 * MIB), 2 * GIB)
    wal = 4 * GIB if memory >= 8 * GIB else 2 * GIB
    parallel = min(4, machine.cores // 2)
    return [
        Setting(
            "max_connections",
            str(connections),
            f"({workers} workers + 1 background + {EXTRA_PROCESSES} spare) processes x {2 * pool_size}"
            f" (MOOT_DB_POOL_SIZE={pool_size} + as many overflow) + {RESERVED_CONNECTIONS} for admin tools",
        ),
        Setting("shared_buffers", size(shared), "25% of memory (at most 16GB): hot posts, comments and indexes"),
        Setting(
            "effective_cache_size",
            size(cache),
            "~70% of memory: what the planner may expect cached (here or by the OS)",
        ),
        Setting(
            "work_mem",
            size(_round_down(work, MIB)),
            f"per sort or hash: the rest of memory / ({connections} connections x {SORTS_PER_CONNECTION}),"
            " 4-64MB; search ranking sorts in memory",
        ),
        Setting(
            "maintenance_work_mem",
            size(_round_down(maintenance, MIB)),
            "1/16 of memory, 64MB-2GB: faster VACUUM and index builds",
        ),
        Setting(
            "random_page_cost",
            "1.1" if machine.ssd else "4.0",
            "SSD: a random read costs about what a sequential one does: index walks"
            if machine.ssd
            else "spinning disks: random reads are dear (PostgreSQL's default)",
        ),
        Setting(
            "effective_io_concurrency",
            "200" if machine.ssd else "2",
            "SSD: many reads in flight for bitmap scans" if machine.ssd else "spinning disks: few reads in flight",
        ),
        Setting("jit", "off", "Moot's statements are short: compiling them costs more than it saves"),
        Setting("max_wal_size", size(wal), "fewer forced checkpoints in write bursts (votes, comments, inboxes)"),
        Setting("min_wal_size", "1GB", "keep WAL segments for reuse instead of recreating them"),
        Setting("checkpoint_completion_target", "0.9", "spread checkpoint writes over the interval"),
        Setting(
            "max_parallel_workers_per_gather",
            str(parallel),
            "half the cores, at most 4: for big scans (search) only",
        ),
        Setting("max_worker_processes", str(max(8, machine.cores)), "room for the parallel workers"),
        Setting("max_parallel_workers", str(machine.cores), "at most one parallel worker per core"),
    ]


def render(machine: Machine, workers: int, pool_size: int) -> str:
    """The snippet: a header saying what it was sized for, then one `name = value  # why` line each."""
    settings = recommend(machine, workers, pool_size)
    kind = "SSD" if machine.ssd else "HDD"
    lines = [
        f"# PostgreSQL settings for Moot (`moot pg-config`): {machine.memory / GIB:.1f} GiB of memory,"
        f" {machine.cores} cores, {kind}, {workers} server workers.",
        "# Put them in postgresql.conf (or a file of conf.d/) and restart PostgreSQL (shared_buffers and",
        "# max_connections need a restart). Size for the database's own machine, or its share of a shared one.",
    ]
    width = max(len(f"{s.name} = {s.value}") for s in settings)
    lines += [f"{f'{s.name} = {s.value}':<{width}}  # {s.why}" for s in settings]
    return "\n".join(lines)
