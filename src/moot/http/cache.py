"""A short-lived cache of anonymous reads of the public API, in front of everything else.

Anonymous readers of a busy instance ask for the same few pages (the front page, a popular post and its
comments) over and over, and every anonymous reader gets the same bytes. For `MOOT_ANON_CACHE_SECONDS`
(default 3; 0 turns it off) the first answer to such a request is kept in this process's memory and replayed
as it was sent, headers included, with an `Age` header. Concurrent misses of one page wait for the single
request that computes it instead of all running it.

Only GETs of the read endpoints below, without an `Authorization` header or a `jwt` cookie, are cached, and
only 200 answers that the handler itself marked `public` (see `ok()`: anything answered for a logged-in
viewer is `private`). Logged-in readers, writes, the web pages (they carry per-visitor CSRF tokens) and
ActivityPub are never cached. Memory is bounded (oldest entries dropped first)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moot.queries import defaults

CACHEABLE_PATHS = frozenset(
    f"/api/v3{path}"
    for path in (
        "/site",
        "/post",
        "/post/list",
        "/comment",
        "/comment/list",
        "/community",
        "/community/list",
        "/user",
        "/search",
        "/federated_instances",
    )
)
MAX_BODY = 1024 * 1024
MAX_TOTAL = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Entry:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    stored: float
    expires: float


def _anonymous(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"authorization":
            return False
        if name == b"cookie" and b"jwt=" in value:
            return False
    return True


def _public(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"cache-control":
            return value.startswith(b"public")
    return False


class AnonymousCache:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.entries: OrderedDict[bytes, Entry] = OrderedDict()
        self.total = 0
        self.inflight: dict[bytes, asyncio.Future[Entry | None]] = {}
        self.hits = 0
        self.misses = 0
        # Answers kept under older site settings are dropped as soon as this process learns of new ones (an
        # anonymous answer from before `private_instance` was turned on must not be replayed after it).
        self.settings_generation = defaults.generation()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.seconds <= 0
            or scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] not in CACHEABLE_PATHS
            or not _anonymous(scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        if self.settings_generation != defaults.generation():
            self.settings_generation = defaults.generation()
            self.entries.clear()
            self.total = 0
        key = scope["path"].encode() + b"?" + scope["query_string"]
        now = time.monotonic()
        entry = self.entries.get(key)
        if entry is not None and entry.expires > now:
            self.hits += 1
            await _replay(entry, send, now)
            return
        pending = self.inflight.get(key)
        if pending is not None:
            entry = await asyncio.shield(pending)
            if entry is not None:
                self.hits += 1
                await _replay(entry, send, time.monotonic())
                return
            await self.app(scope, receive, send)  # the first one was not cacheable: answer this one afresh
            return
        self.misses += 1
        future: asyncio.Future[Entry | None] = asyncio.get_running_loop().create_future()
        self.inflight[key] = future
        entry = None
        try:
            entry = await self._capture(key, scope, receive, send)
        finally:
            del self.inflight[key]
            future.set_result(entry)

    async def _capture(self, key: bytes, scope: Scope, receive: Receive, send: Send) -> Entry | None:
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        size = 0

        async def recording(message: Message) -> None:
            nonlocal status, headers, size
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                size += len(body)
                if size <= MAX_BODY:
                    chunks.append(body)
            await send(message)

        await self.app(scope, receive, recording)
        if status != 200 or size > MAX_BODY or not _public(headers):
            return None
        now = time.monotonic()
        entry = Entry(status=status, headers=headers, body=b"".join(chunks), stored=now, expires=now + self.seconds)
        self._store(key, entry)
        return entry

    def _store(self, key: bytes, entry: Entry) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.total -= len(old.body)
        self.entries[key] = entry
        self.total += len(entry.body)
        while self.total > MAX_TOTAL and self.entries:
            _, dropped = self.entries.popitem(last=False)
            self.total -= len(dropped.body)


async def _replay(entry: Entry, send: Send, now: float) -> None:
    age = str(int(now - entry.stored)).encode()
    await send({"type": "http.response.start", "status": entry.status, "headers": [*entry.headers, (b"age", age)]})
    await send({"type": "http.response.body", "body": entry.body})
