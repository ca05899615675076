"""The `moot` command: serve, db upgrade, admin create, demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence

from moot.settings import Settings, is_local_hostname, load_settings

log = logging.getLogger("moot")


def describe_mode(settings: Settings) -> str:
    """The line `moot serve` starts with: local or production, and what follows from it."""
    if settings.tls_enabled:
        return (
            f"production mode: ids and links are {settings.base_url}; login cookies are Secure on requests for "
            f"{settings.hostname} and on any https request"
        )
    if is_local_hostname(settings.hostname):
        return (
            f"local mode: ids and links are {settings.base_url} (MOOT_HOSTNAME {settings.hostname} is a local name, "
            "so TLS is off unless MOOT_TLS_ENABLED=true); login cookies are Secure only on https requests. "
            "For production, set MOOT_HOSTNAME to the public name"
        )
    return (
        f"development mode: ids and links are {settings.base_url} (MOOT_TLS_ENABLED=false); servers on the "
        "fediverse federate only over https"
    )


class _CountMigrations(logging.Handler):
    """Counts the revisions Alembic applies (it logs each one at INFO), so `moot serve` says it in one line."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.applied: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # "Running upgrade 0006 -> 0007, images": the revision after the arrow.
        message = record.getMessage()
        if message.startswith("Running upgrade") and " -> " in message:
            self.applied.append(message.split(" -> ", 1)[1].split(",", 1)[0].strip())


@contextlib.contextmanager
def _count_migrations() -> Iterator[_CountMigrations]:
    """The revisions applied meanwhile, counted rather than logged."""
    migration_log = logging.getLogger("alembic.runtime.migration")
    counter = _CountMigrations()
    migration_log.setLevel(logging.INFO)
    migration_log.propagate = False
    migration_log.addHandler(counter)
    try:
        yield counter
    finally:
        migration_log.removeHandler(counter)
        migration_log.setLevel(logging.NOTSET)
        migration_log.propagate = True


def describe_schema(settings: Settings, applied: Sequence[str]) -> str:
    backend = "SQLite" if settings.is_sqlite else "PostgreSQL"
    if not applied:
        return f"database: {backend}, schema up to date"
    return f"database: {backend}, schema upgraded to {applied[-1]} ({len(applied)} migrations applied)"


def describe_admins(admins: Sequence[str], site_setup: bool, address: str) -> str:
    """Whether the site has an admin yet, and how to make one."""
    if admins:
        return f"admin: {', '.join(admins[:5])}{' and others' if len(admins) > 5 else ''}"
    if not site_setup:
        return (
            f"no admin yet: the first account to sign up ({address}signup) becomes the admin, "
            "or run `moot admin create NAME`"
        )
    return "no admin: run `moot admin create NAME` to make one"


def browser_address(settings: Settings, host: str, port: int) -> str:
    """The address to open on this machine: the listening address (a wildcard one read as localhost)."""
    scheme = "https" if settings.tls_cert_file else "http"
    wildcard = host in ("0.0.0.0", "::", "")  # noqa: S104 - reading the address, not binding it
    shown = "localhost" if wildcard else (f"[{host}]" if ":" in host else host)
    return f"{scheme}://{shown}:{port}/"


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from moot.db.migrate import upgrade
    from moot.http_guard import PROTOCOL, allow_open_files
    from moot.processes import PortTaken, Processes

    if bool(settings.tls_cert_file) != bool(settings.tls_key_file):
        print("moot: MOOT_TLS_CERT_FILE and MOOT_TLS_KEY_FILE go together: set both or neither.", file=sys.stderr)
        return 2
    limits = (
        settings.http_header_timeout_seconds,
        settings.http_body_timeout_seconds,
        settings.http_max_header_bytes,
        settings.http_max_connections,
    )
    if min(limits) <= 0:
        print("moot: the MOOT_HTTP_* limits must be greater than 0.", file=sys.stderr)
        return 2
    log.info("%s", describe_mode(settings))
    allow_open_files(settings.http_max_connections)
    with _count_migrations() as counter:
        upgrade(settings)
    log.info("%s", describe_schema(settings, counter.applied))
    # Set the site up once, before any worker starts (several workers on a fresh database would race).
    admins, site_setup = asyncio.run(_ensure_site(settings))
    address = browser_address(settings, args.host, args.port)
    log.info("%s", describe_admins(admins, site_setup, address))
    log.info("open %s in a browser (Ctrl+C stops the server)", address)
    if args.workers > 1 and settings.is_sqlite:
        print("moot: several workers need PostgreSQL (MOOT_DATABASE_URL); SQLite runs one.", file=sys.stderr)
        return 2
    background = None
    if args.workers > 1:
        # The app workers serve requests only; one extra process runs the jobs and delivery, once.
        if settings.run_jobs or settings.run_delivery:
            command = [sys.executable, "-m", "moot.cli", "worker", "--shard", "0/1"]
            command += ["--jobs"] if settings.run_jobs else []
            command += [] if settings.run_delivery else ["--no-delivery"]
            background = subprocess.Popen(command)  # noqa: S603 - our own module, no user input
        os.environ["MOOT_RUN_JOBS"] = "false"
        os.environ["MOOT_RUN_DELIVERY"] = "false"
    config = uvicorn.Config(
        "moot.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        proxy_headers=settings.trusted_proxy_headers,
        # Serving HTTPS itself (no proxy in front): the certificate chain and key as PEM files.
        ssl_certfile=settings.tls_cert_file or None,
        ssl_keyfile=settings.tls_key_file or None,
        # Slow or oversized requests: deadlines for each request's head and body, a cap on the head
        # (moot/http_guard.py), and past this many connections in a process a 503 (uvicorn's own count).
        http=PROTOCOL,
        limit_concurrency=settings.http_max_connections,
        # Moot serves no WebSocket: an upgrade request is an ordinary request.
        ws="none",
    )
    try:
        if args.workers > 1:
            # A listening socket per process, so that connections spread over them (moot/processes.py).
            Processes(config, args.workers).run()
        else:
            server = uvicorn.Server(config)
            server.run()
            if not server.started:
                return 3  # the app did not start (uvicorn logged why): uvicorn's own exit code for it
    except PortTaken as exc:
        print(f"moot: {exc}: is another server running on this port?", file=sys.stderr)
        return 2
    finally:
        if background is not None:
            background.terminate()
            background.wait(timeout=10)
    return 0


async def _ensure_site(settings: Settings) -> tuple[list[str], bool]:
    """The site set up (first start); its admins' names, and whether the first sign-up is still to come."""
    from moot.actions.site import ensure_site
    from moot.db.engine import Database
    from moot.queries.persons import admins
    from moot.queries.site import load_local_site

    db = Database(settings)
    try:
        async with db.write() as session:
            await ensure_site(session, settings)
        async with db.read() as session:
            names = [view.person.name for view in await admins(session) if view.person.local]
            loaded = await load_local_site(session)
    finally:
        await db.dispose()
    return names, bool(loaded and loaded.local_site.site_setup)


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from moot.db.migrate import upgrade

    upgrade(settings)
    print(f"moot: schema is up to date ({settings.effective_database_url.split('://')[0]})")
    return 0


async def _create_admin(settings: Settings, username: str, password: str, email: str | None) -> None:
    from moot.actions.accounts import create_local_user
    from moot.actions.site import ensure_site
    from moot.db.engine import Database

    db = Database(settings)
    try:
        async with db.write() as session:
            await ensure_site(session, settings)
            await create_local_user(session, settings, username=username, password=password, email=email, admin=True)
    finally:
        await db.dispose()


def _admin_create(settings: Settings, args: argparse.Namespace) -> int:
    from moot.db.migrate import upgrade
    from moot.domain.errors import LemmyError

    upgrade(settings)
    password = args.password or getpass.getpass("password (10-60 characters): ")
    try:
        asyncio.run(_create_admin(settings, args.username, password, args.email))
    except LemmyError as exc:
        print(f"moot: {exc.error}", file=sys.stderr)
        return 1
    print(f"moot: admin {args.username} created")
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from moot.db.migrate import upgrade
    from moot.demo.load import load_demo

    upgrade(settings)
    summary = asyncio.run(load_demo(settings, args.file))
    print(f"moot: demo loaded: {summary}")
    return 0


async def _run_worker(settings: Settings, shard: int, shards: int, jobs: bool, delivery: bool) -> None:
    from moot.db.engine import Database
    from moot.federation.previews import run_previews
    from moot.federation.service import make_delivery
    from moot.jobs.scheduler import run_scheduler

    db = Database(settings)
    loops = []
    if delivery:
        loops.append(make_delivery(db, settings, shard=shard, shards=shards).run())
    if jobs:
        loops.append(run_scheduler(db, settings.rank_interval_seconds, settings))
        loops.append(run_previews(db, settings))
    try:
        await asyncio.gather(*loops)
    finally:
        await db.dispose()


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from moot.db.migrate import upgrade

    index, _, count = args.shard.partition("/")
    if not (index.isdigit() and count.isdigit() and 0 <= int(index) < int(count)):
        print("moot: --shard takes i/N with 0 <= i < N, e.g. 0/2", file=sys.stderr)
        return 2
    upgrade(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run_worker(settings, int(index), int(count), jobs=args.jobs, delivery=not args.no_delivery))
    return 0


def _ap_parse(_settings: Settings, args: argparse.Namespace) -> int:
    from moot.federation.inspect import describe

    raw = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()  # noqa: SIM115
    ok, text = describe(raw)
    print(text)
    return 0 if ok else 1


def _pg_config(settings: Settings, args: argparse.Namespace) -> int:
    from moot.db.pgconfig import GIB, Machine, render, this_machine

    found = this_machine(ssd=args.ssd)
    memory = int(args.memory * GIB) if args.memory else found.memory
    machine = Machine(memory=memory, cores=args.cores or found.cores, ssd=args.ssd)
    print(render(machine, workers=args.workers or machine.cores, pool_size=settings.db_pool_size))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moot", description="Moot, a federated link aggregator.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="upgrade the schema and run the web server (and its jobs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8536)
    serve.add_argument("--workers", type=int, default=1, help="app processes (PostgreSQL only above 1)")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(run=_serve)

    db = commands.add_parser("db", help="database chores")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_commands.add_parser("upgrade", help="bring the schema to the newest revision")
    db_upgrade.set_defaults(run=_db_upgrade)

    admin = commands.add_parser("admin", help="administration")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_commands.add_parser("create", help="create an admin account")
    create.add_argument("username")
    create.add_argument("--password", help="asked for when left out")
    create.add_argument("--email")
    create.set_defaults(run=_admin_create)

    worker = commands.add_parser("worker", help="run federation delivery for a shard of the remote instances")
    worker.add_argument("--shard", default="0/1", help="i/N: this process takes instances with id %% N == i")
    worker.add_argument("--jobs", action="store_true", help="also run the scheduled jobs (ranks, counts, cleanup)")
    worker.add_argument("--no-delivery", action="store_true", help="run only the jobs")
    worker.set_defaults(run=_worker)

    ap = commands.add_parser("ap", help="ActivityPub tools")
    ap_commands = ap.add_subparsers(dest="ap_command", required=True)
    parse = ap_commands.add_parser("parse", help="show what Moot makes of an ActivityPub JSON document")
    parse.add_argument("file", help="a JSON file, or - for standard input")
    parse.set_defaults(run=_ap_parse)

    demo = commands.add_parser("demo", help="load the example thread (idempotent)")
    demo.add_argument("--file", default=None, help="a thread in seed_thread.json's format")
    demo.set_defaults(run=_demo)

    pg_config = commands.add_parser("pg-config", help="print postgresql.conf settings sized for this machine")
    pg_config.add_argument("--memory", type=float, default=None, help="GB of memory for PostgreSQL (default: all)")
    pg_config.add_argument("--cores", type=int, default=None, help="cores (default: this machine's)")
    pg_config.add_argument("--workers", type=int, default=None, help="`moot serve --workers` (default: cores)")
    disk = pg_config.add_mutually_exclusive_group()
    disk.add_argument("--ssd", dest="ssd", action="store_true", default=True, help="solid-state storage (default)")
    disk.add_argument("--hdd", dest="ssd", action="store_false", help="spinning disks")
    pg_config.set_defaults(run=_pg_config)

    from moot.bench.cli import add_bench_commands

    add_bench_commands(commands.add_parser("bench", help="seed a large instance; measure Moot against direct SQL"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic's INFO chatter (its plugins on import, its context, each revision, again at every start) off:
    # `moot serve` says in one line what the upgrade did.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    settings = load_settings()
    result: int = args.run(settings, args)
    return result


if __name__ == "__main__":
    sys.exit(main())
