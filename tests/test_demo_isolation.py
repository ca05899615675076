"""`moot demo` never talks to the world: its remote hosts (beehaw.org is a real server) get nothing, ever.

First from the database the delivery reads (the outgoing log, the instances delivery would serve), then with a
real `moot serve` whose federation requests for those names go to a fake peer of the test's: a post to another
remote host reaches the peer, and nothing of the demo does."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    DatabaseUnderTest,
    drop_database,
    free_port,
    make_database,
    settings_for,
    start_server,
    stop_server,
)
from moot.actions.remote import upsert_remote_community
from moot.db.engine import Database
from moot.db.federation import FederationQueueState, SentActivity
from moot.db.instance import Instance
from moot.domain.timefmt import utcnow
from moot.federation.delivery import deliverable_instances
from moot.queries.defaults import forget, instance_lists
from moot.settings import Settings
from tls_cluster import CertificateAuthority, loopback_block, skip_unless_port_443_bindable

DEMO_HOSTS = {"beehaw.org", "beta.example", "gamma.example"}


def _moot_demo(db: DatabaseUnderTest, hostname: str) -> str:
    """`moot demo` as a person runs it (then `moot serve` with the same settings)."""
    env = {
        **os.environ,
        "MOOT_DATA_DIR": str(db.data_dir),
        "MOOT_DATABASE_URL": db.url,
        "MOOT_HOSTNAME": hostname,
        "MOOT_SETUP_ADMIN_USERNAME": ADMIN_NAME,
        "MOOT_SETUP_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    env.pop("MOOT_TLS_ENABLED", None)
    done = subprocess.run(
        [sys.executable, "-m", "moot.cli", "demo"], env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout


async def _delivery_view(settings: Settings) -> tuple[set[str], list[SentActivity], set[str], set[str]]:
    """What delivery would work from: the instances it would serve, the outgoing log, the hosts the allow and
    block lists refuse, and the instances that ever had a delivery cursor."""
    forget()
    db = Database(settings)
    try:
        async with db.read() as session:
            deliverable = {i.domain for i in await deliverable_instances(session, 0, 1, utcnow())}
            log = list((await session.scalars(select(SentActivity).order_by(SentActivity.id))).all())
            lists = await instance_lists(session)
            refused = {host for host in DEMO_HOSTS if not lists.permits(host)}
            cursors = await session.scalars(
                select(Instance.domain).join(FederationQueueState, FederationQueueState.instance_id == Instance.id)
            )
            return deliverable, log, refused, set(cursors.all())
    finally:
        await db.dispose()


def test_after_moot_demo_nothing_is_queued_for_its_hosts_and_delivery_skips_them(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    db = make_database(tmp_path_factory.mktemp("demo-iso"))
    try:
        out = _moot_demo(db, "localhost:8536")
        assert "blocked" in out and all(host in out for host in DEMO_HOSTS), out
        deliverable, log, refused, _ = asyncio.run(_delivery_view(settings_for(db, "localhost:8536")))
        assert not deliverable & DEMO_HOSTS, deliverable
        assert refused == DEMO_HOSTS
        assert log == [], [(row.id, row.actor_ap_id, row.send_inboxes) for row in log]
        # Loading it again changes nothing.
        _moot_demo(db, "localhost:8536")
        assert asyncio.run(_delivery_view(settings_for(db, "localhost:8536")))[1] == []
    finally:
        drop_database(db)


# ------------------------------------------------------------------ a real server and a fake peer


class FakePeer:
    """An HTTPS server for several names on one loopback address (a certificate per name, chosen by SNI) that
    accepts every POST and records (Host, path)."""

    def __init__(self, ca: CertificateAuthority, ip: str, names: list[str]) -> None:
        self.received: list[tuple[str, str]] = []
        contexts = {}
        for name in names:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*ca.issue(name))
            contexts[name] = context
        default = contexts[names[0]]

        def pick(sock: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
            sock.context = contexts.get(name or "", default)

        default.sni_callback = pick  # type: ignore[assignment]
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                peer.received.append((self.headers.get("Host", ""), self.path))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                peer.received.append((self.headers.get("Host", ""), self.path))
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer((ip, 443), Handler)
        self.httpd.socket = default.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def peer_setup(tmp_path: Path) -> Iterator[tuple[FakePeer, str, CertificateAuthority]]:
    skip_unless_port_443_bindable()
    _, [ip] = loopback_block(1)
    ca = CertificateAuthority.create(tmp_path / "ca", "demo-iso")
    peer = FakePeer(ca, ip, [*sorted(DEMO_HOSTS), "control.test"])
    yield peer, ip, ca
    peer.close()


async def _control_community(settings: Settings) -> int:
    """A remote community on a host that is not the demo's: posting there is the control."""
    db = Database(settings)
    try:
        async with db.write() as session:
            community = await upsert_remote_community(
                session, ap_id="https://control.test/c/control", name="control", domain="control.test"
            )
            return community.id
    finally:
        await db.dispose()


def test_a_real_server_delivers_nothing_of_the_demo(
    tmp_path_factory: pytest.TempPathFactory, peer_setup: tuple[FakePeer, str, CertificateAuthority]
) -> None:
    peer, ip, ca = peer_setup
    db = make_database(tmp_path_factory.mktemp("demo-serve"))
    port = free_port()
    hostname = f"127.0.0.1:{port}"
    server = None
    try:
        _moot_demo(db, hostname)
        names = [*sorted(DEMO_HOSTS), "control.test"]
        env = {
            "MOOT_FEDERATION_HOSTS": ",".join(f"{name}={ip}" for name in names),
            "MOOT_FEDERATION_ALLOW_ADDRESSES": ip,
            "MOOT_FEDERATION_CA_FILE": str(ca.pem),
            "MOOT_FEDERATION_DEBUG": "true",  # eager delivery; the names still go to the peer over https
            "MOOT_RUN_JOBS": "false",
        }
        server = start_server(db, port, env_extra=env)
        settings = settings_for(db, hostname)
        community_id = asyncio.run(_control_community(settings))
        login = httpx.post(
            f"{server.base_url}/api/v3/user/login",
            json={"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD},
            timeout=10,
        )
        jwt = login.json()["jwt"]
        created = httpx.post(
            f"{server.base_url}/api/v3/post",
            json={"name": "The control post", "community_id": community_id},
            headers={"Authorization": f"Bearer {jwt}"},
            timeout=10,
        )
        assert created.status_code == 200, created.text
        # The control goes out: the server delivers, to this peer, for names that are not the demo's.
        deadline = time.monotonic() + 30
        while ("control.test", "/c/control/inbox") not in peer.received:
            assert time.monotonic() < deadline, f"the control post never arrived; the peer got {peer.received}"
            time.sleep(0.1)
        # By then every delivery task the server runs has started and kept a cursor: none for the demo's hosts.
        _, log, _, cursors = asyncio.run(_delivery_view(settings))
        assert "control.test" in cursors
        assert not cursors & DEMO_HOSTS, cursors
        assert not [host for host, _ in peer.received if host in DEMO_HOSTS], peer.received
        # The outgoing log holds the control post alone.
        assert [json.loads(row.send_inboxes) for row in log] == [["https://control.test/c/control/inbox"]]
        # And the server said at start which mode it runs in.
        assert f"local mode: ids and links are http://{hostname}" in server.log.read_text(errors="replace")
    finally:
        if server is not None:
            stop_server(server)
        drop_database(db)
