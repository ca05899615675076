"""A small HTTP/1.1 load generator: N keep-alive connections, each sending its next request as soon as the
last answer arrived, for a fixed time, recording every request's latency.

Written on asyncio streams rather than an HTTP library so that the client costs little CPU: on a 2-core machine
it shares the cores with the server and the database, and a heavy client would measure itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# (connection index, request number on that connection) -> the raw request bytes
RequestMaker = Callable[[int, int], bytes]
MAX_HEADER = 64 * 1024


@dataclass(slots=True)
class Measurement:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    first_error: str | None = None
    # Connections per server process, read halfway through (`probe`): [16] means one process had them all.
    spread: list[int] = field(default_factory=list)


def http_request(method: str, path: str, host: str, token: str | None = None, body: bytes | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEADER:
        raise ValueError("response header too large")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size + 2)
            del body[-2:]
        payload = bytes(body)
    else:
        payload = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, payload, headers.get("connection", "").lower() != "close"


async def run_load(
    host: str,
    port: int,
    make: RequestMaker,
    concurrency: int,
    duration: float,
    probe: Callable[[], dict[int, int]] | None = None,
) -> Measurement:
    """All connections open first, then they start together and stop sending after `duration` seconds. `probe`,
    called halfway, says how many of the connections each server process holds."""
    result = Measurement()
    connections = [await asyncio.open_connection(host, port) for _ in range(concurrency)]
    started = time.perf_counter()
    if probe is not None:

        def read_spread() -> None:
            result.spread = sorted(probe().values(), reverse=True)

        asyncio.get_running_loop().call_later(duration / 2, read_spread)
    stop_at = started + duration
    finished: list[float] = []

    async def client(index: int) -> None:
        reader, writer = connections[index]
        k = 0
        try:
            while time.perf_counter() < stop_at:
                request = make(index, k)
                k += 1
                sent = time.perf_counter()
                writer.write(request)
                status, body, keep = await _read_response(reader)
                took = time.perf_counter() - sent
                if status == 200:
                    result.latencies.append(took)
                else:
                    result.errors += 1
                    if result.first_error is None:
                        result.first_error = f"{status} {body[:300].decode('utf-8', 'replace')}"
                if not keep:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            finished.append(time.perf_counter())
            writer.close()

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    result.seconds = max(finished) - started
    return result
