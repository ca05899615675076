"""The real lemmy-js-client 0.19 (npm) drives a full scenario against a real `moot serve` process.

tests/js/scenario.mjs prints one JSON line per step; here every step must be ok, the scenario must have run to
its end, and each response the script recorded must match its lemmy-js-client type exactly. Needs `node` and
`npm ci` run in tests/js; without them the tests skip."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import ADMIN_NAME, ADMIN_PASSWORD, ServerProcess
from lemmy_shapes import shape_errors

JS_DIR = Path(__file__).parent / "js"
SCRIPT = JS_DIR / "scenario.mjs"
NODE = shutil.which("node")
TIMEOUT_SECONDS = 300

# Every step the script runs, in order: a step that never reports (a crash, an abort) fails the run.
EXPECTED_STEPS = [
    "getSite anonymous",
    "login admin",
    "editSite raises rate limits",
    "login with a wrong password throws incorrect_login",
    "register alice",
    "register bob",
    "register a taken name throws user_already_exists",
    "createCommunity",
    "getCommunity by name",
    "followCommunity",
    "listCommunities",
    "createPost with url",
    "getPost with cross_posts",
    "editPost",
    "likePost up, down, up",
    "savePost",
    "createPost text posts for listing",
    "markPostAsRead",
    "hidePost",
    "getPosts by community_name, ignoring unknown fields",
    "getPosts page_cursor paging",
    "createComment and replies",
    "getComments with max_depth",
    "likeComment",
    "getPosts with several sorts",
    "getReplies and getUnreadCount",
    "markAllAsRead",
    "mention, getPersonMentions, markPersonMentionAsRead",
    "markCommentReplyAsRead",
    "editComment, saveComment, getComment, getPost by comment_id",
    "search",
    "resolveObject",
    "getPersonDetails",
    "saveUserSettings",
    "blockPerson",
    "deletePost and deleteComment",
    "errors: missing objects and no login",
    "logout",
]

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed (needed for the lemmy-js-client tests)"),
    pytest.mark.skipif(
        not (JS_DIR / "node_modules" / "lemmy-js-client").is_dir(),
        reason="lemmy-js-client is not installed: run `npm ci` in tests/js",
    ),
]


@dataclass
class ScenarioRun:
    returncode: int
    steps: list[dict[str, Any]] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    stderr: str = ""

    def describe(self) -> str:
        """What a failure message needs: the failed steps, and any output that was not a step line."""
        lines = [f"{s['step']}: {s['detail']}" for s in self.steps if not s["ok"]]
        lines += [f"stray stdout: {line}" for line in self.stray[:10]]
        if self.stderr.strip():
            lines.append(f"stderr: {self.stderr.strip()[-2000:]}")
        return "\n".join(lines)


def parse_output(stdout: str) -> tuple[list[dict[str, Any]], list[str]]:
    steps: list[dict[str, Any]] = []
    stray: list[str] = []
    for line in stdout.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            stray.append(line)
            continue
        if isinstance(record, dict) and {"step", "ok"} <= record.keys():
            steps.append(record)
        else:
            stray.append(line)
    return steps, stray


@pytest.fixture(scope="module")
def scenario(live_server: ServerProcess) -> ScenarioRun:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(SCRIPT), live_server.base_url, ADMIN_NAME, ADMIN_PASSWORD],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    steps, stray = parse_output(done.stdout)
    return ScenarioRun(returncode=done.returncode, steps=steps, stray=stray, stderr=done.stderr)


def test_every_step_reports_once_in_order(scenario: ScenarioRun) -> None:
    names = [s["step"] for s in scenario.steps]
    assert names == EXPECTED_STEPS, scenario.describe()
    assert not scenario.stray, scenario.describe()


def test_every_step_passes(scenario: ScenarioRun) -> None:
    assert all(s["ok"] for s in scenario.steps), "lemmy-js-client steps failed:\n" + scenario.describe()
    # A crash outside any step (say, lemmy-js-client failing to load) shows only in the exit code.
    assert scenario.returncode == 0, scenario.describe()


def test_recorded_responses_match_lemmy_types(scenario: ScenarioRun) -> None:
    errors: list[str] = []
    checked = 0
    for step in scenario.steps:
        for recorded in step.get("shapes", []):
            checked += 1
            errors += [
                f"{step['step']} ({recorded['type']}): {e}" for e in shape_errors(recorded["value"], recorded["type"])
            ]
    assert not errors, "\n".join(errors[:40])
    # Enough responses were recorded that a script which stopped recording would be noticed.
    assert checked >= 40, f"only {checked} responses recorded:\n{scenario.describe()}"
