"""The site's `application_email_admins` and `reports_email_admins`: a new registration application, and a new
report of a post, comment or private message, are mailed to every admin with an address, through the real mail
job to a real SMTP server on loopback (tests/test_email.py's, run here for this module); without mail settings
they cannot be turned on (`no_email_setup`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from conftest import Api, make_comment, make_community, make_post, unique
from test_email import (  # noqa: F401 - the module's own SMTP server, app and admin
    PASSWORD,
    WAIT_SECONDS,
    Mailbox,
    address,
    boss,
    link,
    mail_app,
    mail_db,
    mail_settings,
    mailbox,
    outbox_rows,
    signup,
    smtp,
    web,
)


@dataclass
class Admins:
    """The boss and a second admin, both with an address, and a third without one."""

    addresses: list[str]
    without: Api


@pytest.fixture(scope="module")
async def admins(web: httpx.AsyncClient, boss: Api) -> Admins:  # noqa: F811
    first = address().lower()
    await boss.ok_put("/user/save_user_settings", {"email": first})
    second_address = address().lower()
    second = await signup(web, second_address)
    third = await signup(web)
    for api in (second, third):
        await boss.ok_post("/admin/add", {"person_id": api.person_id, "added": True})
    return Admins([first, second_address], third)


@pytest.fixture
async def switches(boss: Api) -> AsyncIterator[None]:  # noqa: F811
    yield
    await boss.ok_put(
        "/site",
        {
            "application_email_admins": False,
            "reports_email_admins": False,
            "require_email_verification": False,
            "registration_mode": "Open",
        },
    )


def about(mailbox: Mailbox, to: str, text: str) -> list[EmailMessage]:  # noqa: F811
    return [m for m in mailbox.to(to) if text in m["Subject"]]


async def wait_about(mailbox: Mailbox, to: str, text: str, count: int = 1) -> list[EmailMessage]:  # noqa: F811
    """The mails to `to` whose subject has `text`, once there are `count` of them (bounded wait)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = about(mailbox, to, text)
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"no mail about {text} for {to} within {WAIT_SECONDS}s"
        await asyncio.sleep(0.05)


async def test_without_mail_settings_they_cannot_be_turned_on(admin: Api) -> None:
    for key in ("application_email_admins", "reports_email_admins"):
        assert await admin.put("/site", {key: True}) == (400, {"error": "no_email_setup"})
        # Off (what is stored) is accepted, as the whole form sent back.
        await admin.ok_put("/site", {key: False})
        assert (await admin.ok_get("/site"))["site_view"]["local_site"][key] is False


async def test_a_new_application_is_mailed_to_every_admin_with_an_address(
    web: httpx.AsyncClient,  # noqa: F811
    boss: Api,  # noqa: F811
    admins: Admins,
    mailbox: Mailbox,  # noqa: F811
    mail_app: Any,  # noqa: F811
    switches: None,
) -> None:
    await boss.ok_put("/site", {"registration_mode": "RequireApplication", "application_question": "Why?"})
    body = {"password": PASSWORD, "password_verify": PASSWORD, "answer": "Because."}
    # Off: nothing is queued for the admins.
    before = [await outbox_rows(mail_app, a) for a in admins.addresses]
    quiet = unique("quiet")
    await Api(client=web).ok_post("/user/register", {**body, "username": quiet})
    assert [await outbox_rows(mail_app, a) for a in admins.addresses] == before

    await boss.ok_put("/site", {"application_email_admins": True})
    applicant = unique("applicant")
    data = await Api(client=web).ok_post("/user/register", {**body, "username": applicant})
    assert data["registration_created"] is True
    # Queued in the registration's transaction, one per admin with an address.
    assert [await outbox_rows(mail_app, a) for a in admins.addresses] == [n + 1 for n in before]
    for to in admins.addresses:
        [message] = await wait_about(mailbox, to, applicant)
        assert message["Subject"] == f"New registration application at moot.test:8536: {applicant}"
        text = message.get_body(preferencelist=("plain",))
        assert text is not None and "http://moot.test:8536/admin#applications" in text.get_content()
        assert not about(mailbox, to, quiet)


async def test_with_verification_the_admins_hear_once_the_address_is_verified(
    web: httpx.AsyncClient,  # noqa: F811
    boss: Api,  # noqa: F811
    admins: Admins,
    mailbox: Mailbox,  # noqa: F811
    mail_app: Any,  # noqa: F811
    switches: None,
) -> None:
    await boss.ok_put(
        "/site",
        {
            "registration_mode": "RequireApplication",
            "application_question": "Why?",
            "require_email_verification": True,
            "application_email_admins": True,
        },
    )
    applicant, email = unique("verifier"), address()
    before = [await outbox_rows(mail_app, a) for a in admins.addresses]
    data = await Api(client=web).ok_post(
        "/user/register",
        {"username": applicant, "password": PASSWORD, "password_verify": PASSWORD, "answer": "Yes.", "email": email},
    )
    assert data == {"registration_created": True, "verify_email_sent": True}
    # Not yet: the address may not be the applicant's.
    assert [await outbox_rows(mail_app, a) for a in admins.addresses] == before
    [verification] = await mailbox.wait(email.lower())
    assert await Api(client=web).ok_post("/user/verify_email", {"token": link(verification, "verify_email")}) == {
        "success": True
    }
    for to in admins.addresses:
        [message] = await wait_about(mailbox, to, applicant)
        assert message["Subject"].endswith(f": {applicant}")


async def test_reports_are_mailed_to_every_admin(
    web: httpx.AsyncClient,  # noqa: F811
    boss: Api,  # noqa: F811
    admins: Admins,
    mailbox: Mailbox,  # noqa: F811
    mail_app: Any,  # noqa: F811
    switches: None,
) -> None:
    author, reporter = await signup(web), await signup(web)
    community = await make_community(author)
    post = await make_post(author, community["id"])
    comment = await make_comment(author, post["id"], "reported words")
    message = (await author.ok_post("/private_message", {"content": "hello", "recipient_id": reporter.person_id}))[
        "private_message_view"
    ]["private_message"]

    # Off: a report queues nothing for the admins.
    before = [await outbox_rows(mail_app, a) for a in admins.addresses]
    await reporter.ok_post("/post/report", {"post_id": post["id"], "reason": "quiet"})
    assert [await outbox_rows(mail_app, a) for a in admins.addresses] == before

    await boss.ok_put("/site", {"reports_email_admins": True})
    await reporter.ok_post("/comment/report", {"comment_id": comment["id"], "reason": "spam"})
    await reporter.ok_post("/private_message/report", {"private_message_id": message["id"], "reason": "rude"})
    assert [await outbox_rows(mail_app, a) for a in admins.addresses] == [n + 2 for n in before]
    subject = f"New report at moot.test:8536 for {author.name} by {reporter.name}"
    for to in admins.addresses:
        found = await wait_about(mailbox, to, subject, count=2)
        text = found[0].get_body(preferencelist=("plain",))
        assert text is not None and "http://moot.test:8536/reports" in text.get_content()


async def test_a_report_from_the_pages_is_mailed_too(
    web: httpx.AsyncClient,  # noqa: F811
    boss: Api,  # noqa: F811
    admins: Admins,
    mailbox: Mailbox,  # noqa: F811
    switches: None,
) -> None:
    author, reporter = await signup(web), await signup(web)
    community = await make_community(author)
    post = await make_post(author, community["id"])
    await boss.ok_put("/site", {"reports_email_admins": True})
    web.cookies.set("jwt", reporter.jwt or "")
    try:
        page = await web.get(f"/post/{post['id']}")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        sent = await web.post(f"/post/{post['id']}/report", data={"csrf_token": token, "reason": "from the page"})
        assert sent.status_code == 303
    finally:
        web.cookies.clear()
    subject = f"New report at moot.test:8536 for {author.name} by {reporter.name}"
    for to in admins.addresses:
        await wait_about(mailbox, to, subject)
