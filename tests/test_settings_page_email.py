"""A change of email from the settings page, on a site that verifies addresses: the page says a link was mailed,
the old address stays until the link (read from the real loopback SMTP server) is followed."""

from __future__ import annotations

import httpx

from conftest import Api
from test_email import (  # noqa: F401 - the module's own SMTP server, app and admin
    Mailbox,
    address,
    boss,
    link,
    mail_app,
    mail_db,
    mail_settings,
    mailbox,
    signup,
    smtp,
    web,
)


async def page_token(web: httpx.AsyncClient, path: str) -> str:  # noqa: F811
    page = await web.get(path)
    assert page.status_code == 200, page.text[:500]
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


async def test_a_new_address_from_the_page_waits_for_its_link(
    web: httpx.AsyncClient,  # noqa: F811
    boss: Api,  # noqa: F811
    mailbox: Mailbox,  # noqa: F811
) -> None:
    old, new = address().lower(), address().lower()
    person = await signup(web, old)
    await boss.ok_put("/site", {"require_email_verification": True})
    web.cookies.set("jwt", person.jwt or "")
    try:
        token = await page_token(web, "/settings")
        sent = await web.post("/settings", data={"csrf_token": token, "email": new})
        assert sent.status_code == 303 and sent.headers["location"] == "/settings?saved=verify"
        shown = await web.get("/settings?saved=verify")
        assert "A link was mailed to the new address" in shown.text
        assert f'value="{old}"' in shown.text
        [message] = await mailbox.wait(new)
        assert await Api(client=web).ok_post("/user/verify_email", {"token": link(message, "verify_email")}) == {
            "success": True
        }
        assert f'value="{new}"' in (await web.get("/settings")).text
    finally:
        web.cookies.clear()
        await boss.ok_put("/site", {"require_email_verification": False})
