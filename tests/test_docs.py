"""Docs that tests keep honest: every setting, CLI command and API route appears in the docs."""

from __future__ import annotations

import re
from pathlib import Path

from moot.app import create_app
from moot.cli import build_parser
from moot.settings import ENV_NAMES, SETTINGS_FILE_ENV, Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
API_DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme() -> None:
    for name in [*ENV_NAMES.values(), SETTINGS_FILE_ENV]:
        assert f"`{name}`" in README, f"{name} is not documented in README.md"


def test_every_cli_command_is_in_the_readme() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        nested = [a for a in sub._actions if a.__class__.__name__ == "_SubParsersAction"]
        full = [f"moot {name} {child}" for child in nested[0].choices] if nested else [f"moot {name}"]
        for command in full:
            assert f"`{command}" in README, f"{command} is not documented in README.md"


def test_every_api_route_is_in_docs_api() -> None:
    app = create_app(Settings(), migrate=False)
    served = API_DOC.split("## Not served yet")[0]
    rows = set(re.findall(r"^\| (GET|POST|PUT) \| (\S+) \|", served, flags=re.MULTILINE))
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith("/api/v3"):
            continue
        for method in operations:
            assert (method.upper(), path.removeprefix("/api/v3")) in rows, f"{method} {path} missing in docs/api.md"
    assert len(rows) == sum(len(ops) for p, ops in app.openapi()["paths"].items() if p.startswith("/api/v3"))
