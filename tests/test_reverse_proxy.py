"""Moot behind nginx, with the example configuration of docs/deploy/nginx.conf as an operator would install it.

proxied.test is a `moot serve` speaking plain http on a private port, with MOOT_TLS_ENABLED=true,
MOOT_TRUSTED_PROXY_HEADERS=true and no certificate of its own; nginx serves it on port 443 (and redirects port 80)
with the cluster's certificate, from docs/deploy/nginx.conf with only names, addresses and paths swapped. beta.test
is a Moot server of the TLS cluster (tests/tls_cluster.py) that federates with it through nginx.

nginx comes from Debian (`make test-deps` installs it when run as root); without it these tests are skipped."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ADMIN_NAME, ADMIN_PASSWORD, unique
from test_federation import eventually
from tls_cluster import Client, TlsCluster, TlsNode, cluster_fixture, login, person

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
AP = "application/activity+json"

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed: `make test-deps` installs Debian's nginx when run as root"
)


def _free_port(ip: str) -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        port: int = s.getsockname()[1]
        return port


def site_config(node: TlsNode, certificate: tuple[Path, Path]) -> str:
    """docs/deploy/nginx.conf for this test: each swap must find its text exactly once, so the test notices when
    the example changes shape."""
    text = EXAMPLE.read_text(encoding="utf-8")
    swaps = [
        ("/etc/letsencrypt/live/moot.example.org/fullchain.pem", str(certificate[0])),
        ("/etc/letsencrypt/live/moot.example.org/privkey.pem", str(certificate[1])),
        ("server 127.0.0.1:8536;", f"server {node.ip}:{node.listen_port};"),
        ("listen 80;", f"listen {node.ip}:80;"),
        ("listen 443 ssl;", f"listen {node.ip}:443 ssl;"),
    ]
    for old, new in swaps:
        assert text.count(old) == 1, f"{old!r} is not in {EXAMPLE} exactly once"
        text = text.replace(old, new)
    assert text.count("server_name moot.example.org;") == 2
    return text.replace("moot.example.org", node.host)


def main_config(directory: Path, site: Path) -> str:
    """What /etc/nginx/nginx.conf would hold, kept inside the test's folder."""
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""user root;
worker_processes 1;
pid {directory / "nginx.pid"};
events {{ worker_connections 128; }}
http {{
    access_log {directory / "access.log"};
{temp}
    include {site};
}}
"""


@dataclass
class Proxied:
    cluster: TlsCluster
    moot: TlsNode
    beta: TlsNode
    nginx: subprocess.Popen[bytes]
    directory: Path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsCluster]:
    yield from cluster_fixture(tmp_path_factory.mktemp("proxy"), ["proxied", "beta", "visitor1", "visitor2"])


@pytest.fixture(scope="module")
def proxied(cluster: TlsCluster) -> Iterator[Proxied]:
    assert NGINX is not None
    ip = cluster.ip("proxied")
    moot = cluster.node(
        "proxied", serve_tls=False, listen_port=_free_port(ip), env={"MOOT_TRUSTED_PROXY_HEADERS": "true"}
    )
    beta = cluster.node("beta")
    cluster.start(moot, beta)
    directory = cluster.root / "nginx"
    directory.mkdir()
    site = directory / "moot.conf"
    site.write_text(site_config(moot, cluster.ca.issue(moot.host)))
    (directory / "nginx.conf").write_text(main_config(directory, site))
    command = [NGINX, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(directory / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.STDOUT, stdout=subprocess.DEVNULL)
    try:
        _wait_for_nginx(cluster, nginx, directory)
        yield Proxied(cluster, moot, beta, nginx, directory)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


def _wait_for_nginx(cluster: TlsCluster, nginx: subprocess.Popen[bytes], directory: Path) -> None:
    deadline = time.monotonic() + 30
    with httpx.Client(transport=cluster.sync_transport(), timeout=2) as http:
        while time.monotonic() < deadline:
            if nginx.poll() is not None:
                raise RuntimeError(f"nginx exited: {(directory / 'error.log').read_text()}")
            try:
                if http.get("https://proxied.test/api/v3/site").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"nginx did not answer: {(directory / 'error.log').read_text()}")


async def test_api_over_https_and_http_redirected(proxied: Proxied) -> None:
    async with proxied.cluster.http("https://proxied.test") as http:
        r = await http.get("/api/v3/site")
        assert r.status_code == 200
        assert r.json()["site_view"]["site"]["actor_id"] == "https://proxied.test/"
        plain = await http.get("http://proxied.test/api/v3/site?x=1")
        assert plain.status_code == 301
        assert plain.headers["location"] == "https://proxied.test/api/v3/site?x=1"


async def test_activitypub_ids_are_https_on_the_bare_host(proxied: Proxied) -> None:
    admin = await login(proxied.moot, ADMIN_NAME, ADMIN_PASSWORD)
    name = unique("behind")
    await admin.post("/community", {"name": name, "title": "Behind nginx"})
    async with proxied.cluster.http("https://proxied.test") as http:
        group = (await http.get(f"/c/{name}", headers={"Accept": AP})).json()
        finger = (await http.get("/.well-known/webfinger", params={"resource": f"acct:{name}@proxied.test"})).json()
    assert group["id"] == f"https://proxied.test/c/{name}"
    assert group["inbox"] == f"https://proxied.test/c/{name}/inbox"
    assert [link["href"] for link in finger["links"] if link.get("rel") == "self"] == [group["id"]]


async def test_signed_inbox_posts_pass_through(proxied: Proxied) -> None:
    """beta's signed Follow and a comment reach the inbox through nginx (Host, body and path as signed)."""
    admin = await person(proxied.moot)
    name = unique("fed")
    community = (await admin.post("/community", {"name": name, "title": "Through nginx"}))["community_view"]
    post = await admin.post("/post", {"name": "Proxied post", "community_id": community["community"]["id"]})
    bob = await person(proxied.beta)
    found = (await bob.get("/resolve_object", q=f"!{name}@proxied.test"))["community"]["community"]
    await bob.post("/community/follow", {"community_id": found["id"], "follow": True})

    async def subscribed() -> bool:
        view = await bob.get("/community", id=found["id"])
        return bool(view["community_view"]["subscribed"] == "Subscribed")

    await eventually(subscribed)
    on_beta = (await bob.get("/resolve_object", q=post["post_view"]["post"]["ap_id"]))["post"]["post"]
    comment = await bob.post("/comment", {"post_id": on_beta["id"], "content": "Through the proxy"})
    ap_id = comment["comment_view"]["comment"]["ap_id"]

    async def arrived() -> list[Any]:
        listed = await admin.get("/comment/list", post_id=post["post_view"]["post"]["id"], max_depth=8)
        return [c for c in listed["comments"] if c["comment"]["ap_id"] == ap_id]

    await eventually(arrived)
    counts = (await admin.get("/community", id=community["community"]["id"]))["community_view"]["counts"]
    assert counts["subscribers"] == 2


async def _search(cluster: TlsCluster, source: str, forwarded: str | None = None) -> str:
    """One anonymous search from the address `source`: "ok", or "limited" when its bucket is empty."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    async with httpx.AsyncClient(transport=cluster.transport(source), base_url="https://proxied.test") as http:
        r = await http.get("/api/v3/search", params={"q": "anything"}, headers=headers)
    if r.status_code == 200:
        return "ok"
    assert (r.status_code, r.json()["error"]) == (400, "rate_limit_error"), r.text
    return "limited"


async def test_forwarded_for_reaches_rate_limiting(proxied: Proxied) -> None:
    """Each visitor has its own bucket behind nginx, and a forged X-Forwarded-For does not buy a new one."""
    cluster = proxied.cluster
    admin: Client = await login(proxied.moot, ADMIN_NAME, ADMIN_PASSWORD)
    await admin.put("/site", {"rate_limit_search": 2, "rate_limit_search_per_second": 3600})
    try:
        first, second = cluster.ip("visitor1"), cluster.ip("visitor2")
        assert [await _search(cluster, first) for _ in range(3)] == ["ok", "ok", "limited"]
        assert await _search(cluster, first, forwarded="198.51.100.7") == "limited"
        assert await _search(cluster, second) == "ok"
    finally:
        await admin.put("/site", {"rate_limit_search": 10_000, "rate_limit_search_per_second": 600})
