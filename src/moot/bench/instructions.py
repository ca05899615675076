"""`moot bench instructions`: the CPU instructions one request costs Moot's own process, counted by callgrind.

Requests per second swing by a third between runs on a shared machine; an instruction count does not (the same
code, data and request give the same count to within a few thousandths). The app runs in-process (no server, no
HTTP: what is counted is the ASGI app, from its middleware to the JSON), under valgrind with instrumentation off
until the warm-up requests are done; it is switched on for the measured requests only (callgrind_control), so
imports and start-up are not counted. The database's own work happens in its server process and is not counted:
this measures Python's share, which is what limits a 2-core machine once the statements are cheap. (On SQLite
the database runs on a thread of the measured process: its work is counted too.)
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from moot.settings import Settings

WARMUP = 20
# The measured part, start-up excluded, takes a minute or two under valgrind for 50 requests of a few ms each.
TIMEOUT_SECONDS = 1800
REMOTE_HOST = "remote.bench.example"  # the inbound senders' (`inbound_reply_to`)


@dataclass(frozen=True, slots=True)
class InstructionsOptions:
    path: str
    method: str = "GET"
    body: str = ""  # JSON; with `flip`, SCORE in it is replaced by 1 and -1 in turn (a vote that changes each time)
    flip: bool = False
    login: str | None = None  # a bench account (`bench_0` ...), its password the seed's
    requests: int = 50
    # A post's id: each request a Create{Note} replying to it, signed by one of four remote people, to `path`
    # (Moot's shared inbox). The requests are signed before the count starts: the sender's work is not counted.
    inbound_reply_to: int | None = None


def run_instructions(settings: Settings, options: InstructionsOptions) -> int:
    """Runs the measurement in a child process under callgrind; prints instructions per request."""
    if options.requests < 1:
        print("bench: --requests must be at least 1", file=sys.stderr)
        return 2
    valgrind = shutil.which("valgrind")
    if valgrind is None or shutil.which("callgrind_control") is None:
        print("bench: valgrind (callgrind) is not installed", file=sys.stderr)
        return 2
    env = {
        **os.environ,
        "MOOT_DATABASE_URL": settings.effective_database_url,
        "MOOT_RUN_JOBS": "0",
        "MOOT_RUN_DELIVERY": "0",
        "MOOT_ANON_CACHE_SECONDS": "0",
        "MOOT_BENCH_INSTRUCTIONS": orjson.dumps(asdict(options)).decode(),
    }
    command = [
        valgrind,
        "--tool=callgrind",
        "--instr-atstart=no",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "moot.bench.instructions",
    ]
    done = subprocess.run(  # noqa: S603 - fixed command
        command, env=env, capture_output=True, text=True, check=False, timeout=TIMEOUT_SECONDS
    )
    collected = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if done.returncode != 0 or collected is None or int(collected.group(1)) == 0 or "measured" not in done.stdout:
        print(done.stdout[-2000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
        return 1
    print(done.stdout.strip())
    per_request = int(collected.group(1)) / options.requests
    print(f"{options.method} {options.path}: {per_request / 1e6:.3f} M instructions per request")
    return 0


def _toggle(state: str) -> None:
    """Instrumentation on or off in this process (valgrind reads the command while the process runs)."""
    command = [shutil.which("callgrind_control") or "callgrind_control", "-i", state, str(os.getpid())]
    control = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - fixed command
    deadline = time.monotonic() + 60
    while control.poll() is None:
        if time.monotonic() > deadline:
            control.kill()
            raise SystemExit(f"bench: callgrind_control -i {state} did not answer")
        time.sleep(0.005)  # the process keeps running (and so reads valgrind's command) while it waits
    if control.returncode != 0:
        raise SystemExit(f"bench: callgrind_control -i {state} failed (is this process under callgrind?)")


async def _call(app: Any, method: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    route, _, query = path.partition("?")
    given = {name for name, _ in headers}
    defaults = [(b"host", b"localhost"), (b"content-type", b"application/json")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [*(header for header in defaults if header[0] not in given), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("localhost", 8536),
    }
    received = False
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return int(answer["status"]), bytes(answer["body"])


async def _measure(options: InstructionsOptions) -> None:
    from moot.app import create_app
    from moot.bench.seed import BENCH_PASSWORD

    app = create_app(migrate=False)
    async with app.router.lifespan_context(app):
        headers: list[tuple[bytes, bytes]] = []
        if options.login:
            login = orjson.dumps({"username_or_email": options.login, "password": BENCH_PASSWORD})
            status, answer = await _call(app, "POST", "/api/v3/user/login", login, [])
            if status != 200:
                raise SystemExit(f"bench: login as {options.login} failed: {answer[:200]!r}")
            headers.append((b"authorization", b"Bearer " + orjson.loads(answer)["jwt"].encode()))
        scores = [1, -1]
        signed: list[tuple[bytes, list[tuple[bytes, bytes]]]] = []
        if options.inbound_reply_to is not None:
            signed = await _signed_replies(app, options.inbound_reply_to, WARMUP + options.requests)

        def body() -> bytes:
            if not options.flip:
                return options.body.encode()
            scores.reverse()
            return options.body.replace("SCORE", str(scores[0])).encode()

        async def request() -> bytes:
            if signed:
                activity, signature = signed.pop()
                status, answer = await _call(app, "POST", options.path, activity, signature)
            else:
                status, answer = await _call(app, options.method, options.path, body(), headers)
            if status != 200:  # an error answer costs less than the request: it must not be counted as one
                raise SystemExit(f"bench: {options.method} {options.path} answered {status}: {answer[:200]!r}")
            return answer

        for _ in range(WARMUP):
            answer = await request()
        _toggle("on")
        for _ in range(options.requests):
            await request()
        _toggle("off")
        print(f"measured {options.requests} requests ({len(answer)} bytes each)")


async def _signed_replies(app: Any, post_id: int, count: int) -> list[tuple[bytes, list[tuple[bytes, bytes]]]]:
    """`count` signed replies to the post by four remote people, stored with their keys (nothing is fetched)."""
    from sqlalchemy import select

    from moot.actions.remote import upsert_remote_person
    from moot.bench.federation import Sender, signed_reply_parts
    from moot.db.community import Community
    from moot.db.post import Post
    from moot.domain.keys import generate_keypair

    db = app.state.moot.db
    senders = []
    run = uuid.uuid4().hex[:8]  # people of this run's own: two runs at once each sign with their own keys
    async with db.write() as session:
        found = (
            await session.execute(
                select(Post.ap_id, Community.ap_id)
                .join(Community, Community.id == Post.community_id)
                .where(Post.id == post_id)
            )
        ).first()
        if found is None:
            raise SystemExit(f"bench: no post {post_id} to reply to")
        for index in range(4):
            ap_id = f"http://{REMOTE_HOST}/u/sender{index}_{run}"
            keys = generate_keypair()
            person = await upsert_remote_person(session, ap_id=ap_id, name=f"sender{index}_{run}", domain=REMOTE_HOST)
            person.public_key = keys.public_pem
            senders.append(Sender(ap_id=ap_id, key_id=f"{ap_id}#main-key", keys=keys))
    replies = []
    for n in range(count):
        body, signature = signed_reply_parts(senders[n % len(senders)], "localhost", found[0], found[1], n)
        replies.append((body, [(name.lower().encode(), value.encode()) for name, value in signature.items()]))
    return replies


def main() -> None:
    raw = orjson.loads(os.environ["MOOT_BENCH_INSTRUCTIONS"])
    asyncio.run(_measure(InstructionsOptions(**raw)))


if __name__ == "__main__":
    main()
