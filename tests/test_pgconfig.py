"""`moot pg-config` sizes PostgreSQL from the machine: memory shares with their caps and floors, SSD or HDD
costs, and a connection limit that holds every Moot process's pool."""

from __future__ import annotations

import pytest

from moot.cli import main
from moot.db.pgconfig import GIB, MIB, Machine, max_connections, recommend, render


def _values(memory_gib: float, cores: int = 4, ssd: bool = True, workers: int = 4) -> dict[str, str]:
    machine = Machine(memory=int(memory_gib * GIB), cores=cores, ssd=ssd)
    return {s.name: s.value for s in recommend(machine, workers=workers, pool_size=10)}


def _bytes(value: str) -> int:
    return int(value[:-2]) * (GIB if value.endswith("GB") else MIB)


@pytest.mark.parametrize(
    ("memory_gib", "shared", "cache", "work", "maintenance", "wal"),
    [
        (1, "256MB", "716MB", "4MB", "64MB", "2GB"),  # floors: work_mem 4MB, maintenance_work_mem 64MB
        (2, "512MB", "1280MB", "4MB", "128MB", "2GB"),
        (8, "2GB", "5GB", "13MB", "512MB", "4GB"),
        (16, "4GB", "11GB", "27MB", "1GB", "4GB"),
        (128, "16GB", "89GB", "64MB", "2GB", "4GB"),  # every cap: shared_buffers, work_mem, maintenance
    ],
)
def test_memory_settings_follow_the_machine(
    memory_gib: float, shared: str, cache: str, work: str, maintenance: str, wal: str
) -> None:
    values = _values(memory_gib)
    assert (values["shared_buffers"], values["effective_cache_size"]) == (shared, cache)
    assert (values["work_mem"], values["maintenance_work_mem"], values["max_wal_size"]) == (work, maintenance, wal)
    # Never more than the machine has: the buffers, plus every connection's sorts at full work_mem, fit.
    connections = int(values["max_connections"])
    assert _bytes(values["shared_buffers"]) <= memory_gib * GIB * 0.25
    if values["work_mem"] != "4MB":  # above the floor, the sizing keeps within memory
        assert _bytes(values["shared_buffers"]) + connections * 3 * _bytes(values["work_mem"]) <= memory_gib * GIB


def test_connections_hold_every_pool() -> None:
    # Each process: pool_size + as many overflow (db/engine.py); workers + background + 2 spare; + 10 reserved.
    assert max_connections(workers=2, pool_size=10) == (2 + 1 + 2) * 20 + 10
    assert _values(8, workers=16)["max_connections"] == str((16 + 1 + 2) * 20 + 10)


def test_disks_and_cores() -> None:
    ssd, hdd = _values(8, cores=2), _values(8, cores=16, ssd=False)
    assert (ssd["random_page_cost"], hdd["random_page_cost"]) == ("1.1", "4.0")
    assert (ssd["effective_io_concurrency"], hdd["effective_io_concurrency"]) == ("200", "2")
    assert (ssd["max_parallel_workers_per_gather"], hdd["max_parallel_workers_per_gather"]) == ("1", "4")
    assert ssd["jit"] == hdd["jit"] == "off"


def test_the_snippet_explains_every_line() -> None:
    text = render(Machine(memory=4 * GIB, cores=2), workers=2, pool_size=10)
    settings = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(settings) == len(recommend(Machine(memory=4 * GIB, cores=2), 2, 10))
    assert all(" = " in line and "  # " in line for line in settings)
    assert "shared_buffers = 1GB" in text and "4.0 GiB of memory, 2 cores, SSD" in text


def test_the_command_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pg-config", "--memory", "8", "--cores", "2", "--hdd"]) == 0
    out = capsys.readouterr().out
    assert "shared_buffers = 2GB" in out and "random_page_cost = 4.0" in out and "max_connections = 110" in out
