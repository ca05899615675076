"""A federation cluster as Moot runs in production: HTTPS on port 443, bare host names, the debug switch off.

A certificate authority made here (with `cryptography`) signs one certificate per host. Each Moot server is its
own `moot serve` process serving HTTPS itself (MOOT_TLS_CERT_FILE / MOOT_TLS_KEY_FILE) on port 443 of its own
loopback address, with MOOT_HOSTNAME a bare name (`alpha.test`), MOOT_TLS_ENABLED=true and
MOOT_FEDERATION_DEBUG=false. The servers trust the CA through MOOT_FEDERATION_CA_FILE, find each other through
MOOT_FEDERATION_HOSTS (never DNS, never /etc/hosts), and the SSRF guard lets exactly the cluster's block of
addresses through MOOT_FEDERATION_ALLOW_ADDRESSES, every other rule staying on. Test clients connect the same way:
`NameMappedTransport` sends `https://alpha.test/...` to alpha's address, with SNI and Host the name and the
certificate verified against the CA.

Each cluster takes a random block 127.X.Y.0/24, so two test sessions on one machine do not collide on port 443.
Binding port 443 needs root: `skip_unless_port_443_bindable()` skips with a message otherwise."""

from __future__ import annotations

import datetime
import json
import os
import random
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import ADMIN_NAME, ADMIN_PASSWORD, DatabaseUnderTest, drop_database, make_database, unique
from moot.domain.keys import KeyPair, generate_keypair
from moot.federation.signatures import sign_request

PASSWORD = "tls-cluster-pass-1"
AP = "application/activity+json"


# ------------------------------------------------------------------ certificates


@dataclass
class CertificateAuthority:
    """A throwaway CA: its certificate in `pem` (what a server's MOOT_FEDERATION_CA_FILE names), and `issue`."""

    label: str
    directory: Path
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, directory: Path, label: str) -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Moot test CA ({label})")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        ca = cls(label, directory, key, cert)
        ca.pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return ca

    @property
    def pem(self) -> Path:
        return self.directory / f"ca-{self.label}.pem"

    def issue(self, host: str) -> tuple[Path, Path]:
        """A server certificate for `host` (its only name): the (certificate, key) PEM files."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_file = self.directory / f"{host}-{self.label}.crt"
        key_file = self.directory / f"{host}-{self.label}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_file.chmod(0o600)
        return cert_file, key_file


# ------------------------------------------------------------------ addresses and names


def _bindable(ip: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip, port))
        except OSError:
            return False
        return True


def skip_unless_port_443_bindable() -> None:
    first_unprivileged = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")
    lowered = first_unprivileged.exists() and int(first_unprivileged.read_text()) <= 443
    if os.geteuid() != 0 and not lowered:
        pytest.skip("the TLS cluster serves on port 443 of loopback addresses: run the tests as root")


def loopback_block(count: int, port: int = 443) -> tuple[str, list[str]]:
    """A random 127.X.Y.0/24 block and `count` of its addresses on which `port` is free."""
    rng = random.SystemRandom()
    for _ in range(20):
        prefix = f"127.{rng.randint(100, 250)}.{rng.randint(1, 254)}"
        addresses = [f"{prefix}.{i}" for i in range(1, count + 1)]
        if all(_bindable(ip, port) for ip in addresses):
            return f"{prefix}.0/24", addresses
    raise RuntimeError(f"no loopback block with port {port} free")


class _NameMap:
    """Routes a request for a cluster name to its address, keeping the name for SNI (and so for the certificate
    check) and in the Host header, which httpx set from the URL before the request got here."""

    def __init__(self, addresses: Mapping[str, str]) -> None:
        self.addresses = dict(addresses)

    def route(self, request: httpx.Request) -> None:
        name = request.url.host
        ip = self.addresses.get(name)
        if ip is not None:
            request.extensions["sni_hostname"] = name
            request.url = request.url.copy_with(host=ip)


class NameMappedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that resolves the cluster's names itself (optionally from a chosen source address)."""

    def __init__(self, addresses: Mapping[str, str], verify: ssl.SSLContext, local_address: str | None = None) -> None:
        self._map = _NameMap(addresses)
        self._inner = httpx.AsyncHTTPTransport(verify=verify, local_address=local_address)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._map.route(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class _SyncNameMappedTransport(httpx.BaseTransport):
    def __init__(self, addresses: Mapping[str, str], verify: ssl.SSLContext) -> None:
        self._map = _NameMap(addresses)
        self._inner = httpx.HTTPTransport(verify=verify)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._map.route(request)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


# ------------------------------------------------------------------ Moot servers


@dataclass
class TlsNode:
    """One `moot serve` process. `listen_port` is where the process itself listens; `port` the public one."""

    name: str
    cluster: TlsCluster
    ip: str
    db: DatabaseUnderTest
    port: int = 443
    listen_port: int = 443
    serve_tls: bool = True  # False: plain http behind a proxy the test runs (which terminates TLS)
    env: dict[str, str] = field(default_factory=dict)
    certificate: tuple[Path, Path] | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"{self.name}.test"

    @property
    def domain(self) -> str:
        """The host as it is in ids and in `name@host`: bare on port 443."""
        return self.host if self.port == 443 else f"{self.host}:{self.port}"

    @property
    def base(self) -> str:
        return f"https://{self.domain}"

    @property
    def log(self) -> Path:
        return self.db.data_dir / f"server-{self.name}.log"

    def server_env(self) -> dict[str, str]:
        cluster = self.cluster
        env = {
            **os.environ,
            "MOOT_DATA_DIR": str(self.db.data_dir),
            "MOOT_DATABASE_URL": self.db.url,
            "MOOT_HOSTNAME": self.domain,
            "MOOT_TLS_ENABLED": "true",
            "MOOT_FEDERATION_DEBUG": "false",
            "MOOT_FEDERATION_CA_FILE": str(cluster.ca.pem),
            "MOOT_FEDERATION_HOSTS": cluster.hosts_setting,
            "MOOT_FEDERATION_ALLOW_ADDRESSES": cluster.network,
            "MOOT_RUN_JOBS": "false",
            "MOOT_ANON_CACHE_SECONDS": "0",
            "MOOT_SETUP_ADMIN_USERNAME": ADMIN_NAME,
            "MOOT_SETUP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        }
        if self.serve_tls:
            if self.certificate is None:
                self.certificate = cluster.ca.issue(self.host)
            cert, key = self.certificate
            env |= {"MOOT_TLS_CERT_FILE": str(cert), "MOOT_TLS_KEY_FILE": str(key)}
        return env | self.env

    def launch(self, certificate: tuple[Path, Path] | None = None) -> None:
        """Start the process (with another certificate, if given); `wait_ready` waits for it."""
        assert self.process is None or self.process.poll() is not None, f"{self.name} is running"
        if certificate is not None:
            self.certificate = certificate
        command = [sys.executable, "-m", "moot.cli", "serve", "--host", self.ip, "--port", str(self.listen_port)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, "--log-level", "warning"], env=self.server_env(), stdout=out, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 60.0, trust: Sequence[CertificateAuthority] = ()) -> None:
        """Poll until the API answers (over TLS, trusting the cluster's CA and `trust`), at most `timeout` s."""
        if self.serve_tls:
            url = f"https://{self.host}:{self.listen_port}/api/v3/site"
            transport = self.cluster.sync_transport(*trust)
        else:
            url, transport = f"http://{self.ip}:{self.listen_port}/api/v3/site", httpx.HTTPTransport()
        deadline = time.monotonic() + timeout
        with httpx.Client(transport=transport, timeout=2) as http:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.log.read_text()}")
                try:
                    if http.get(url).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start: {self.log.read_text()}")

    def start(self, certificate: tuple[Path, Path] | None = None) -> None:
        self.launch(certificate)
        self.wait_ready()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # A second SIGTERM makes uvicorn stop waiting for open connections (under TLS, an idle client that never
        # answers close_notify holds it for 30 s); the app's own shutdown still runs.
        self.process.terminate()
        try:
            self.process.wait(timeout=3)
            return
        except subprocess.TimeoutExpired:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class TlsCluster:
    """The names, addresses, CA and servers of one cluster. `names` lists every host the cluster will have
    (servers and the test's own actor servers), so that every server's MOOT_FEDERATION_HOSTS knows them all."""

    def __init__(self, root: Path, names: Sequence[str]) -> None:
        self.root = root
        self.network, addresses = loopback_block(len(names))
        self.addresses = {f"{name}.test": ip for name, ip in zip(names, addresses, strict=True)}
        self.ca = CertificateAuthority.create(root / "pki", "trusted")
        self.nodes: dict[str, TlsNode] = {}
        self._databases: list[DatabaseUnderTest] = []

    @property
    def hosts_setting(self) -> str:
        return ",".join(f"{host}={ip}" for host, ip in self.addresses.items())

    def ip(self, name: str) -> str:
        return self.addresses[f"{name}.test"]

    def node(self, name: str, **options: Any) -> TlsNode:
        """A server (not started yet) with its own fresh database."""
        (self.root / name).mkdir()
        db = make_database(self.root / name)
        self._databases.append(db)
        node = TlsNode(name=name, cluster=self, ip=self.ip(name), db=db, **options)
        self.nodes[name] = node
        return node

    def start(self, *nodes: TlsNode) -> None:
        """Start several servers at once (their start-ups overlap), then wait for each."""
        for node in nodes:
            node.launch()
        for node in nodes:
            node.wait_ready()

    def client_context(self, *extra: CertificateAuthority) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca.pem))
        for ca in extra:
            context.load_verify_locations(cafile=str(ca.pem))
        return context

    def transport(
        self, local_address: str | None = None, trust: Sequence[CertificateAuthority] = ()
    ) -> NameMappedTransport:
        """A test client's transport: the cluster's names, its CA (and `trust`), from `local_address` if given."""
        return NameMappedTransport(self.addresses, self.client_context(*trust), local_address)

    def sync_transport(self, *trust: CertificateAuthority) -> httpx.BaseTransport:
        return _SyncNameMappedTransport(self.addresses, self.client_context(*trust))

    def http(self, base: str, headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.AsyncClient:
        # No idle keep-alive connections: a server stopping under TLS would wait for each one's close_notify.
        headers = {"Connection": "close", **(headers or {})}
        return httpx.AsyncClient(transport=self.transport(), base_url=base, timeout=30, headers=headers, **kwargs)

    def close(self) -> None:
        for node in self.nodes.values():
            node.stop()
        for db in self._databases:
            drop_database(db)


# ------------------------------------------------------------------ API clients


class Client:
    """A logged-in person on one node, speaking the v3 API over the cluster's TLS."""

    def __init__(self, node: TlsNode, jwt: str, name: str) -> None:
        self.node = node
        self.name = name
        self.http = node.cluster.http(f"{node.base}/api/v3", headers={"Authorization": f"Bearer {jwt}"})

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, **kwargs)

    async def get(self, path: str, **params: Any) -> Any:
        clean = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items() if v is not None}
        r = await self.http.get(path, params=clean)
        assert r.status_code == 200, (self.node.name, path, r.status_code, r.text)
        return r.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        r = await self.http.post(path, json=body)
        assert r.status_code == 200, (self.node.name, path, r.status_code, r.text)
        return r.json()

    async def put(self, path: str, body: dict[str, Any]) -> Any:
        r = await self.http.put(path, json=body)
        assert r.status_code == 200, (self.node.name, path, r.status_code, r.text)
        return r.json()


async def login(node: TlsNode, name: str, password: str) -> Client:
    async with node.cluster.http(f"{node.base}/api/v3") as http:
        r = await http.post("/user/login", json={"username_or_email": name, "password": password})
        assert r.status_code == 200, r.text
        return Client(node, r.json()["jwt"], name)


async def person(node: TlsNode) -> Client:
    """A new person on `node` (its admin raises the rate limits first, so a test can act quickly)."""
    admin = await login(node, ADMIN_NAME, ADMIN_PASSWORD)
    await admin.put(
        "/site",
        {f"rate_limit_{bucket}": 10_000 for bucket in ("register", "post", "comment", "search", "message")},
    )
    name = unique(node.name[:3])
    async with node.cluster.http(f"{node.base}/api/v3") as http:
        body = {"username": name, "password": PASSWORD, "password_verify": PASSWORD}
        r = await http.post("/user/register", json=body)
        assert r.status_code == 200, r.text
        return Client(node, r.json()["jwt"], name)


# ------------------------------------------------------------------ the test's own ActivityPub actors


@dataclass
class ActorHost:
    """An HTTPS server under the test's control on port 443 of a cluster address: it serves JSON documents
    (actors with the test's public keys) and records every request. It stands in for another implementation."""

    cluster: TlsCluster
    name: str
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"https://{self.name}.test"

    def start(self) -> None:
        cert, key = self.cluster.ca.issue(f"{self.name}.test")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        httpd = ThreadingHTTPServer((self.cluster.ip(self.name), 443), _handler(self))
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self._httpd = httpd

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def serve(self, path: str, doc: dict[str, Any]) -> str:
        self.docs[path] = doc
        return f"{self.base}{path}"

    def person(self, name: str) -> SigningActor:
        """A Person served here, with a key pair the test signs with."""
        ap_id = f"{self.base}/u/{name}"
        actor = SigningActor(ap_id, generate_keypair())
        self.serve(
            f"/u/{name}",
            {
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "id": ap_id,
                "type": "Person",
                "preferredUsername": name,
                "inbox": f"{ap_id}/inbox",
                "outbox": f"{ap_id}/outbox",
                "endpoints": {"sharedInbox": f"{self.base}/inbox"},
                "publicKey": {"id": actor.key_id, "owner": ap_id, "publicKeyPem": actor.keys.public_pem},
            },
        )
        return actor


@dataclass
class SigningActor:
    ap_id: str
    keys: KeyPair

    @property
    def key_id(self) -> str:
        return f"{self.ap_id}#main-key"

    def signed(
        self, url: str, activity: dict[str, Any], host_signed: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Body and headers of a POST of `activity` to `url`, signed with the `Host` of `host_signed` if given
        (a server may sign the bare host for a host with a port), else of `url`."""
        body = json.dumps(activity).encode()
        headers = {"Content-Type": AP}
        signed_url = url if host_signed is None else f"https://{host_signed}{httpx.URL(url).raw_path.decode()}"
        headers.update(sign_request("POST", signed_url, headers, body, self.key_id, self.keys.private_pem))
        return body, headers


def _handler(host: ActorHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host.requests.append(("GET", self.path))
            doc = host.docs.get(self.path.split("?")[0])
            body = json.dumps(doc if doc is not None else {"error": "not_found"}).encode()
            self.send_response(200 if doc is not None else 404)
            self.send_header("Content-Type", AP)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            host.requests.append(("POST", self.path))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def cluster_fixture(root: Path, names: Sequence[str]) -> Iterator[TlsCluster]:
    """For a module's fixture: a cluster closed (servers stopped, databases dropped) however the module ends."""
    skip_unless_port_443_bindable()
    cluster = TlsCluster(root, names)
    try:
        yield cluster
    finally:
        cluster.close()
