"""Accessibility: axe-core finds no serious or critical problem on the main pages, light and dark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from conftest import unique
from web.conftest import PASSWORD
from web.live import CHROMIUM, WebServer
from web.test_browser import chromium, live_web  # noqa: F401 - the shared session fixtures

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium"),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is missing: cd tests/web && npm ci"),
]


@pytest.fixture(params=["light", "dark"])
async def axe_page(request: pytest.FixtureRequest, chromium: Any, live_web: WebServer) -> AsyncIterator[Any]:  # noqa: F811
    # bypass_csp: injecting axe inlines its source, which our script-src 'self' rightly refuses.
    context = await chromium.new_context(
        base_url=live_web.base_url, bypass_csp=True, color_scheme=request.param, viewport={"width": 1280, "height": 900}
    )
    page = await context.new_page()
    yield page
    await context.close()


async def serious_violations(page: Any, path: str) -> list[str]:
    await page.goto(path)
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{path}: {v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def log_in(page: Any) -> None:
    name = unique("axe")
    await page.goto("/signup")
    await page.locator("#signup-name").fill(name)
    await page.locator("#signup-password").fill(PASSWORD)
    await page.locator("#signup-password-verify").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await page.wait_for_url("**/")


async def test_reading_pages_have_no_serious_violations(axe_page: Any, live_web: WebServer) -> None:  # noqa: F811
    found: list[str] = []
    for path in ("/?type=All", "/c/worldnews", f"/post/{live_web.demo_post_id}", "/communities", "/login", "/modlog"):
        found += await serious_violations(axe_page, path)
    assert found == []


async def test_logged_in_pages_have_no_serious_violations(axe_page: Any, live_web: WebServer) -> None:  # noqa: F811
    await log_in(axe_page)
    found: list[str] = []
    for path in ("/create_post", f"/post/{live_web.demo_post_id}", "/?type=All", "/settings", "/search?q=NATO"):
        found += await serious_violations(axe_page, path)
    assert found == []
