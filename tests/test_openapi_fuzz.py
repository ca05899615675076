"""schemathesis over the real OpenAPI document of a real `moot serve`: no 5xx, no status or answer outside it.

Every operation of /openapi.json is run, logged in as an ordinary user, through schemathesis's coverage phase
(boundary values of every field: empty, huge, wrong types, missing fields) and a bounded fuzzing phase of valid
and invalid data, derandomized, so that a run is the same run on every machine. The server has a fresh database
of the suite's backend, its rate limits raised out of the way first, and a community, a post, a reply and a
mention in it, so that small ids exist. The checks are schemathesis's own:

- `not_a_server_error`: no 5xx, whatever is sent;
- `status_code_conformance`: every status is one the operation documents (api/openapi.py);
- `response_schema_conformance`, `content_type_conformance`: every answer, errors included, is JSON of the
  documented type (lemmy-js-client's for 200, Lemmy's error shape otherwise);
- `negative_data_rejection`: a request the document does not allow (a string for an id, `0` for a boolean, an id
  past 2^31) is refused, never taken loosely;
- `ignored_auth`: an operation that documents a login refuses a request without one.

schemathesis runs as its command line (`schemathesis run`, the interface its documentation promises; its pytest
plugin's fixture loader does not run on pytest 9), with the settings below written to a config file; on a failure
the test shows its report, each case with a `curl` line that reproduces it. About a minute per backend;
MOOT_FUZZ_EXAMPLES changes the fuzzing phase's count."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    ServerProcess,
    drop_database,
    free_port,
    make_database,
    start_server,
    stop_server,
)

PASSWORD = "fuzz-password-1234"
BUCKETS = ("message", "post", "register", "image", "comment", "search")
# The fuzzing phase's examples per operation (the coverage phase adds its own, a fixed set per field).
EXAMPLES = int(os.environ.get("MOOT_FUZZ_EXAMPLES", "10"))
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
    "negative_data_rejection",
    "ignored_auth",
)

# `mode = "all"`: valid and invalid data. `deterministic`: Hypothesis's derandomized mode, the same cases on
# every run. `database = "none"`: nothing remembered between runs. The login is ours (the header), never a
# generated one. Logging out ends the login it is sent with, so it gets a login of its own: its first case
# answers 200 and the rest 401, both checked.
CONFIG = """\
headers = {{ Authorization = "Bearer {jwt}" }}
workers = 1
request-timeout = 30
suppress-health-check = ["all"]
warnings = false

[generation]
mode = "all"
max-examples = {examples}
deterministic = true
database = "none"
with-security-parameters = false

[phases.examples]
enabled = false
[phases.coverage]
enabled = true
[phases.fuzzing]
enabled = true
[phases.stateful]
enabled = false

[checks]
enabled = false
{checks}
# A body over 1 MiB is refused before it is read (413): a rejection too.
negative_data_rejection.expected-statuses = [400, 401, 404, 413]

[[operations]]
include-path = "/api/v3/user/logout"
headers = {{ Authorization = "Bearer {logout_jwt}" }}
"""


def _ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, (r.request.url, r.status_code, r.text)
    return r.json()


def _register(api: str, name: str) -> dict[str, str]:
    form = {"username": name, "password": PASSWORD, "password_verify": PASSWORD}
    return {"Authorization": f"Bearer {_ok(httpx.post(f'{api}/user/register', json=form, timeout=30))['jwt']}"}


def _seed(api: str) -> dict[str, str]:
    """Raises every rate limit, and gives the fuzzer's user a community, a post, a comment, a reply and a
    mention to find by small ids. Returns the user's Authorization header."""
    login = {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD}
    admin = {"Authorization": f"Bearer {_ok(httpx.post(f'{api}/user/login', json=login, timeout=30))['jwt']}"}
    limits = {f"rate_limit_{b}": 1_000_000 for b in BUCKETS} | {f"rate_limit_{b}_per_second": 1 for b in BUCKETS}
    _ok(httpx.put(f"{api}/site", json=limits, headers=admin, timeout=30))
    user = _register(api, "fuzzer")
    community = _ok(httpx.post(f"{api}/community", json={"name": "fuzz", "title": "Fuzz"}, headers=user, timeout=30))
    community_id = community["community_view"]["community"]["id"]
    post = _ok(httpx.post(f"{api}/post", json={"name": "A post", "community_id": community_id}, headers=user))
    post_id = post["post_view"]["post"]["id"]
    comment = _ok(httpx.post(f"{api}/comment", json={"post_id": post_id, "content": "first"}, headers=user))
    # The admin answers the user and mentions them elsewhere: a reply and a mention in the user's inbox.
    reply = {"post_id": post_id, "parent_id": comment["comment_view"]["comment"]["id"], "content": "an answer"}
    _ok(httpx.post(f"{api}/comment", json=reply, headers=admin, timeout=30))
    theirs = _ok(httpx.post(f"{api}/post", json={"name": "Theirs", "community_id": community_id}, headers=admin))
    host = api.removeprefix("http://").removesuffix("/api/v3")
    mention = {"post_id": theirs["post_view"]["post"]["id"], "content": f"hello @fuzzer@{host}"}
    _ok(httpx.post(f"{api}/comment", json=mention, headers=admin, timeout=30))
    inbox = _ok(httpx.get(f"{api}/user/unread_count", headers=user, timeout=30))
    assert inbox["replies"] == 1 and inbox["mentions"] == 1, inbox
    return user


def _failures(report: str, width: int = 400, total: int = 30_000) -> str:
    """The report's failures, each line cut short: a reproducing `curl` line may carry a megabyte of body."""
    start = report.find("=== FAILURES ===")
    lines = report[start if start >= 0 else 0 :].splitlines()
    text = "\n".join(line if len(line) <= width else line[:width] + " ..." for line in lines)
    return text if len(text) <= total else text[:total] + "\n... (the whole report: schemathesis.txt in tmp_path)"


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = make_database(tmp_path_factory.mktemp("fuzz"))
    server = start_server(db, free_port())
    try:
        yield server
    finally:
        stop_server(server)
        drop_database(db)


def test_the_server_keeps_to_its_openapi_document(fuzz_server: ServerProcess, tmp_path: Path) -> None:
    base = fuzz_server.base_url
    api = f"{base}/api/v3"
    user = _seed(api)
    leaver = _register(api, "leaver")
    document = _ok(httpx.get(f"{base}/openapi.json", timeout=30))
    operations = sum(len(ops) for ops in document["paths"].values())
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.format(
            jwt=user["Authorization"].removeprefix("Bearer "),
            logout_jwt=leaver["Authorization"].removeprefix("Bearer "),
            examples=EXAMPLES,
            checks="\n".join(f"{name}.enabled = true" for name in CHECKS),
        ),
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", f"{base}/openapi.json"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"},
        check=False,
    )
    report = run.stdout + run.stderr
    (tmp_path / "schemathesis.txt").write_text(report, encoding="utf-8")
    assert run.returncode == 0, f"schemathesis found what the document does not allow:\n{_failures(report)}"
    tested = re.search(r"Tested:\s+(\d+)", report)
    assert tested is not None and int(tested.group(1)) == operations, report[-3000:]
    # The run was logged in throughout: the user's login still works, and logging out was tried for real.
    assert _ok(httpx.get(f"{api}/user/validate_auth", headers=user, timeout=30)) == {"success": True}
    assert httpx.get(f"{api}/user/validate_auth", headers=leaver, timeout=30).status_code == 400
