"""Five Moot servers shaped like Lemmy's federation test cluster, for scenarios across real processes.

Lemmy's suite (api_tests/prepare-drone-federation-test.sh and src/shared.ts) runs lemmy-alpha:8541 ..
lemmy-epsilon:8581 and configures them only through the v3 API: the admin logs in, raises the rate limits with
`PUT /api/v3/site`, and sets allow and block lists given as host names without ports:

    lemmy-alpha    127.0.2.1   allows beta, gamma, delta, epsilon
    lemmy-beta     127.0.2.2   allows alpha, gamma, delta, epsilon
    lemmy-gamma    127.0.2.3   allows alpha, beta, delta, epsilon
    lemmy-delta    127.0.2.4   allows beta only
    lemmy-epsilon  127.0.2.5   blocks alpha

Every server binds a loopback address of its own (127.0.2.x: tests/test_federation.py uses 127.0.0.2-4) on a
free port. When Moot has MOOT_FEDERATION_HOSTS (a fixed name table used instead of DNS), the servers are named as
Lemmy's are: `MOOT_HOSTNAME` is `lemmy-alpha:<port>`, the lists say `lemmy-beta`, and every server maps the five
names to their addresses (nothing touches /etc/hosts). Without it, the address is the host name
(`127.0.2.1:<port>`). Either way an instance's host, what the lists name, has no port while its actors' ids do.
MOOT_FEDERATION_DEBUG=true lets the servers speak http with ports. The test clients connect to the addresses.
The admins are `lemmy_alpha` .. `lemmy_epsilon`, as in Lemmy's cluster.

Backends: when the suite runs on PostgreSQL (MOOT_TEST_DB=postgres), alpha, gamma and epsilon use PostgreSQL
and beta and delta SQLite; on SQLite all five use SQLite, so that the SQLite run needs no database server.

Nothing here calls into a server except over HTTP; `eventually` polls with a bound instead of sleeping."""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from conftest import DatabaseUnderTest, ServerProcess, backend, drop_database, make_database, start_server, stop_server
from moot.settings import ENV_NAMES

NAMES = ("alpha", "beta", "gamma", "delta", "epsilon")
ADDRESSES = {name: f"127.0.2.{index}" for index, name in enumerate(NAMES, start=1)}
# Lemmy's host names, when the servers can be told where they are (MOOT_FEDERATION_HOSTS).
NAMED = "federation_hosts" in ENV_NAMES
HOSTS = {name: f"lemmy-{name}" if NAMED else ADDRESSES[name] for name in NAMES}
POSTGRES_NODES = ("alpha", "gamma", "epsilon")  # when the suite runs on PostgreSQL
PASSWORD = "lemmylemmy"  # Lemmy's test password, for the admins and everyone registered
FED_ENV = {"MOOT_FEDERATION_DEBUG": "true", "MOOT_RUN_JOBS": "false"}

# Lemmy's lists, by node name; the API gets host names without ports.
ALLOWED = {
    "alpha": ("beta", "gamma", "delta", "epsilon"),
    "beta": ("alpha", "gamma", "delta", "epsilon"),
    "gamma": ("alpha", "beta", "delta", "epsilon"),
    "delta": ("beta",),
    "epsilon": (),
}
BLOCKED = {"alpha": (), "beta": (), "gamma": (), "delta": (), "epsilon": ("alpha",)}
RATE_LIMITS = {
    f"rate_limit_{bucket}": 10_000 for bucket in ("message", "post", "register", "image", "comment", "search")
}


def admin_name(node: str) -> str:
    return f"lemmy_{node}"


def free_port_on(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Node:
    name: str
    host: str  # as the allow and block lists name it: `lemmy-alpha` (or the address)
    address: str  # the loopback address it listens on
    port: int
    kind: str  # "sqlite" or "postgres"
    db: DatabaseUnderTest
    server: ServerProcess

    @property
    def domain(self) -> str:
        """As in `name@domain` and in every actor id of this server: host and port."""
        return f"{self.host}:{self.port}"

    @property
    def origin(self) -> str:
        """The start of every id of this server (`http://lemmy-alpha:<port>`)."""
        return f"http://{self.domain}"

    @property
    def base(self) -> str:
        """Where a test client connects."""
        return f"http://{self.address}:{self.port}"

    @property
    def log(self) -> Path:
        return self.server.log


class Client:
    """One person (or an anonymous visitor) on one node, speaking the v3 API."""

    def __init__(self, node: Node, jwt: str | None = None, name: str | None = None) -> None:
        self.node = node
        self.name = name or ""
        headers = {"Authorization": f"Bearer {jwt}"} if jwt else {}
        self.http = httpx.AsyncClient(base_url=f"{node.base}/api/v3", headers=headers, timeout=30)

    @property
    def handle(self) -> str:
        """`name@domain`, as other servers write this person."""
        return f"{self.name}@{self.node.domain}"

    @property
    def actor_id(self) -> str:
        return f"{self.node.origin}/u/{self.name}"

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> tuple[int, Any]:
        clean = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items() if v is not None}
        r = await self.http.request(method, path, params=clean or None, json=body)
        return r.status_code, r.json()

    async def get(self, path: str, **params: Any) -> Any:
        status, data = await self.call("GET", path, **params)
        assert status == 200, (self.node.name, path, params, status, data)
        return data

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        status, data = await self.call("POST", path, body)
        assert status == 200, (self.node.name, path, body, status, data)
        return data

    async def put(self, path: str, body: dict[str, Any]) -> Any:
        status, data = await self.call("PUT", path, body)
        assert status == 200, (self.node.name, path, body, status, data)
        return data

    async def resolve(self, q: str) -> tuple[int, Any]:
        return await self.call("GET", "/resolve_object", q=q)

    async def close(self) -> None:
        await self.http.aclose()


@dataclass
class Cluster:
    nodes: dict[str, Node]
    _markers: dict[str, int] = field(default_factory=dict)
    _admins: dict[str, Client] = field(default_factory=dict)
    _clients: list[Client] = field(default_factory=list)

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    # Start, configure, stop

    @staticmethod
    def kind_of(name: str) -> str:
        return "postgres" if backend() == "postgres" and name in POSTGRES_NODES else "sqlite"

    @classmethod
    def start(cls, tmp: Callable[[str], Path], names: tuple[str, ...] = NAMES) -> Cluster:
        """Start the five servers (or the first few `names`) at once (each migrates its own database) and
        configure them as Lemmy's suite does. `tmp(name)` gives a fresh directory for a node's files."""
        plans = [(name, free_port_on(ADDRESSES[name]), cls.kind_of(name), tmp(name)) for name in names]
        env = {**FED_ENV, "MOOT_SETUP_ADMIN_PASSWORD": PASSWORD}
        if NAMED:
            env["MOOT_FEDERATION_HOSTS"] = ",".join(f"{HOSTS[name]}={ADDRESSES[name]}" for name in NAMES)
        started: dict[str, Node] = {}

        def launch(plan: tuple[str, int, str, Path]) -> Node:
            name, port, kind, directory = plan
            db = make_database(directory, kind)
            own = {
                **env,
                "MOOT_HOSTNAME": f"{HOSTS[name]}:{port}",
                "MOOT_SETUP_ADMIN_USERNAME": admin_name(name),
                "MOOT_SETUP_SITE_NAME": f"lemmy-{name}",
            }
            try:
                server = start_server(db, port, own, host=ADDRESSES[name])
            except BaseException:
                drop_database(db)
                raise
            started[name] = Node(name, HOSTS[name], ADDRESSES[name], port, kind, db, server)
            return started[name]

        cluster = cls(nodes=started)
        try:
            with ThreadPoolExecutor(max_workers=len(plans)) as pool:
                for future in [pool.submit(launch, plan) for plan in plans]:
                    future.result()
            cluster.nodes = {name: started[name] for name in names}
            cluster.configure()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def configure(self) -> None:
        """Lemmy's setupLogins(): each admin logs in and edits the site (rate limits, open registration, lists)."""
        for name, node in self.nodes.items():
            with httpx.Client(base_url=f"{node.base}/api/v3", timeout=30) as http:
                r = http.post("/user/login", json={"username_or_email": admin_name(name), "password": PASSWORD})
                assert r.status_code == 200, (name, r.text)
                form: dict[str, Any] = {
                    "registration_mode": "Open",
                    **RATE_LIMITS,
                    "allowed_instances": [HOSTS[other] for other in ALLOWED[name]],
                    "blocked_instances": [HOSTS[other] for other in BLOCKED[name]],
                }
                r = http.put("/site", json=form, headers={"Authorization": f"Bearer {r.json()['jwt']}"})
                assert r.status_code == 200, (name, r.text)

    def stop(self) -> None:
        def stop_one(node: Node) -> None:
            if node.server.process.poll() is None:
                stop_server(node.server)
            drop_database(node.db)

        with ThreadPoolExecutor(max_workers=len(NAMES)) as pool:
            list(pool.map(stop_one, list(self.nodes.values())))

    async def close_clients(self) -> None:
        for client in self._clients:
            await client.close()
        self._clients.clear()
        self._admins.clear()

    # People

    async def login(self, node: str, name: str, password: str = PASSWORD) -> Client:
        target = self.nodes[node]
        async with httpx.AsyncClient(base_url=f"{target.base}/api/v3", timeout=30) as http:
            r = await http.post("/user/login", json={"username_or_email": name, "password": password})
            assert r.status_code == 200, (node, r.text)
        client = Client(target, r.json()["jwt"], name)
        self._clients.append(client)
        return client

    async def admin(self, node: str) -> Client:
        if node not in self._admins:
            self._admins[node] = await self.login(node, admin_name(node))
        return self._admins[node]

    async def register(self, node: str, prefix: str | None = None) -> Client:
        target = self.nodes[node]
        name = f"{prefix or node[:3]}_{secrets.token_hex(4)}"
        body = {"username": name, "password": PASSWORD, "password_verify": PASSWORD}
        async with httpx.AsyncClient(base_url=f"{target.base}/api/v3", timeout=30) as http:
            r = await http.post("/user/register", json=body)
            assert r.status_code == 200, (node, r.text)
        client = Client(target, r.json()["jwt"], name)
        self._clients.append(client)
        return client

    def anonymous(self, node: str) -> Client:
        client = Client(self.nodes[node])
        self._clients.append(client)
        return client

    # Delivery, observed from outside

    async def drained(self, sender: str, receiver: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until `sender` is done with everything it had recorded for `receiver` until now: delivered, or
        refused for good. A marker post is recorded now (in a community nobody follows); the per-instance cursor
        passes activities in order, so once it has passed the marker's time it has passed everything before.
        This bounds the wait of a test that checks that something did NOT arrive."""
        admin = await self.admin(sender)
        if sender not in self._markers:
            name = f"marker_{secrets.token_hex(4)}"
            created = await admin.post("/community", {"name": name, "title": "Delivery marker"})
            self._markers[sender] = int(created["community_view"]["community"]["id"])
        since = datetime.now(UTC)
        await admin.post("/post", {"name": "marker", "community_id": self._markers[sender]})
        target = self.nodes[receiver]

        async def passed() -> bool:
            data = await admin.get("/federated_instances")
            for instance in data["federated_instances"]["linked"]:
                if instance["domain"] not in (target.domain, target.host):
                    continue
                moment = (instance.get("federation_state") or {}).get("last_successful_published_time")
                if moment is not None and datetime.fromisoformat(moment) >= since:
                    return True
            return False

        await eventually(passed, timeout, f"{sender}'s delivery to {receiver} never passed its marker")


async def eventually(
    check: Callable[[], Awaitable[Any]],
    timeout: float = 30.0,  # noqa: ASYNC109
    what: str = "condition",
) -> Any:
    """Poll until `check` returns something truthy (federation is asynchronous by design)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
            if last:
                return last
        except (AssertionError, KeyError, IndexError) as exc:
            last = exc
        await asyncio.sleep(0.25)
    raise AssertionError(f"{what} not met in {timeout}s; last result: {last!r}")


@contextmanager
def running_cluster(tmp: Callable[[str], Path], names: tuple[str, ...] = NAMES) -> Iterator[Cluster]:
    cluster = Cluster.start(tmp, names)
    try:
        yield cluster
    finally:
        cluster.stop()


# Federation verbs the scenarios share (the shape of Lemmy's shared.ts)


async def create_community(client: Client, prefix: str = "c") -> dict[str, Any]:
    name = f"{prefix}_{secrets.token_hex(4)}"
    data = await client.post("/community", {"name": name, "title": name, "description": "a sample description"})
    community: dict[str, Any] = data["community_view"]["community"]
    return community


async def resolve_community(client: Client, name: str, home: Node) -> dict[str, Any]:
    """The community's view on `client`'s server, resolved by `!name@domain` (as resolveBetaCommunity)."""
    status, data = await client.resolve(f"!{name}@{home.domain}")
    assert status == 200, (client.node.name, name, status, data)
    view: dict[str, Any] = data["community"]
    return view


async def community_view(client: Client, community_id: int) -> dict[str, Any]:
    view: dict[str, Any] = (await client.get("/community", id=community_id))["community_view"]
    return view


async def follow(client: Client, community_id: int) -> dict[str, Any]:
    """Follow a remote community: `Pending` at once, `Subscribed` once the Accept has come back."""
    followed = await client.post("/community/follow", {"community_id": community_id, "follow": True})
    assert followed["community_view"]["subscribed"] == "Pending", followed["community_view"]

    async def accepted() -> dict[str, Any] | None:
        view = await community_view(client, community_id)
        return view if view["subscribed"] == "Subscribed" else None

    found: dict[str, Any] = await eventually(accepted, what=f"{client.handle} subscribed to {community_id}")
    return found


async def find_post(client: Client, ap_id: str, community_id: int) -> dict[str, Any] | None:
    """The post as this server has it from delivery: looked up in the community's listing, never fetched
    (resolve_object would fetch it from its origin and hide a delivery that never happened)."""
    listed = await client.get("/post/list", community_id=community_id, sort="New", limit=50)
    for view in listed["posts"]:
        if view["post"]["ap_id"] == ap_id:
            found: dict[str, Any] = view
            return found
    return None


async def arrived_post(client: Client, ap_id: str, community_id: int) -> dict[str, Any]:
    found: dict[str, Any] = await eventually(
        lambda: find_post(client, ap_id, community_id), what=f"post {ap_id} on {client.node.name}"
    )
    return found


async def comments_on(client: Client, post_id: int) -> list[dict[str, Any]]:
    data = await client.get("/comment/list", post_id=post_id, max_depth=50, sort="Old", type_="All")
    return list(data["comments"])


async def find_comment(client: Client, ap_id: str, post_id: int) -> dict[str, Any] | None:
    for view in await comments_on(client, post_id):
        if view["comment"]["ap_id"] == ap_id:
            found: dict[str, Any] = view
            return found
    return None


async def arrived_comment(client: Client, ap_id: str, post_id: int) -> dict[str, Any]:
    found: dict[str, Any] = await eventually(
        lambda: find_comment(client, ap_id, post_id), what=f"comment {ap_id} on {client.node.name}"
    )
    return found
