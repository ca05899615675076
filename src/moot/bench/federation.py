"""`moot bench federation`: the two federation scenarios, against a real `moot serve` and real HTTP.

- **inbound**: signed `Create{Note}` replies from remote people, sent to Moot's shared inbox by a loopback
  sender (real draft-cavage signatures, the actors' documents served by the bench and fetched by Moot once),
  at each concurrency level for a fixed time: activities accepted per second and their latency. Moot answers
  only after the activity was applied, so accepted means processed; the run also counts the comments stored.
- **fan-out**: one post in a community followed by people of N remote instances (default 1,000), each with its
  own loopback address and inbox; the time from the API call until every instance has the community's
  Announce (first, median, p90 and last instance), repeated.

The database is the bench's own (`--recreate` drops it first): the scenarios add instances and followers that
would change the numbers of `moot bench run` on a seeded one. Moot runs with MOOT_FEDERATION_DEBUG=true, the
only way to let it fetch from and deliver to http://127.x addresses; that also shortens its delivery polling
(0.1 s idle poll instead of 1 s)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import socket
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from moot import __version__
from moot.actions import communities as community_actions
from moot.actions import remote
from moot.bench.loadgen import run_load
from moot.bench.progress import step
from moot.bench.run import Server, machine_facts, peak_memory, start_server, stop_server, write_report
from moot.bench.seed import recreate_postgres, remove_sqlite
from moot.bench.stats import Summary, median_of, summarize
from moot.db.comment import Comment
from moot.db.engine import Database
from moot.db.federation import FederationQueueState
from moot.db.instance import Instance
from moot.db.person import Person
from moot.domain.keys import KeyPair, generate_keypair
from moot.federation.protocol import PUBLIC
from moot.federation.signatures import sign_request
from moot.queries.viewer import RemoteActor
from moot.settings import Settings

HOST = "127.0.0.1"
ADMIN = "bench_admin"
ADMIN_PASSWORD = "bench-admin-password-1"  # noqa: S105 - a throwaway account on the bench's own database
SENDER_HOST = "127.2.0.1"
AP_TYPE = "application/activity+json"
MAX_HEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class FederationOptions:
    instances: int = 1000
    senders: int = 16
    duration: float = 10.0
    concurrency: list[int] = field(default_factory=lambda: [1, 4, 16, 64])
    repeat: int = 3
    workers: int | None = None
    recreate: bool = False
    out: str | None = None
    label: str = ""
    # What the follower instances' NodeInfo says they run: "lemmy" gets one announce per post, software Moot
    # does not count as group-aware (e.g. "mastodon") gets Announce{Page} too (federation/software.py).
    peer_software: str = "lemmy"


def instance_address(index: int) -> str:
    """A loopback address of its own for each follower instance: 127.1.0.1, 127.1.0.2, ... (Linux answers
    on all of 127.0.0.0/8 without configuration)."""
    return f"127.1.{index // 250}.{index % 250 + 1}"


# ------------------------------------------------------------------ the loopback peer


@dataclass(slots=True)
class Peer:
    """The remote side: serves the senders' actor documents and counts what arrives at each inbox."""

    docs: dict[str, bytes] = field(default_factory=dict)
    # object id -> {host: seconds (perf_counter) of the first delivery that carried it}
    arrivals: dict[str, dict[str, float]] = field(default_factory=dict)
    # object id -> (hosts wanted, set when that many have it)
    waiting: dict[str, tuple[int, asyncio.Event]] = field(default_factory=dict)
    posts_received: int = 0
    servers: list[asyncio.base_events.Server] = field(default_factory=list)
    port: int = 0
    software: str = "lemmy"

    async def start(self, addresses: list[str]) -> None:
        self.port = _free_port(addresses[0])
        for address in addresses:
            self.servers.append(await asyncio.start_server(self._serve, address, self.port, backlog=64))

    async def stop(self) -> None:
        for server in self.servers:
            server.close()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def reached(self, ap_id: str, hosts: int, limit_seconds: float) -> dict[str, float]:
        """Wait until `hosts` different hosts have received the object; their first arrival times."""
        event = asyncio.Event()
        self.waiting[ap_id] = (hosts, event)
        if len(self.arrivals.get(ap_id, {})) >= hosts:
            event.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), limit_seconds)
        return self.arrivals.get(ap_id, {})

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                if len(head) > MAX_HEAD:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                try:
                    body = await reader.readexactly(int(headers.get("content-length", "0")))
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # a sender stopped mid-request (its process was stopped at the end of the run)
                if method == "GET":
                    doc = self.docs.get(path) or self._nodeinfo(path, headers.get("host", ""))
                    status, payload = (200, doc) if doc is not None else (404, b"{}")
                else:
                    self._arrived(headers.get("host", ""), body)
                    status, payload = 202, b""
                reason = {200: "OK", 202: "Accepted", 404: "Not Found"}[status]
                head_out = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {AP_TYPE}\r\nContent-Length: {len(payload)}"
                writer.write(f"{head_out}\r\n\r\n".encode() + payload)
                await writer.drain()
        finally:
            writer.close()

    def _nodeinfo(self, path: str, host: str) -> bytes | None:
        """Each instance's NodeInfo, naming itself (the index must point at the instance's own host)."""
        if path == "/.well-known/nodeinfo":
            link = {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f"http://{host}/nodeinfo/2.1"}
            return json.dumps({"links": [link]}).encode()
        if path == "/nodeinfo/2.1":
            return json.dumps({"version": "2.1", "software": {"name": self.software, "version": "bench"}}).encode()
        return None

    def _arrived(self, host: str, body: bytes) -> None:
        self.posts_received += 1
        now = time.perf_counter()
        try:
            activity = json.loads(body)
        except ValueError:
            return
        # Announce{Create{Page}}: look at every id down the object chain.
        node: Any = activity
        for _ in range(4):
            if not isinstance(node, dict):
                break
            object_id = str(node.get("id"))
            seen = self.arrivals.setdefault(object_id, {})
            seen.setdefault(host.split(":")[0], now)
            wanted = self.waiting.get(object_id)
            if wanted is not None and len(seen) >= wanted[0]:
                wanted[1].set()
            node = node.get("object")


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        port: int = s.getsockname()[1]
        return port


# ------------------------------------------------------------------ the senders (inbound)


@dataclass(frozen=True, slots=True)
class Sender:
    ap_id: str
    key_id: str
    keys: KeyPair


def _actor_doc(sender: Sender, name: str, base: str) -> bytes:
    return json.dumps(
        {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": sender.ap_id,
            "type": "Person",
            "preferredUsername": name,
            "inbox": f"{sender.ap_id}/inbox",
            "outbox": f"{sender.ap_id}/outbox",
            "endpoints": {"sharedInbox": f"{base}/inbox"},
            "publicKey": {"id": sender.key_id, "owner": sender.ap_id, "publicKeyPem": sender.keys.public_pem},
        }
    ).encode()


def make_senders(peer: Peer, count: int) -> list[Sender]:
    base = f"http://{SENDER_HOST}:{peer.port}"
    senders = []
    for index in range(count):
        name = f"sender{index}"
        ap_id = f"{base}/u/{name}"
        sender = Sender(ap_id=ap_id, key_id=f"{ap_id}#main-key", keys=generate_keypair())
        peer.docs[f"/u/{name}"] = _actor_doc(sender, name, base)
        senders.append(sender)
    return senders


def signed_reply(sender: Sender, moot: str, post_ap_id: str, community_ap_id: str, n: int) -> bytes:
    """One raw HTTP request: a signed Create{Note} replying to the post, for Moot's shared inbox."""
    body, headers = signed_reply_parts(sender, moot, post_ap_id, community_ap_id, n)
    lines = ["POST /inbox HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()), f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def signed_reply_parts(
    sender: Sender, moot: str, post_ap_id: str, community_ap_id: str, n: int
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a signed Create{Note} replying to the post, for Moot's shared inbox (`moot`: the
    host and port the request is sent to, as signed)."""
    host = sender.ap_id.split("/")[2]
    note_id = f"http://{host}/comment/{uuid.uuid4().hex}"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"http://{host}/activities/create/{uuid.uuid4()}",
        "type": "Create",
        "actor": sender.ap_id,
        "to": [PUBLIC],
        "cc": [community_ap_id],
        "audience": community_ap_id,
        "object": {
            "type": "Note",
            "id": note_id,
            "attributedTo": sender.ap_id,
            "to": [PUBLIC],
            "cc": [community_ap_id],
            "audience": community_ap_id,
            "inReplyTo": post_ap_id,
            "content": f"<p>Inbound reply {n}: a few words about the article.</p>",
            "mediaType": "text/html",
            "source": {"content": f"Inbound reply {n}: a few words about the article.", "mediaType": "text/markdown"},
            "published": datetime.now(UTC).isoformat(),
        },
    }
    body = json.dumps(activity).encode()
    url = f"http://{moot}/inbox"
    headers = {"Content-Type": AP_TYPE}
    headers.update(sign_request("POST", url, headers, body, sender.key_id, sender.keys.private_pem))
    return body, headers


@dataclass(slots=True)
class Signed:
    """Requests signed ahead of time, so that the load generator spends no CPU on RSA while it measures."""

    senders: list[Sender]
    moot: str
    post_ap_id: str
    community_ap_id: str
    ready: list[bytes] = field(default_factory=list)
    made: int = 0

    def fill(self, count: int) -> None:
        while len(self.ready) < count:
            self.ready.append(self._one())

    def _one(self) -> bytes:
        self.made += 1
        sender = self.senders[self.made % len(self.senders)]
        return signed_reply(sender, self.moot, self.post_ap_id, self.community_ap_id, self.made)

    def take(self, _connection: int, _k: int) -> bytes:
        return self.ready.pop() if self.ready else self._one()


# ------------------------------------------------------------------ the run


@dataclass(slots=True)
class Setup:
    server: Server
    moot: str
    token: str
    inbound_community: dict[str, Any]
    inbound_post: dict[str, Any]
    fanout_community: dict[str, Any]


async def _api(client: httpx.AsyncClient, method: str, path: str, token: str | None, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reply = await client.request(method, f"/api/v3{path}", json=body, headers=headers)
    if reply.status_code != 200:
        raise RuntimeError(f"{method} {path}: {reply.status_code} {reply.text[:300]}")
    return reply.json()


async def _start(settings: Settings, options: FederationOptions, workers: int) -> Setup:
    url = settings.effective_database_url
    if options.recreate:
        if settings.is_sqlite:
            remove_sqlite(url)
        else:
            await recreate_postgres(url)
    port = _free_port(HOST)
    moot = f"{HOST}:{port}"
    env = {
        "MOOT_HOSTNAME": moot,
        "MOOT_TLS_ENABLED": "false",
        "MOOT_FEDERATION_DEBUG": "true",
        "MOOT_SETUP_ADMIN_USERNAME": ADMIN,
        "MOOT_SETUP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MOOT_RUN_JOBS": "false",
        "MOOT_RUN_DELIVERY": "true",
    }
    server = start_server(settings, workers, env=env, port=port)
    async with httpx.AsyncClient(base_url=f"http://{moot}", timeout=60) as client:
        token = (
            await _api(client, "POST", "/user/login", None, {"username_or_email": ADMIN, "password": ADMIN_PASSWORD})
        )["jwt"]
        inbound = (await _api(client, "POST", "/community", token, {"name": "inbound", "title": "Inbound"}))[
            "community_view"
        ]["community"]
        fanout = (await _api(client, "POST", "/community", token, {"name": "fanout", "title": "Fan-out"}))[
            "community_view"
        ]["community"]
        post = (
            await _api(client, "POST", "/post", token, {"name": "Replies arrive here", "community_id": inbound["id"]})
        )["post_view"]["post"]
    return Setup(server, moot, token, inbound, post, fanout)


async def _stored_replies(db: Database, post_id: int) -> int:
    async with db.read() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Comment)
                .join(Person, Person.id == Comment.creator_id)
                .where(Comment.post_id == post_id, Person.local.is_(False))
            )
            or 0
        )


async def _inbound(settings: Settings, setup: Setup, peer: Peer, options: FederationOptions) -> dict[str, Any]:
    senders = make_senders(peer, options.senders)
    signed = Signed(senders, setup.moot, setup.inbound_post["ap_id"], setup.inbound_community["actor_id"])
    host, port = setup.moot.split(":")
    # First contact: Moot fetches each sender's actor document once (not measured).
    signed.fill(len(senders))
    warm = await run_load(host, int(port), signed.take, len(senders), 0.01)
    if warm.errors:
        raise RuntimeError(f"inbound warm-up refused: {warm.first_error}")
    db = Database(settings)
    cells = []
    accepted = len(warm.latencies)
    try:
        rate = 200.0
        for concurrency in options.concurrency:
            runs: list[Summary] = []
            for _ in range(options.repeat):
                signed.fill(int(rate * options.duration * 1.5) + 100)
                result = await run_load(host, int(port), signed.take, concurrency, options.duration)
                summary = summarize(result.latencies, result.errors, result.seconds)
                runs.append(summary)
                rate = max(rate, summary.rps)
                accepted += summary.requests
                if result.first_error:
                    step(f"inbound c={concurrency}: first error {result.first_error}")
            stored = await _stored_replies(db, setup.inbound_post["id"])
            middle = median_of(runs)
            step(
                f"inbound         c={concurrency:<3} {middle.rps:8.1f} activities/s p50 {middle.p50_ms:7.1f} ms"
                f" p99 {middle.p99_ms:7.1f} ms | accepted so far {accepted}, stored {stored}"
            )
            cells.append(
                {
                    "concurrency": concurrency,
                    "moot": middle.as_json(),
                    "runs": [r.as_json() for r in runs],
                    "accepted_total": accepted,
                    "stored_total": stored,
                    "loadavg_1m_after": round(os.getloadavg()[0], 2),
                }
            )
    finally:
        await db.dispose()
    return {"senders": len(senders), "activity": "Create{Note} reply to a local post", "cells": cells}


async def _add_followers(settings: Settings, setup: Setup, peer: Peer, count: int) -> None:
    """`count` remote people, each of its own instance (its own loopback address), following the community:
    recorded through the same actions the inbox uses for a remote Follow."""
    db = Database(settings)
    try:
        for start in range(0, count, 100):
            async with db.write() as session:
                for index in range(start, min(count, start + 100)):
                    domain = f"{instance_address(index)}:{peer.port}"
                    person = await remote.upsert_remote_person(
                        session, ap_id=f"http://{domain}/u/follower", name="follower", domain=domain
                    )
                    person.inbox_url = f"http://{domain}/u/follower/inbox"
                    person.shared_inbox_url = f"http://{domain}/inbox"
                    await community_actions.follow_community(
                        session, RemoteActor(person=person), setup.fanout_community["id"], True
                    )
    finally:
        await db.dispose()


async def _wait_for_workers(settings: Settings, count: int, limit_seconds: float) -> float:
    """Until the delivery process has a queue (cursor) for every instance (it has seen them all) and knows what
    software each runs (it read their NodeInfo, as a server that has been running a while knows it)."""
    db = Database(settings)
    started = time.perf_counter()
    have = learned = 0
    try:
        while time.perf_counter() - started < limit_seconds:
            async with db.read() as session:
                have = int(await session.scalar(select(func.count()).select_from(FederationQueueState)) or 0)
                learned = int(await session.scalar(select(func.count()).where(Instance.software.is_not(None))) or 0)
            if have >= count and learned >= count:
                return time.perf_counter() - started
            await asyncio.sleep(0.2)
    finally:
        await db.dispose()
    raise RuntimeError(
        f"in {limit_seconds:.0f} s the delivery process started queues for {have} of {count} instances"
        f" and learned the software of {learned}"
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 1)


async def _fanout(settings: Settings, setup: Setup, peer: Peer, options: FederationOptions) -> dict[str, Any]:
    step(f"fan-out: {options.instances} follower instances on their own loopback addresses")
    await _add_followers(settings, setup, peer, options.instances)
    discovered = await _wait_for_workers(settings, options.instances, limit_seconds=300)
    step(f"fan-out: the delivery process has a queue for each instance after {discovered:.1f} s")
    await asyncio.sleep(2)  # the new queues settle into their idle polling
    runs = []
    async with httpx.AsyncClient(base_url=f"http://{setup.moot}", timeout=60) as client:
        for n in range(options.repeat):
            requests_before = peer.posts_received
            started = time.perf_counter()
            post = (
                await _api(
                    client,
                    "POST",
                    "/post",
                    setup.token,
                    {"name": f"Fan-out {n}", "community_id": setup.fanout_community["id"]},
                )
            )["post_view"]["post"]
            answered = time.perf_counter()
            arrivals = await peer.reached(post["ap_id"], options.instances, limit_seconds=600)
            times = sorted(t - started for t in arrivals.values())
            if len(times) < options.instances:
                raise RuntimeError(f"fan-out: {len(times)} of {options.instances} instances reached in 600 s")
            run = {
                "api_ms": _ms(answered - started),
                "first_ms": _ms(times[0]),
                "median_ms": _ms(statistics.median(times)),
                "p90_ms": _ms(times[int(0.9 * (len(times) - 1))]),
                "all_ms": _ms(times[-1]),
                "deliveries_per_second": round(len(times) / times[-1], 1),
                "requests_received": peer.posts_received - requests_before,
            }
            step(
                f"fan-out run {n + 1}: first {run['first_ms']} ms, median {run['median_ms']} ms,"
                f" all {options.instances} in {run['all_ms']} ms ({run['deliveries_per_second']}/s)"
            )
            runs.append(run)
            await asyncio.sleep(2)
    middle = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    return {
        "instances": options.instances,
        "queues_started_seconds": round(discovered, 1),
        "median": middle,
        "runs": runs,
    }


async def _measure(settings: Settings, options: FederationOptions) -> dict[str, Any]:
    workers = options.workers or (1 if settings.is_sqlite else os.cpu_count() or 1)
    peer = Peer(software=options.peer_software)
    await peer.start([SENDER_HOST] + [instance_address(i) for i in range(options.instances)])
    step(f"starting moot serve with {workers} worker(s), federation debug on, delivery on")
    setup = await _start(settings, options, workers)
    try:
        step("inbound: signed Create{Note} replies to the shared inbox")
        inbound = await _inbound(settings, setup, peer, options)
        fanout = await _fanout(settings, setup, peer, options)
        memory = peak_memory(setup.server.process.pid)
    except BaseException:
        step("the server's log ends with:\n" + setup.server.log.read_text(errors="replace")[-4000:])
        raise
    finally:
        stop_server(setup.server)
        await peer.stop()
    return {
        "moot_version": __version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "label": options.label,
        "machine": machine_facts(),
        "database": "sqlite" if settings.is_sqlite else "postgresql",
        "settings": {**dataclasses.asdict(options), "server_workers": workers},
        "inbound": inbound,
        "fanout": fanout,
        "server_memory": memory,
    }


def format_report(report: dict[str, Any]) -> str:
    lines = [f"{'inbound':<10} {'c':>3} | {'activities/s':>12} {'p50':>7} {'p95':>7} {'p99':>7} | {'stored':>7}"]
    for cell in report["inbound"]["cells"]:
        m = cell["moot"]
        lines.append(
            f"{'':<10} {cell['concurrency']:>3} | {m['rps']:>12.1f} {m['p50_ms']:>7.1f} {m['p95_ms']:>7.1f}"
            f" {m['p99_ms']:>7.1f} | {cell['stored_total']:>7}"
        )
    f = report["fanout"]
    m = f["median"]
    lines.append(
        f"fan-out to {f['instances']} instances (median of {len(f['runs'])}): first {m['first_ms']} ms,"
        f" median {m['median_ms']} ms, p90 {m['p90_ms']} ms, all {m['all_ms']} ms"
    )
    total = sum(p["peak_rss_mib"] for p in report["server_memory"])
    lines.append(f"server peak RSS: {total:.1f} MiB in all")
    return "\n".join(lines)


def _allow_open_files(wanted: int) -> None:
    """One listening socket per instance: make sure the process may open that many."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def run_federation_bench(settings: Settings, options: FederationOptions) -> int:
    _allow_open_files(options.instances * 3 + 1024)
    report = asyncio.run(_measure(settings, options))
    print(format_report(report))
    write_report(report, options.out)
    return 0
