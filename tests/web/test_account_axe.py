"""Accessibility of the account pages: axe-core finds no serious or critical problem on the settings page, the
account and security page, the private messages and a conversation, the login form's two-factor step and the
sign-up form with its captcha, light and dark."""

from __future__ import annotations

from typing import Any

import httpx
import pyotp

from conftest import unique
from web.conftest import PASSWORD
from web.live import ADMIN_NAME, ADMIN_PASSWORD, WebServer
from web.test_axe import AXE, axe_page, log_in, pytestmark, serious_violations  # noqa: F401 - shared fixtures
from web.test_browser import chromium, live_web  # noqa: F401 - the shared session fixtures


async def violations_here(page: Any, where: str) -> list[str]:
    """axe on the page as it stands (after a form was posted, there is no address to go to)."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{where}: {v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def api(server: WebServer, path: str, method: str = "POST", jwt: str | None = None, **body: Any) -> Any:
    headers = {"Authorization": f"Bearer {jwt}"} if jwt else {}
    response = httpx.request(method, f"{server.base_url}/api/v3{path}", json=body, headers=headers, timeout=10)
    assert response.status_code == 200, (path, response.text)
    return response.json()


def register(server: WebServer) -> tuple[str, str, int]:
    name = unique("ax")
    jwt = api(server, "/user/register", username=name, password=PASSWORD, password_verify=PASSWORD)["jwt"]
    me = httpx.get(f"{server.base_url}/api/v3/site", headers={"Authorization": f"Bearer {jwt}"}, timeout=10).json()
    return name, jwt, int(me["my_user"]["local_user_view"]["person"]["id"])


async def test_settings_account_and_message_pages(axe_page: Any, live_web: WebServer) -> None:  # noqa: F811
    _, _, friend_id = register(live_web)
    await log_in(axe_page)
    # A conversation with something in it, started from its page.
    await axe_page.goto(f"/messages/{friend_id}")
    await axe_page.locator("#content").fill("Hello there, *friend*")
    # The form posts to the address it is on: wait for that navigation, not for the address.
    async with axe_page.expect_navigation():
        await axe_page.get_by_role("button", name="Send").click()
    assert await axe_page.get_by_text("Hello there,").count() == 1
    found: list[str] = []
    for path in ("/settings", "/settings/account", "/messages", f"/messages/{friend_id}"):
        shown = await axe_page.goto(path)
        assert shown is not None and shown.status == 200, (path, await axe_page.content())
        found += await serious_violations(axe_page, path)
    # The page as a refused form leaves it: errors shown, values kept.
    await axe_page.goto("/settings")
    await axe_page.locator("#set-matrix").fill("not a matrix id")
    async with axe_page.expect_navigation():
        await axe_page.get_by_role("button", name="Save settings").click()
    assert await axe_page.locator("div.error").count() == 1
    found += await violations_here(axe_page, "/settings (refused)")
    assert found == []


async def test_the_two_factor_login_step(axe_page: Any, live_web: WebServer) -> None:  # noqa: F811
    name, jwt, _ = register(live_web)
    url = api(live_web, "/user/totp/generate", jwt=jwt)["totp_secret_url"]
    secret = url.split("secret=", 1)[1].split("&", 1)[0]
    api(live_web, "/user/totp/update", jwt=jwt, totp_token=pyotp.TOTP(secret).now(), enabled=True)
    await axe_page.goto("/login")
    await axe_page.locator("#login-name").fill(name)
    await axe_page.locator("#login-password").fill(PASSWORD)
    async with axe_page.expect_navigation():
        await axe_page.get_by_role("button", name="Log in").click()
    await axe_page.locator("#login-totp").wait_for()
    assert await violations_here(axe_page, "/login (two-factor step)") == []


async def test_the_sign_up_form_with_its_captcha(axe_page: Any, live_web: WebServer) -> None:  # noqa: F811
    admin = api(live_web, "/user/login", username_or_email=ADMIN_NAME, password=ADMIN_PASSWORD)["jwt"]
    api(live_web, "/site", method="PUT", jwt=admin, captcha_enabled=True, captcha_difficulty="easy")
    try:
        await axe_page.goto("/signup")
        assert await axe_page.locator('input[name="captcha_answer"]').count() == 1
        assert await violations_here(axe_page, "/signup (captcha)") == []
    finally:
        api(live_web, "/site", method="PUT", jwt=admin, captcha_enabled=False, captcha_difficulty="medium")
