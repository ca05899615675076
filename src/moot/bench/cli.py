"""The `moot bench seed` and `moot bench run` subcommands (parsers here; cli.py only hooks them in)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

from moot.settings import Settings


def _with_url(settings: Settings, url: str | None) -> Settings:
    return dataclasses.replace(settings, database_url=url) if url else settings


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    from moot.bench.seed import SeedError, SeedOptions, run_seed
    from moot.bench.shape import DEFAULT_SIZES

    scaled = DEFAULT_SIZES.scaled(args.scale)
    sizes = dataclasses.replace(
        scaled,
        **{
            k: getattr(args, k)
            for k in ("communities", "people", "posts", "comments", "link_group")
            if getattr(args, k) is not None
        },
    )
    if args.users < 3:
        print("moot: --users must be at least 3 (two readers and a writer)", file=sys.stderr)
        return 2
    settings = _with_url(settings, args.database_url)
    options = SeedOptions(sizes=sizes, bench_users=args.users, seed=args.seed, recreate=args.recreate, jobs=args.jobs)
    print(
        f"bench: seeding {dataclasses.asdict(sizes)} into {_redact(settings.effective_database_url)}", file=sys.stderr
    )
    try:
        report = run_seed(settings, options)
    except SeedError as exc:
        print(f"moot: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"sizes": dataclasses.asdict(sizes), **report}, indent=2))
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from moot.bench.run import RunOptions, run_bench

    concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    settings = _with_url(settings, args.database_url)
    options = RunOptions(
        duration=args.duration,
        concurrency=concurrency,
        out=args.out,
        workers=args.workers,
        repeat=args.repeat,
        warmup=args.warmup,
        scenarios=[s for s in (args.scenarios or "").split(",") if s],
        label=args.label,
        anon_cache_seconds=args.anon_cache,
    )
    return run_bench(settings, options)


def _federation(settings: Settings, args: argparse.Namespace) -> int:
    from moot.bench.federation import FederationOptions, run_federation_bench

    settings = _with_url(settings, args.database_url)
    options = FederationOptions(
        instances=args.instances,
        senders=args.senders,
        duration=args.duration,
        concurrency=[int(c) for c in args.concurrency.split(",") if c.strip()],
        repeat=args.repeat,
        workers=args.workers,
        recreate=args.recreate,
        out=args.out,
        label=args.label,
        peer_software=args.peer_software,
    )
    return run_federation_bench(settings, options)


def _instructions(settings: Settings, args: argparse.Namespace) -> int:
    from moot.bench.instructions import InstructionsOptions, run_instructions

    options = InstructionsOptions(
        path=args.path,
        method="POST" if args.inbound_reply_to is not None else args.method.upper(),
        body=args.body,
        flip=args.flip,
        login=args.login,
        requests=args.requests,
        inbound_reply_to=args.inbound_reply_to,
    )
    return run_instructions(_with_url(settings, args.database_url), options)


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "…@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def add_bench_commands(bench: argparse.ArgumentParser) -> None:
    commands = bench.add_subparsers(dest="bench_command", required=True)
    seed = commands.add_parser("seed", help="fill an empty database with a large, realistic instance")
    seed.add_argument("--database-url", help="defaults to MOOT_DATABASE_URL (or the SQLite file of the data folder)")
    seed.add_argument("--scale", type=float, default=1.0, help="multiply the default sizes (e.g. 0.01)")
    seed.add_argument("--communities", type=int, help="default 10,000 x scale")
    seed.add_argument("--people", type=int, help="default 100,000 x scale")
    seed.add_argument("--posts", type=int, help="default 1,000,000 x scale")
    seed.add_argument("--comments", type=int, help="default 10,000,000 x scale")
    seed.add_argument(
        "--link-group",
        type=int,
        help="comments of the link posted in 10 communities, and of the same-size thread (default comments / 2,000)",
    )
    seed.add_argument("--users", type=int, default=16, help="bench accounts to log in with (bench_0 ...)")
    seed.add_argument("--seed", type=int, default=1, help="random seed: the same options give the same instance")
    seed.add_argument("--recreate", action="store_true", help="drop and create the database (or SQLite file) first")
    seed.add_argument("--jobs", type=int, default=None, help="loader processes on PostgreSQL (default: cores)")
    seed.set_defaults(run=_seed)

    run = commands.add_parser("run", help="measure a real `moot serve` against direct SQL on a seeded database")
    run.add_argument("--database-url", help="defaults to MOOT_DATABASE_URL (or the SQLite file of the data folder)")
    run.add_argument("--duration", type=float, default=10.0, help="seconds per scenario, level and side")
    run.add_argument("--concurrency", default="1,4,16,64", help="comma-separated client counts")
    run.add_argument("--out", default=None, help="write the JSON report here (e.g. bench/results/x.json)")
    run.add_argument("--workers", type=int, default=None, help=f"server processes (default: cores = {os.cpu_count()})")
    run.add_argument("--repeat", type=int, default=1, help="measure each cell this many times; report the median")
    run.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each scenario")
    run.add_argument("--scenarios", default=None, help="comma-separated subset (default: all)")
    run.add_argument("--label", default="", help="a note stored in the report (e.g. the seed scale)")
    run.add_argument(
        "--anon-cache",
        type=float,
        default=None,
        help="the server's MOOT_ANON_CACHE_SECONDS (default: its own default; 0 measures every request uncached)",
    )
    run.set_defaults(run=_run)

    federation = commands.add_parser(
        "federation", help="inbound signed activities/s and fan-out to N loopback instances, on a real moot serve"
    )
    federation.add_argument("--database-url", help="the bench's own database (it adds instances and followers)")
    federation.add_argument(
        "--recreate", action="store_true", help="drop and create the database (or SQLite file) first"
    )
    federation.add_argument("--instances", type=int, default=1000, help="follower instances for the fan-out")
    federation.add_argument("--senders", type=int, default=16, help="remote people sending the inbound activities")
    federation.add_argument("--duration", type=float, default=10.0, help="seconds per inbound level and repeat")
    federation.add_argument("--concurrency", default="1,4,16,64", help="comma-separated sender connection counts")
    federation.add_argument("--repeat", type=int, default=3, help="measurements per cell (medians reported)")
    federation.add_argument("--workers", type=int, default=None, help="server processes (default: cores)")
    federation.add_argument(
        "--peer-software",
        default="lemmy",
        help="what the instances' NodeInfo names (lemmy: one announce per post; mastodon: Announce{Page} too)",
    )
    federation.add_argument("--out", default=None, help="write the JSON report here")
    federation.add_argument("--label", default="", help="a note stored in the report")
    federation.set_defaults(run=_federation)

    instructions = commands.add_parser(
        "instructions", help="CPU instructions per request of Moot's own process (callgrind: repeatable, unlike req/s)"
    )
    instructions.add_argument("path", help="the request's path and query, e.g. /api/v3/post?id=1")
    instructions.add_argument("--database-url", help="a seeded database (default: the configured one)")
    instructions.add_argument("--method", default="GET")
    instructions.add_argument(
        "--body", default="", help="a JSON body; with --flip, SCORE is replaced by 1 and -1 in turn"
    )
    instructions.add_argument("--flip", action="store_true", help="alternate SCORE in the body (votes that change)")
    instructions.add_argument("--login", default=None, help="a bench account to send the requests as (bench_0 ...)")
    instructions.add_argument("--requests", type=int, default=50, help="requests counted, after 20 uncounted ones")
    instructions.add_argument(
        "--inbound-reply-to",
        type=int,
        default=None,
        help="a post id: POST signed Create{Note} replies to it (path: /inbox), signed before the count starts",
    )
    instructions.set_defaults(run=_instructions)
