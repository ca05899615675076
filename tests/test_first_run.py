"""First run (issue 14, item 11): `moot serve` starts with a short log that says where to go and whether there is
an admin (and how to make one); `make run` installs only what running needs, with progress, and the development
tools come with the test and lint targets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ADMIN_NAME, ADMIN_PASSWORD, DatabaseUnderTest, drop_database, free_port, make_database
from moot.cli import browser_address, describe_admins
from moot.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    db = make_database(tmp_path_factory.mktemp("first-run"))
    yield db
    drop_database(db)


def _serve_and_read_start(db: DatabaseUnderTest, name: str, env_extra: dict[str, str]) -> list[str]:
    """Start `moot serve` as `make run` does (default log level), wait until it answers, and return the lines
    it logged up to then."""
    port = free_port()
    log = db.data_dir / f"{name}.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MOOT_")},
        "MOOT_DATA_DIR": str(db.data_dir),
        "MOOT_DATABASE_URL": db.url,
        "MOOT_HOSTNAME": f"127.0.0.1:{port}",
        "MOOT_RUN_JOBS": "false",
        **env_extra,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v3/site", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        text = log.read_text()
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    # Up to the first request's access line: what a person sees when it starts.
    lines = text.splitlines()
    return [line for line in lines if "/api/v3/site" not in line]


def test_the_start_log_is_short_and_says_what_to_do(database: DatabaseUnderTest) -> None:
    lines = _serve_and_read_start(database, "first", {})
    text = "\n".join(lines)
    port = text.split("open http://127.0.0.1:")[1].split("/")[0]
    assert f"open http://127.0.0.1:{port}/ in a browser" in text
    assert "no admin yet: the first account to sign up" in text and "moot admin create NAME" in text
    assert "migrations applied" in text  # one line for all the revisions of a new database
    # No migration chatter: Alembic's plugins, context and revisions are not logged one by one.
    assert "alembic" not in text and "Running upgrade" not in text and "Context impl" not in text
    assert len(lines) <= 10, text

    # An admin made as the line says; the next start has nothing to upgrade, and names the admin.
    env = {**os.environ, "MOOT_DATA_DIR": str(database.data_dir), "MOOT_DATABASE_URL": database.url}
    made = subprocess.run(
        [sys.executable, "-m", "moot.cli", "admin", "create", ADMIN_NAME, "--password", ADMIN_PASSWORD],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "alembic" not in made.stdout + made.stderr
    lines = _serve_and_read_start(database, "second", {})
    text = "\n".join(lines)
    assert "schema up to date" in text and f"admin: {ADMIN_NAME}" in text
    assert "alembic" not in text and len(lines) <= 10, text


def test_admin_lines() -> None:
    assert describe_admins(["alice", "bob"], True, "http://x/") == "admin: alice, bob"
    assert "the first account to sign up (http://127.0.0.1:8536/signup)" in describe_admins(
        [], False, "http://127.0.0.1:8536/"
    )
    # A site whose admins are all gone: sign-up no longer makes one.
    assert describe_admins([], True, "http://x/") == "no admin: run `moot admin create NAME` to make one"


def test_the_address_to_open() -> None:
    settings = load_settings({})
    assert browser_address(settings, "127.0.0.1", 8536) == "http://127.0.0.1:8536/"
    assert browser_address(settings, "0.0.0.0", 80) == "http://localhost:80/"  # noqa: S104
    assert browser_address(settings, "::1", 8536) == "http://[::1]:8536/"


# --- the Makefile ----------------------------------------------------------------------------------------------


def _dry_run(target: str, tmp_path: Path) -> str:
    """What `make TARGET` would run on a machine without the virtualenv (make -n runs nothing)."""
    found = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target, f"VENV={tmp_path / 'venv'}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_installs_only_what_running_needs(tmp_path: Path) -> None:
    commands = _dry_run("run", tmp_path)
    installs = [line for line in commands.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs and all("[dev]" not in line for line in installs), commands
    # Progress: pip's own lines (no --quiet on the install), and a word before it starts.
    assert all("--quiet" not in line for line in installs)
    assert "echo" in commands and "moot serve" in commands


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("target", ["test", "test-sqlite", "test-postgres", "lint", "typecheck"])
def test_the_development_tools_come_with_tests_and_lint(target: str, tmp_path: Path) -> None:
    commands = _dry_run(target, tmp_path)
    assert "pip install --progress-bar off -e '.[dev]'" in commands, commands


def test_ci_still_runs_make_test() -> None:
    assert "\nmake test\n" in (ROOT / ".ci" / "run").read_text()
