"""The HTTP/1.1 protocol `moot serve` runs: uvicorn's httptools protocol with deadlines and a header size cap.

uvicorn bounds only how long an idle keep-alive connection waits for its next request. A client that sends a
header line every few seconds, a body a byte at a time, or megabytes of headers keeps its connection (and the
memory the parser buffers) as long as it likes, and a connection that sends nothing at all is never closed.
This subclass adds what servers facing the internet have (Go's ReadHeaderTimeout, Node's headersTimeout,
Kestrel's RequestHeadersTimeout), counted per request:

    connection opened, or first byte of the next request      request head complete        body complete
    |------------------ header deadline -------------------->|------ body deadline ------>|  the app answers
                        head over max_header_bytes: 431        late: 408 and the connection closes

A deadline is a total, not a gap between reads, so dribbling bytes does not extend it. Beyond the one a new
connection starts with, a timer is set only for a request that arrives in pieces (one that comes whole sets
none). A head is measured as it arrives (a read that does not complete it counts whole, so the parser never
buffers much past the cap) and once complete (its line and fields), so a head over the cap is refused before
the app sees it, in one read or many. How many connections a process holds at once is uvicorn's own
`limit_concurrency` (503 past it), set by `moot serve` (`MOOT_HTTP_MAX_CONNECTIONS`); the deadlines are what
make slow connections give their place back.

uvicorn builds one protocol object per connection from `Config.http`, given here as an import string so that
every worker process builds its own; the limits come from the settings (MOOT_HTTP_*), read once per process."""

from __future__ import annotations

import functools
import logging
from asyncio import TimerHandle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from moot.settings import Settings, load_settings

log = logging.getLogger("uvicorn.error")

PROTOCOL = "moot.http_guard:GuardedHttpToolsProtocol"


@dataclass(frozen=True, slots=True)
class HttpLimits:
    header_timeout: float
    body_timeout: float
    max_header_bytes: int

    @staticmethod
    def of(settings: Settings) -> HttpLimits:
        return HttpLimits(
            header_timeout=settings.http_header_timeout_seconds,
            body_timeout=settings.http_body_timeout_seconds,
            max_header_bytes=settings.http_max_header_bytes,
        )


@functools.cache
def process_limits() -> HttpLimits:
    return HttpLimits.of(load_settings())


def allow_open_files(connections: int) -> None:
    """Let the process hold `connections` sockets beside its database and federation ones: raise the soft
    limit on open files toward the hard one when it is lower (it often is 1024)."""
    import resource

    wanted = connections + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


class HeadTooLarge(Exception):
    """Raised inside the parser's callback: httptools stops and uvicorn answers (send_400_response)."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a deadline for each request's head and body, and a cap on the head's size."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = process_limits()
        self._deadline: TimerHandle | None = None
        self._phase = "head"  # "head": reading a request line and headers; "body"; "done": message complete
        self._head_bytes = 0  # bytes of the current head in reads that did not complete it
        self._read = 0  # size of the read being parsed
        self._heads = 0  # request heads completed on this connection
        self._oversized = False

    # The deadlines.

    def _arm(self, seconds: float, expired: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _answering(self) -> bool:
        """An earlier request on this connection is still being answered."""
        return self.cycle is not None and not self.cycle.response_complete and self._phase == "head"

    def _head_expired(self) -> None:
        self._deadline = None
        if self._answering():
            # Bytes after a request that is still being answered (a stray CRLF, a pipelined request): finish
            # that answer, then close instead of waiting for the rest.
            self.cycle.keep_alive = False
            return
        log.info("%s: request head not complete within %.0f s: closed", self._peer(), self.limits.header_timeout)
        self._refuse(408, "request headers too slow")

    def _body_expired(self) -> None:
        self._deadline = None
        log.info("%s: request body not complete within %.0f s: closed", self._peer(), self.limits.body_timeout)
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            # The app is waiting for the rest of the body: it gets a disconnect, the client a 408.
            cycle.disconnected = True
            cycle.message_event.set()
            self._refuse(408, "request body too slow")
        else:
            self.transport.close()

    def _refuse(self, status: int, reason: str) -> None:
        if self.transport.is_closing():
            return
        body = reason.encode("ascii")
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "client"

    # asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        # uvicorn arms nothing until a first response: a connection that never sends a byte would stay open.
        self._arm(self.limits.header_timeout, self._head_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the connection is another protocol's from here on
        super().handle_websocket_upgrade()

    def data_received(self, data: bytes) -> None:
        if self._phase == "done":
            self._phase = "head"  # whatever comes after a complete request is the head of the next one
            self._head_bytes = 0
        within_head, heads = self._phase == "head", self._heads
        self._read = len(data)
        super().data_received(data)
        if self.transport.is_closing():
            return
        # Deadlines start when the bytes that need them arrive, and are armed after the parser has run, so that
        # a request that arrives whole (nearly all of them) sets no timer at all.
        if self._deadline is None and self._phase != "done":
            if self._phase == "head":
                self._arm(self.limits.header_timeout, self._head_expired)
            else:
                self._arm(self.limits.body_timeout, self._body_expired)
        if not (within_head and self._phase == "head" and self._heads == heads):
            return  # the read that completes a head is measured by on_headers_complete
        # A head still incomplete past the cap is refused at once: the parser would keep buffering it.
        self._head_bytes += len(data)
        if self._head_bytes > self.limits.max_header_bytes:
            self._refuse_oversized()

    def _refuse_oversized(self) -> None:
        log.info("%s: request head over %d bytes: refused", self._peer(), self.limits.max_header_bytes)
        if self._answering():
            self.transport.close()
        else:
            self._refuse(431, "request header fields too large")

    def _head_size(self) -> int:
        return len(self.url) + 16 + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers a parser error 400; the error raised by on_headers_complete for a head that is too
        # large is answered 431.
        if self._oversized:
            self._refuse_oversized()
        else:
            super().send_400_response(msg)

    # httptools parser callbacks

    def on_message_begin(self) -> None:
        self._phase = "head"
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        cap = self.limits.max_header_bytes
        if self._head_bytes + self._read > cap and self._head_size() > cap:
            # Stops the parser before uvicorn hands the request to the app; uvicorn then calls send_400_response.
            self._oversized = True
            raise HeadTooLarge
        self._disarm()
        self._phase = "body"
        self._heads += 1
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._phase = "done"
        super().on_message_complete()
