"""A real Moot process with the pages installed and the example thread loaded, for browser tests and screenshots."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_NAME = "moot_admin"
ADMIN_PASSWORD = "admin-password-123"


@dataclass
class WebServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    demo_post_id: int


def _env(database_url: str, data_dir: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "MOOT_DATA_DIR": str(data_dir),
        "MOOT_DATABASE_URL": database_url,
        "MOOT_HOSTNAME": f"127.0.0.1:{port}",
        "MOOT_ANON_CACHE_SECONDS": "0",
        "MOOT_TLS_ENABLED": "false",
        "MOOT_SETUP_ADMIN_USERNAME": ADMIN_NAME,
        "MOOT_SETUP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MOOT_SETUP_SITE_NAME": "Moot",
        "MOOT_RUN_JOBS": "false",
    }


def _wait(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            if httpx.get(f"{base}/api/v3/site", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()}")


def _raise_rate_limits(base: str) -> None:
    """Browser tests sign up several accounts from one address: lift the limits, as the suite's admin does."""
    login = httpx.post(
        f"{base}/api/v3/user/login", json={"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD}, timeout=10
    )
    jwt = login.json()["jwt"]
    limits = {f"rate_limit_{b}": 100_000 for b in ("register", "post", "comment", "search", "message")}
    answer = httpx.put(f"{base}/api/v3/site", json=limits, headers={"Authorization": f"Bearer {jwt}"}, timeout=10)
    answer.raise_for_status()


def _demo_post_id(base: str) -> int:
    found = httpx.get(f"{base}/api/v3/post/list", params={"type_": "All", "sort": "Old", "limit": 50}, timeout=10)
    for view in found.json()["posts"]:
        if view["community"]["name"] == "worldnews" and view["community"]["local"]:
            post_id: int = view["post"]["id"]
            return post_id
    raise RuntimeError("the example thread is not on the server")


def start_web_server(database_url: str, data_dir: Path, port: int) -> WebServer:
    env = _env(database_url, data_dir, port)
    log = data_dir / f"web-{port}.log"
    subprocess.run([sys.executable, "-m", "moot.cli", "demo"], env=env, check=True, capture_output=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "moot.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    _wait(base, process, log)
    _raise_rate_limits(base)
    return WebServer(base_url=base, process=process, log=log, demo_post_id=_demo_post_id(base))


def stop_web_server(server: WebServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
