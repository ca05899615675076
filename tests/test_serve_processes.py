"""`moot serve --workers N` (moot/processes.py): each app process listens on a socket of its own, so the connections
a burst opens spread over the processes instead of all landing in the one that woke first; a process that dies is
replaced while the others go on serving; a second server on the same port refuses to start; stopping the server
stops every process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import (
    DatabaseUnderTest,
    ServerProcess,
    backend,
    drop_database,
    free_port,
    make_database,
    start_server,
    stop_server,
)
from moot.bench.run import connection_spread, listening_processes, process_tree

pytestmark = pytest.mark.skipif(backend() != "postgres", reason="several app processes need PostgreSQL")

QUIET = {"MOOT_RUN_JOBS": "false", "MOOT_RUN_DELIVERY": "false"}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    db = make_database(tmp_path_factory.mktemp("processes"))
    yield db
    drop_database(db)


def _start_two(database: DatabaseUnderTest) -> ServerProcess:
    """`moot serve --workers 2`, once both processes listen (the first one up answers before the other is)."""
    server = start_server(database, free_port(), QUIET, args=["--workers", "2"])
    deadline = time.monotonic() + 60
    while listening_processes(_port(server), server.process.pid) < 2:
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.1)
    return server


@pytest.fixture
def server(database: DatabaseUnderTest) -> Iterator[ServerProcess]:
    server = _start_two(database)
    yield server
    stop_server(server)


def _port(server: ServerProcess) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def _open_and_ask(port: int, count: int) -> list[socket.socket]:
    """`count` connections opened back to back (a burst, as a client pool opens them), then one request on each,
    answered: every connection has been accepted by some process."""
    connections = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    for connection in connections:
        connection.sendall(b"GET /api/v3/site HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    for connection in connections:
        assert connection.recv(12).startswith(b"HTTP/1.1 200"), "a connection was not answered"
    return connections


def _spread(server: ServerProcess, count: int) -> dict[int, int]:
    connections = _open_and_ask(_port(server), count)
    try:
        return connection_spread(_port(server), server.process.pid)
    finally:
        for connection in connections:
            connection.close()


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def _wait_until_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 30
    while not all(_gone(pid) for pid in pids):
        assert time.monotonic() < deadline, [pid for pid in pids if not _gone(pid)]
        time.sleep(0.05)


def test_a_burst_of_connections_spreads_over_the_processes(server: ServerProcess) -> None:
    spread = _spread(server, 64)
    assert sum(spread.values()) == 64, spread
    # The kernel hashes each connection to one of the two sockets: 32 +- 4 each (12 is five deviations off).
    # One shared socket gave every connection of a burst to the process that woke first.
    assert len(spread) == 2 and min(spread.values()) >= 12, spread


def test_a_process_that_dies_is_replaced_and_the_other_serves_meanwhile(server: ServerProcess) -> None:
    before = _spread(server, 32)
    killed = min(before)
    os.kill(killed, signal.SIGKILL)
    # Until the parent has reaped it, its other threads may still be exiting with the socket open (a thread
    # group's leader shows as a zombie before the last thread has closed the files).
    deadline = time.monotonic() + 30
    while killed in process_tree(server.process.pid):
        assert time.monotonic() < deadline, "the parent did not reap the killed process"
        time.sleep(0.05)
    # The survivor answers every new connection at once (the dead process's socket closed with it).
    survivor = _spread(server, 16)
    assert killed not in survivor and sum(survivor.values()) == 16, survivor
    deadline = time.monotonic() + 60
    while listening_processes(_port(server), server.process.pid) < 2:
        assert time.monotonic() < deadline, f"no replacement for {killed}: {server.log.read_text()}"
        time.sleep(0.1)
    spread = _spread(server, 16)
    assert len(spread) == 2 and killed not in spread and set(before) - {killed} < set(spread), (before, spread)


def test_a_second_server_on_the_port_refuses_to_start(server: ServerProcess, database: DatabaseUnderTest) -> None:
    env = {**os.environ, **QUIET, "MOOT_DATABASE_URL": database.url, "MOOT_DATA_DIR": str(database.data_dir)}
    env["MOOT_HOSTNAME"] = f"127.0.0.1:{_port(server)}"
    command = [sys.executable, "-m", "moot.cli", "serve", "--port", str(_port(server)), "--workers", "2"]
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode == 2, second.stderr
    assert "is in use" in second.stderr, second.stderr
    assert sum(_spread(server, 8).values()) == 8  # the first one serves on


def test_stopping_the_server_stops_every_process(database: DatabaseUnderTest) -> None:
    server = _start_two(database)
    processes = process_tree(server.process.pid)
    assert len(_spread(server, 16)) == 2
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0, server.log.read_text()
    _wait_until_gone(processes)
