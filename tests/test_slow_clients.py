"""Slow and oversized clients against a real `moot serve`: header and body deadlines, the header cap, the
connection cap. The server runs with 2-second deadlines so that the tests are quick; every pass condition is a
bounded wait for the server to act, never a fixed sleep."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ServerProcess, drop_database, free_port, make_database, start_server, stop_server

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
MAX_CONNECTIONS = 40
SLACK = 1.5  # scheduling on a busy machine


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = make_database(tmp_path_factory.mktemp("slow"))
    env = {
        "MOOT_HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "MOOT_HTTP_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "MOOT_HTTP_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "MOOT_RUN_JOBS": "false",
    }
    running = start_server(db, free_port(), env_extra=env)
    yield running
    stop_server(running)
    drop_database(db)


def _address(server: ServerProcess) -> tuple[str, int]:
    url = httpx.URL(server.base_url)
    assert url.port is not None
    return url.host, url.port


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(_address(server), timeout=5)
    sock.setblocking(False)
    return sock


def _until_closed(
    socks: list[socket.socket], bound: float, dribble: bytes = b"", every: float = 0.25
) -> list[tuple[float | None, bytes]]:
    """Reads from every socket until the server closes it, sending `dribble` on each every `every` seconds
    meanwhile. For each: the seconds until it was closed (None if still open after `bound`), and the answer."""
    start = time.monotonic()
    took: dict[socket.socket, float] = {}
    answers = {sock: b"" for sock in socks}
    next_send = start + every
    while len(took) < len(socks) and (now := time.monotonic()) - start < bound:
        open_ones = [sock for sock in socks if sock not in took]
        readable, _, _ = select.select(open_ones, [], [], max(0.0, min(0.05, next_send - now)))
        for sock in readable:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                answers[sock] += chunk
            else:
                took[sock] = time.monotonic() - start
        if dribble and time.monotonic() >= next_send:
            next_send += every
            for sock in open_ones:
                if sock in took:
                    continue
                try:
                    sock.send(dribble)
                except OSError:  # reset or broken pipe: closed by the server
                    took[sock] = time.monotonic() - start
    return [(took.get(sock), answers[sock]) for sock in socks]


def _request(sock: socket.socket, raw: bytes) -> bytes:
    """Sends a whole request and reads one whole response (Content-Length framed)."""
    sock.setblocking(True)
    sock.settimeout(10)
    sock.sendall(raw)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    sock.setblocking(False)
    return head


def _status(server: ServerProcess) -> int:
    return httpx.get(f"{server.base_url}/api/v3/site", timeout=10).status_code


def _eventually(check: Callable[[], bool], bound: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < bound:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not within {bound} s")


def test_dribbled_headers_are_cut_off_within_the_header_deadline(server: ServerProcess) -> None:
    dribblers = [_connect(server) for _ in range(5)]
    for sock in dribblers:
        sock.send(b"GET /api/v3/site HTTP/1.1\r\nHost: moot.test\r\n")
    # Below the connection cap, everyone else is served meanwhile.
    assert _status(server) == 200
    results = _until_closed(dribblers, HEADER_TIMEOUT + SLACK + 3, dribble=b"X-Slow: 1\r\n")
    for took, answer in results:
        assert took is not None, "a client sending a header line every 0.25 s was never cut off"
        assert took <= HEADER_TIMEOUT + SLACK, took
        assert answer.startswith(b"HTTP/1.1 408 ")
    for sock in dribblers:
        sock.close()


def test_the_next_request_on_a_kept_alive_connection_has_its_own_deadline(server: ServerProcess) -> None:
    sock = _connect(server)
    head = _request(sock, b"GET /api/v3/site HTTP/1.1\r\nHost: moot.test\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    # The keep-alive wait ends with the first byte; from there the head must be complete within the deadline.
    sock.send(b"GET /api/v3/site HTTP/1.1\r\n")
    [(took, answer)] = _until_closed([sock], HEADER_TIMEOUT + SLACK + 3, dribble=b"X-Slow: 1\r\n")
    assert took is not None and took <= HEADER_TIMEOUT + SLACK, took
    assert answer.startswith(b"HTTP/1.1 408 ")
    sock.close()


def test_a_dribbled_body_is_cut_off_within_the_body_deadline(server: ServerProcess) -> None:
    sock = _connect(server)
    head = b"POST /api/v3/user/login HTTP/1.1\r\nHost: moot.test\r\nContent-Type: application/json\r\n"
    sock.send(head + b"Content-Length: 1000\r\n\r\n{")
    [(took, answer)] = _until_closed([sock], BODY_TIMEOUT + SLACK + 3, dribble=b" ")
    assert took is not None, "a body sent at 4 bytes a second was never cut off"
    assert took <= BODY_TIMEOUT + SLACK, took
    assert answer.startswith(b"HTTP/1.1 408 ")
    sock.close()


def test_a_body_in_pieces_within_the_deadline_is_served(server: ServerProcess) -> None:
    body = b'{"username_or_email": "nobody_here", "password": "not-the-password"}'
    sock = _connect(server)
    sock.send(
        b"POST /api/v3/user/login HTTP/1.1\r\nHost: moot.test\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
    )
    for piece in (body[:10], body[10:30]):
        sock.send(piece)
        time.sleep(0.2)  # pacing the client, well inside the deadline
    head = _request(sock, body[30:])
    assert head.startswith(b"HTTP/1.1 401 ") or head.startswith(b"HTTP/1.1 400 "), head
    sock.close()


def test_a_megabyte_of_headers_is_refused(server: ServerProcess) -> None:
    sock = socket.create_connection(_address(server), timeout=10)
    lines = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 1000) for i in range(1024))
    answer = b""
    try:
        sock.sendall(b"GET /api/v3/site HTTP/1.1\r\nHost: moot.test\r\n" + lines + b"\r\n")
        while chunk := sock.recv(65536):
            answer += chunk
    except (ConnectionResetError, BrokenPipeError):
        pass  # closed while we were still sending: refused as well
    sock.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    # Headers of an ordinary size (a long cookie) still pass.
    cookie = "moot_csrf=" + "c" * 6000
    ok = httpx.get(f"{server.base_url}/api/v3/site", headers={"Cookie": cookie}, timeout=10)
    assert ok.status_code == 200


def test_the_header_cap_holds_however_the_head_arrives(server: ServerProcess) -> None:
    """The default cap (32 KiB): a 40 kB header is refused whether it comes in one read or many, 20 kB passes."""
    for size, status in ((40_000, b"431"), (20_000, b"200")):
        sock = socket.create_connection(_address(server), timeout=10)
        head = b"GET /api/v3/site HTTP/1.1\r\nHost: moot.test\r\nX-Big: " + b"b" * size + b"\r\n\r\n"
        sock.sendall(head)
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 " + status + b" "), (size, answer[:100])
        sock.close()


def test_the_connection_cap_answers_503_and_slow_connections_give_their_place_back(server: ServerProcess) -> None:
    idle = [_connect(server) for _ in range(MAX_CONNECTIONS)]  # connected, sending nothing
    try:
        assert _status(server) == 503
        # Nobody closes them but the server: the header deadline frees the places, and normal requests work.
        waited = _eventually(lambda: _status(server) == 200, HEADER_TIMEOUT + SLACK + 3)
        assert waited <= HEADER_TIMEOUT + SLACK, waited
        for took, answer in _until_closed(idle, 1.0):
            assert took is not None, "an idle connection outlived the header deadline"
            assert answer.startswith(b"HTTP/1.1 408 ")
    finally:
        for sock in idle:
            sock.close()


def test_no_errors_in_the_server_log(server: ServerProcess) -> None:
    """Runs last: cutting clients off raised nothing inside the server."""
    log = Path(server.log).read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log and "ERROR" not in log
