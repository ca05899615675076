"""Test fixtures: a real database (SQLite file or PostgreSQL, per MOOT_TEST_DB) and the real app over ASGI.

`MOOT_TEST_DB=sqlite` (default) or `MOOT_TEST_DB=postgres` (PostgreSQL at MOOT_TEST_PG, by default
postgresql+asyncpg://postgres@127.0.0.1:5432). Each test session gets a fresh database of its own; tests build
their state through the API (and so through the actions) and use unique names, so they never collide."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from moot.app import create_app
from moot.db.engine import Database
from moot.settings import Settings

ADMIN_NAME = "moot_admin"
ADMIN_PASSWORD = "admin-password-123"
HOSTNAME = "moot.test:8536"
PG_BASE = os.environ.get("MOOT_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
# The suite registers thousands of accounts: their passwords are hashed with argon2-cffi's cheapest parameters
# (still argon2id, still verified), in this process and in every server it starts, which inherit the
# environment. tests/test_passwords.py checks the default's cost and that the setting takes effect.
TEST_PASSWORD_HASH_PROFILE = "CHEAPEST"
os.environ.setdefault("MOOT_PASSWORD_HASH_PROFILE", TEST_PASSWORD_HASH_PROFILE)


def backend() -> str:
    return os.environ.get("MOOT_TEST_DB", "sqlite")


async def _pg_admin(sql: str) -> None:
    dsn = PG_BASE.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class DatabaseUnderTest:
    url: str
    data_dir: Path
    name: str | None = None


def make_database(tmp: Path, kind: str | None = None) -> DatabaseUnderTest:
    """A fresh database on the suite's backend, or on `kind` ("sqlite" or "postgres") when given."""
    if (kind or backend()) == "postgres":
        name = f"moot_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        return DatabaseUnderTest(url=f"{PG_BASE}/{name}", data_dir=tmp, name=name)
    return DatabaseUnderTest(url=f"sqlite+aiosqlite:///{tmp / 'moot.sqlite3'}", data_dir=tmp)


def drop_database(db: DatabaseUnderTest) -> None:
    if db.name is not None:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)'))


def settings_for(db: DatabaseUnderTest, hostname: str = HOSTNAME) -> Settings:
    return Settings(
        data_dir=db.data_dir,
        database_url=db.url,
        hostname=hostname,
        tls_enabled=False,
        setup_admin_username=ADMIN_NAME,
        setup_admin_password=ADMIN_PASSWORD,
        setup_site_name="Moot Test",
        # No task of the app's own: the jobs are run by the tests that need them, and delivery by real servers
        # (tests/cluster.py); a task sharing the pool with the requests left tests that look at a pooled
        # connection's state (plan mode, transaction) seeing the task's now and then.
        run_jobs=False,
        run_delivery=False,
        # Tests read anonymously right after writing; the cache has tests of its own (test_anon_cache.py).
        anon_cache_seconds=0,
        password_hash_profile=TEST_PASSWORD_HASH_PROFILE,
    )


@dataclass
class Api:
    """A thin client for the v3 API that returns (status, json) and remembers one login."""

    client: httpx.AsyncClient
    jwt: str | None = None
    person_id: int | None = None
    name: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    def _headers(self) -> dict[str, str]:
        headers = dict(self.extra_headers)
        if self.jwt:
            headers["Authorization"] = f"Bearer {self.jwt}"
        return headers

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        clean = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items() if v is not None}
        r = await self.client.get(f"/api/v3{path}", params=clean, headers=self._headers())
        return r.status_code, r.json()

    async def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        r = await self.client.post(f"/api/v3{path}", json=body or {}, headers=self._headers())
        return r.status_code, r.json()

    async def put(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        r = await self.client.put(f"/api/v3{path}", json=body, headers=self._headers())
        return r.status_code, r.json()

    def as_anonymous(self) -> Api:
        return Api(client=self.client)

    # Helpers that build state through the API, asserting it worked.
    async def ok_post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        status, data = await self.post(path, body)
        assert status == 200, (path, status, data)
        return data

    async def ok_put(self, path: str, body: dict[str, Any]) -> Any:
        status, data = await self.put(path, body)
        assert status == 200, (path, status, data)
        return data

    async def ok_get(self, path: str, **params: Any) -> Any:
        status, data = await self.get(path, **params)
        assert status == 200, (path, status, data)
        return data


def unique(prefix: str = "u") -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    db = make_database(tmp_path_factory.mktemp("moot"))
    yield db
    drop_database(db)


@pytest.fixture(scope="session")
def settings(database: DatabaseUnderTest) -> Settings:
    return settings_for(database)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """A Database of its own on the test database (its own pool), for tests that open sessions themselves."""
    database = Database(settings)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://moot.test:8536") as client:
        yield client


@pytest.fixture(scope="session")
async def admin(http: httpx.AsyncClient) -> Api:
    """The site admin (from MOOT_SETUP_ADMIN_*), with rate limits raised so the suite can run."""
    api = Api(client=http)
    data = await api.ok_post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
    api.jwt = data["jwt"]
    api.name = ADMIN_NAME
    site = await api.ok_get("/site")
    api.person_id = site["my_user"]["local_user_view"]["person"]["id"]
    await api.ok_put(
        "/site", {f"rate_limit_{b}": 100_000 for b in ("register", "post", "comment", "search", "message")}
    )
    return api


@pytest.fixture
def anon(http: httpx.AsyncClient, admin: Api) -> Api:
    return Api(client=http)


async def register(http: httpx.AsyncClient, name: str | None = None, password: str = "password-1234") -> Api:
    name = name or unique()
    api = Api(client=http)
    data = await api.ok_post("/user/register", {"username": name, "password": password, "password_verify": password})
    api.jwt = data["jwt"]
    api.name = name
    site = await api.ok_get("/site")
    api.person_id = site["my_user"]["local_user_view"]["person"]["id"]
    return api


@pytest.fixture
async def user(http: httpx.AsyncClient, admin: Api) -> Api:
    return await register(http)


@pytest.fixture
async def other(http: httpx.AsyncClient, admin: Api) -> Api:
    return await register(http)


async def make_community(api: Api, name: str | None = None, **extra: Any) -> dict[str, Any]:
    data = await api.ok_post("/community", {"name": name or unique("c"), "title": "A community", **extra})
    community: dict[str, Any] = data["community_view"]["community"]
    return community


async def make_post(api: Api, community_id: int, **extra: Any) -> dict[str, Any]:
    body = {"name": "A post title", "community_id": community_id, **extra}
    data = await api.ok_post("/post", body)
    post: dict[str, Any] = data["post_view"]["post"]
    return post


async def make_comment(api: Api, post_id: int, content: str = "a comment", parent_id: int | None = None) -> Any:
    body: dict[str, Any] = {"post_id": post_id, "content": content}
    if parent_id is not None:
        body["parent_id"] = parent_id
    data = await api.ok_post("/comment", body)
    return data["comment_view"]["comment"]


# A real server process, for the real-client (pythorhead) and end-to-end tests.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path


def start_server(
    db: DatabaseUnderTest,
    port: int,
    env_extra: dict[str, str] | None = None,
    host: str = "127.0.0.1",
    args: Sequence[str] = (),
) -> ServerProcess:
    log = db.data_dir / f"server-{host}-{port}.log"
    env = {
        **os.environ,
        "MOOT_DATA_DIR": str(db.data_dir),
        "MOOT_DATABASE_URL": db.url,
        "MOOT_HOSTNAME": f"{host}:{port}",
        "MOOT_ANON_CACHE_SECONDS": "0",
        "MOOT_TLS_ENABLED": "false",
        "MOOT_SETUP_ADMIN_USERNAME": ADMIN_NAME,
        "MOOT_SETUP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **(env_extra or {}),
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "moot.cli",
                "serve",
                "--host",
                host,
                "--port",
                str(port),
                "--log-level",
                "warning",
                *args,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://{host}:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            if httpx.get(f"{base}/api/v3/site", timeout=2).status_code == 200:
                return ServerProcess(base_url=base, process=process, log=log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()}")


def stop_server(server: ServerProcess) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = make_database(tmp_path_factory.mktemp("live"))
    server = start_server(db, free_port())
    yield server
    stop_server(server)
    drop_database(db)
