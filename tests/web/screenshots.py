"""Regenerate docs/screenshots/: the example thread at 1280 and 390 px wide, light and dark.

Run: .venv/bin/python tests/web/screenshots.py   (needs /usr/bin/chromium and the playwright package)."""

from __future__ import annotations

import socket
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live import CHROMIUM, CHROMIUM_ARGS, start_web_server, stop_web_server

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def shoot(base_url: str, post_id: int) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for size_name, (width, height) in SIZES.items():
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    color_scheme=scheme,
                    device_scale_factor=1,
                )
                page = context.new_page()
                page.goto(f"{base_url}/post/{post_id}", wait_until="networkidle")
                path = OUT / f"thread-{size_name}-{scheme}.png"
                page.screenshot(path=str(path), full_page=True)
                written.append(path)
                context.close()
        browser.close()
    return written


def main() -> int:
    if not CHROMIUM.exists():
        print(f"screenshots: {CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="moot-shots-") as tmp:
        data = Path(tmp)
        server = start_web_server(f"sqlite+aiosqlite:///{data / 'moot.sqlite3'}", data, free_port())
        try:
            for path in shoot(server.base_url, server.demo_post_id):
                print(f"wrote {path.relative_to(ROOT)}")
        finally:
            stop_web_server(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
