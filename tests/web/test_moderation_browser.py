"""Moderation pages in headless Chromium: a moderator's tools work by mouse, and axe-core finds no serious problem
on the admin area, the modlog, the reports queue, a community's settings and a thread with the tools open."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import unique
from web.live import ADMIN_NAME, ADMIN_PASSWORD, CHROMIUM, WebServer
from web.test_axe import AXE, axe_page  # noqa: F401 - the shared fixture
from web.test_browser import chromium, live_web, page, sign_up  # noqa: F401 - the shared session fixtures

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium")


async def make_community_and_post(tab: Any) -> tuple[str, str]:
    community = unique("pwm")
    await tab.goto("/create_community")
    await tab.get_by_label("Name").fill(community)
    await tab.get_by_label("Title").fill("Moderated in Chromium")
    await tab.get_by_role("button", name="Create").click()
    await tab.wait_for_url(f"**/c/{community}")
    await tab.get_by_role("link", name="New post").last.click()
    await tab.get_by_label("Title").fill("A post to moderate")
    await tab.get_by_label("Text").fill("Some words")
    await tab.get_by_role("button", name="Post").click()
    await tab.wait_for_url("**/post/*")
    return community, tab.url


async def test_moderator_removes_and_locks_a_post_then_reads_the_modlog(page: Any, live_web: WebServer) -> None:  # noqa: F811
    await sign_up(page)
    community, post_url = await make_community_and_post(page)
    tools = page.get_by_role("group", name="Moderator tools")
    await tools.locator("summary", has_text="remove").click()
    await tools.get_by_label("Reason").fill("Testing the tools")
    await tools.get_by_role("button", name="Remove", exact=True).click()
    await page.wait_for_url(post_url)
    assert "Removed by a moderator." in await page.locator("article.post-full").inner_text()
    await tools.get_by_role("button", name="lock", exact=True).click()
    await page.wait_for_url(post_url)
    assert await page.locator("article .meta .flag", has_text="locked").count() == 1
    assert await tools.get_by_role("button", name="restore", exact=True).count() == 1

    await page.get_by_role("link", name="Modlog").first.click()
    await page.wait_for_url("**/modlog?community_id=*")
    rows = page.locator("tr.modlog-entry")
    assert await rows.count() == 2
    assert "Testing the tools" in await rows.nth(1).inner_text()
    await page.get_by_label("Action").select_option("ModLockPost")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**/modlog?*type=ModLockPost*")
    # The community came along in the form: only this community's lock.
    assert await page.get_by_label("Community").input_value() == community
    assert await page.locator("tr.modlog-entry").count() == 1


async def _violations(tab: Any, path: str) -> list[str]:
    """axe-core on `path` with every <details> of the page open (the tools' reason boxes are checked too)."""
    await tab.goto(path)
    await tab.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    await tab.add_script_tag(path=str(AXE))
    result = await tab.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{path}: {v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is missing: cd tests/web && npm ci")
async def test_moderation_pages_have_no_serious_violations(axe_page: Any, live_web: WebServer) -> None:  # noqa: F811
    await axe_page.goto("/login")
    await axe_page.locator("#login-name").fill(ADMIN_NAME)
    await axe_page.locator("#login-password").fill(ADMIN_PASSWORD)
    await axe_page.get_by_role("button", name="Log in").click()
    await axe_page.wait_for_url("**/")
    community, post_url = await make_community_and_post(axe_page)
    found: list[str] = []
    for path in (
        "/admin",
        "/modlog",
        "/reports",
        f"/c/{community}/settings",
        f"/post/{live_web.demo_post_id}",
        post_url.removeprefix(live_web.base_url),
    ):
        found += await _violations(axe_page, path)
    assert found == []
