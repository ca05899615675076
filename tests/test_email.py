"""Mail, for real: an SMTP server (aiosmtpd) on loopback receives what Moot sends, and the tests follow the links
in the messages (email verification, password reset). This module runs an app of its own, on a database of its
own, with MOOT_SMTP_URL pointing at that server and the jobs (the mail job among them) running."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    Api,
    DatabaseUnderTest,
    drop_database,
    make_community,
    make_post,
    settings_for,
    unique,
)
from conftest import make_database as new_database
from moot.actions.mail import queue_email
from moot.app import create_app
from moot.db.mail import EmailOutbox
from moot.settings import Settings
from tls_cluster import CertificateAuthority

BASE = "http://moot.test:8536"
PASSWORD = "password-1234"
WAIT_SECONDS = 30.0


# ------------------------------------------------------------------ the SMTP server


@dataclass
class Mailbox:
    """What the loopback SMTP server received, one parsed message per recipient."""

    messages: list[tuple[str, EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((rcpt.lower(), message))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for rcpt, m in self.messages if rcpt == address.lower()]

    async def wait(self, address: str, count: int = 1) -> list[EmailMessage]:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            got = self.to(address)
            if len(got) >= count:
                return got
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail for {address} within {WAIT_SECONDS}s (got {len(self.to(address))})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def mailbox() -> Mailbox:
    return Mailbox()


class SmtpServer:
    """aiosmtpd's Controller on a fixed loopback port, which can be stopped and started again (a new Controller
    each time: one does not restart)."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(scope="module")
def smtp(mailbox: Mailbox) -> Iterator[SmtpServer]:
    server = SmtpServer(mailbox)
    server.start()
    yield server
    server.stop()


# ------------------------------------------------------------------ an app of this module's own


@pytest.fixture(scope="module")
def mail_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    db = new_database(tmp_path_factory.mktemp("email"))
    yield db
    drop_database(db)


@pytest.fixture(scope="module")
def mail_settings(mail_db: DatabaseUnderTest, smtp: SmtpServer) -> Settings:
    return replace(
        settings_for(mail_db),
        smtp_url=f"smtp://127.0.0.1:{smtp.port}",
        email_from="Moot Test <noreply@moot.test>",
        run_jobs=True,
        rank_interval_seconds=3600,
        # Retries come quickly here (the server-down test waits for one).
        email_retry_seconds=0.2,
    )


@pytest.fixture(scope="module")
async def mail_app(mail_settings: Settings) -> AsyncIterator[Any]:
    application = create_app(mail_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def web(mail_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=mail_app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


@pytest.fixture(scope="module")
async def boss(web: httpx.AsyncClient) -> Api:
    api = Api(client=web)
    data = await api.ok_post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
    api.jwt = data["jwt"]
    api.name = ADMIN_NAME
    await api.ok_put(
        "/site", {f"rate_limit_{b}": 100_000 for b in ("register", "post", "comment", "search", "message")}
    )
    return api


def address() -> str:
    return f"{unique('m')}@Example.ORG"


async def signup(web: httpx.AsyncClient, email: str | None = None) -> Api:
    api = Api(client=web)
    name = unique()
    body: dict[str, Any] = {"username": name, "password": PASSWORD, "password_verify": PASSWORD}
    if email is not None:
        body["email"] = email
    data = await api.ok_post("/user/register", body)
    api.jwt, api.name = data.get("jwt"), name
    if api.jwt:
        api.person_id = (await api.ok_get("/site"))["my_user"]["local_user_view"]["person"]["id"]
    return api


async def login(web: httpx.AsyncClient, name: str, password: str = PASSWORD) -> tuple[int, Any]:
    return await Api(client=web).post("/user/login", {"username_or_email": name, "password": password})


def link(message: EmailMessage, path: str) -> str:
    """The token of the first `{BASE}/{path}/TOKEN` link, found in the text part and checked in the HTML part."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    found = re.search(rf"{re.escape(BASE)}/{path}/([A-Za-z0-9_-]+)", text.get_content())
    assert found, text.get_content()
    assert f"{BASE}/{path}/{found.group(1)}" in html.get_content()
    return found.group(1)


async def outbox_rows(app: Any, to: str) -> int:
    async with app.state.moot.db.read() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(EmailOutbox).where(func.lower(EmailOutbox.to_address) == to.lower())
            )
            or 0
        )


# ------------------------------------------------------------------ email verification


async def test_sign_up_with_verification_mails_a_link_that_lets_the_account_log_in(
    web: httpx.AsyncClient, boss: Api, mailbox: Mailbox
) -> None:
    before = await signup(web)  # an account from before the rule
    try:
        await boss.ok_put("/site", {"require_email_verification": True})
        # Accounts made before the rule count as verified (as Lemmy): they still log in.
        assert (await login(web, before.name or ""))[0] == 200
        body = {"username": unique(), "password": PASSWORD, "password_verify": PASSWORD}
        assert await Api(client=web).post("/user/register", body) == (400, {"error": "email_required"})
        email = address()
        data = await Api(client=web).ok_post("/user/register", {**body, "email": email})
        assert data == {"registration_created": False, "verify_email_sent": True}
        assert await login(web, body["username"]) == (400, {"error": "email_not_verified"})

        [message] = await mailbox.wait(email.lower())
        assert message["Subject"] == "Please verify your email address for moot.test:8536"
        assert message["From"] == "Moot Test <noreply@moot.test>"
        assert f"@{body['username']}@moot.test:8536" in message.get_body(preferencelist=("plain",)).get_content()
        token = link(message, "verify_email")
        assert await Api(client=web).post("/user/verify_email", {"token": "not-a-token"}) == (
            400,
            {"error": "token_not_found"},
        )
        assert await Api(client=web).ok_post("/user/verify_email", {"token": token}) == {"success": True}
        status, logged_in = await login(web, email)
        assert status == 200 and logged_in["jwt"]
        me = Api(client=web, jwt=logged_in["jwt"])
        local_user = (await me.ok_get("/site"))["my_user"]["local_user_view"]["local_user"]
        assert local_user["email"] == email.lower() and local_user["email_verified"] is True
        # Single use.
        assert await Api(client=web).post("/user/verify_email", {"token": token}) == (
            400,
            {"error": "token_not_found"},
        )
    finally:
        await boss.ok_put("/site", {"require_email_verification": False})


async def test_a_new_address_waits_for_its_link_and_the_old_one_stays(
    web: httpx.AsyncClient, boss: Api, mailbox: Mailbox
) -> None:
    old, new = address(), address()
    user = await signup(web, old)
    try:
        await boss.ok_put("/site", {"require_email_verification": True})
        await user.ok_put("/user/save_user_settings", {"email": new})
        local_user = (await user.ok_get("/site"))["my_user"]["local_user_view"]["local_user"]
        assert local_user["email"] == old.lower()
        [message] = await mailbox.wait(new.lower())
        token = link(message, "verify_email")
        assert mailbox.to(old.lower()) == []
        # Until the link is followed, the old address is the one that logs in.
        assert (await login(web, old))[0] == 200
        await Api(client=web).ok_post("/user/verify_email", {"token": token})
        local_user = (await user.ok_get("/site"))["my_user"]["local_user_view"]["local_user"]
        assert local_user["email"] == new.lower()
        assert (await login(web, new))[0] == 200
        assert await login(web, old) == (401, {"error": "incorrect_login"})
    finally:
        await boss.ok_put("/site", {"require_email_verification": False})


# ------------------------------------------------------------------ password reset


async def test_password_reset_mails_a_single_use_link_and_ends_every_login(
    web: httpx.AsyncClient, boss: Api, mailbox: Mailbox
) -> None:
    email = address()
    user = await signup(web, email)
    anon = Api(client=web)
    # The answer never tells whether an address has an account.
    nobody = address()
    assert await anon.ok_post("/user/password_reset", {"email": nobody}) == {"success": True}
    assert await anon.ok_post("/user/password_reset", {"email": "not an address"}) == {"success": True}
    assert await anon.ok_post("/user/password_reset", {"email": email.upper()}) == {"success": True}
    [message] = await mailbox.wait(email.lower())
    assert message["Subject"] == f"Password reset request for {user.name}"
    token = link(message, "password_change")
    assert await outbox_rows(web._transport.app, nobody) == 0  # type: ignore[attr-defined]

    new_password = "a-new-password-99"
    change = {"token": token, "password": new_password, "password_verify": new_password}
    assert await anon.post("/user/password_change", {**change, "token": "nope"}) == (
        400,
        {"error": "token_not_found"},
    )
    assert await anon.post("/user/password_change", {**change, "password_verify": "something-else"}) == (
        400,
        {"error": "passwords_do_not_match"},
    )
    # A refused password leaves the token usable.
    assert await anon.ok_post("/user/password_change", change) == {"success": True}
    assert await user.get("/user/validate_auth") == (400, {"error": "not_logged_in"})
    assert await login(web, user.name or "") == (401, {"error": "incorrect_login"})
    assert (await login(web, user.name or "", new_password))[0] == 200
    assert await anon.post("/user/password_change", change) == (400, {"error": "token_not_found"})


async def test_password_reset_mails_an_address_at_most_three_times_a_day(
    web: httpx.AsyncClient, boss: Api, mailbox: Mailbox
) -> None:
    email = address()
    await signup(web, email)
    for _ in range(5):
        await Api(client=web).ok_post("/user/password_reset", {"email": email})
    await mailbox.wait(email.lower(), 3)
    assert await outbox_rows(web._transport.app, email) == 3  # type: ignore[attr-defined]


# ------------------------------------------------------------------ notifications and applications


async def test_replies_and_mentions_are_mailed_to_those_who_asked(
    web: httpx.AsyncClient, boss: Api, mailbox: Mailbox
) -> None:
    wants, quiet = address(), address()
    author = await signup(web, wants)
    await author.ok_put("/user/save_user_settings", {"send_notifications_to_email": True})
    bystander = await signup(web, quiet)
    replier = await signup(web)
    community = await make_community(boss)
    post = await make_post(author, community["id"])
    await replier.ok_post(
        "/comment",
        {"post_id": post["id"], "content": f"Hello! @{bystander.name}@moot.test:8536 look at **this**"},
    )
    [reply] = await mailbox.wait(wants.lower())
    assert reply["Subject"] == f"Reply from {replier.name}"
    assert "look at **this**" in reply.get_body(preferencelist=("plain",)).get_content()
    assert "<strong>this</strong>" in reply.get_body(preferencelist=("html",)).get_content()
    await bystander.ok_put("/user/save_user_settings", {"send_notifications_to_email": True})
    await replier.ok_post("/comment", {"post_id": post["id"], "content": f"again @{bystander.name}@moot.test:8536"})
    [mention] = await mailbox.wait(quiet.lower())
    assert mention["Subject"] == f"Mentioned by {replier.name}"
    # The first mention came while the bystander had not asked for mail: none was queued for it.
    assert await outbox_rows(web._transport.app, quiet) == 1  # type: ignore[attr-defined]


async def test_the_applicant_is_mailed_the_decision(web: httpx.AsyncClient, boss: Api, mailbox: Mailbox) -> None:
    approved, denied = address(), address()
    try:
        await boss.ok_put("/site", {"registration_mode": "RequireApplication", "application_question": "Why?"})
        for email in (approved, denied):
            body = {"username": unique(), "password": PASSWORD, "password_verify": PASSWORD, "email": email}
            data = await Api(client=web).ok_post("/user/register", {**body, "answer": "Because."})
            assert data == {"registration_created": True, "verify_email_sent": False}
        apps = (await boss.ok_get("/admin/registration_application/list", unread_only=True))[
            "registration_applications"
        ]
        by_email = {a["creator_local_user"]["email"]: a["registration_application"]["id"] for a in apps}
        await boss.ok_put(
            "/admin/registration_application/approve", {"id": by_email[approved.lower()], "approve": True}
        )
        await boss.ok_put(
            "/admin/registration_application/approve",
            {"id": by_email[denied.lower()], "approve": False, "deny_reason": "Not *today*."},
        )
    finally:
        await boss.ok_put("/site", {"registration_mode": "Open"})
    [yes] = await mailbox.wait(approved.lower())
    assert yes["Subject"].startswith("Registration approved for ")
    [no] = await mailbox.wait(denied.lower())
    assert no["Subject"].startswith("Registration denied for ")
    assert "<em>today</em>" in no.get_body(preferencelist=("html",)).get_content()


# ------------------------------------------------------------------ the queue


async def test_nothing_is_sent_when_the_transaction_rolls_back(
    web: httpx.AsyncClient, boss: Api, mailbox: Mailbox
) -> None:
    app = web._transport.app  # type: ignore[attr-defined]
    rolled_back, committed = address(), address()
    with pytest.raises(RuntimeError):
        async with app.state.moot.db.write() as session:
            await queue_email(session, rolled_back, "never", "never sent")
            raise RuntimeError("the change fails after the mail was queued")
    async with app.state.moot.db.write() as session:
        await queue_email(session, committed, "sent", "sent after the commit")
    [message] = await mailbox.wait(committed)
    assert message["Subject"] == "sent"
    assert await outbox_rows(app, rolled_back) == 0
    assert mailbox.to(rolled_back) == []
    # A refused request queues nothing either: a sign-up refused after its checks began.
    email = address()
    body = {"username": "x", "password": PASSWORD, "password_verify": PASSWORD, "email": email}
    assert (await Api(client=web).post("/user/register", body))[0] == 400
    assert await outbox_rows(app, email) == 0


async def test_a_mail_waits_while_the_server_is_down_and_arrives_later(
    web: httpx.AsyncClient, boss: Api, mailbox: Mailbox, smtp: SmtpServer
) -> None:
    app = web._transport.app  # type: ignore[attr-defined]
    email = address()
    smtp.stop()
    try:
        async with app.state.moot.db.write() as session:
            await queue_email(session, email, "patience", "it arrives in the end")
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            async with app.state.moot.db.read() as session:
                row = await session.scalar(select(EmailOutbox).where(EmailOutbox.to_address == email))
            assert row is not None
            if row.attempts >= 2 and row.last_error:
                break
            assert time.monotonic() < deadline, "the mail job did not try to send"
            await asyncio.sleep(0.05)
        assert row.sent is None
    finally:
        smtp.start()
    [message] = await mailbox.wait(email.lower())
    assert message["Subject"] == "patience"
    # The server has the mail; the job marks it sent just after, in its own transaction.
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        async with app.state.moot.db.read() as session:
            row = await session.scalar(select(EmailOutbox).where(EmailOutbox.to_address == email))
        assert row is not None
        if row.sent is not None:
            break
        assert time.monotonic() < deadline, "the mail job did not mark the mail sent"
        await asyncio.sleep(0.05)
    assert row.last_error is None


# ------------------------------------------------------------------ the pages behind the links


def browser(app: Any) -> httpx.AsyncClient:
    """A browser of its own (its cookies, its CSRF token), from another address than the API clients."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.9", 40000))
    return httpx.AsyncClient(transport=transport, base_url=BASE)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def test_the_pages_reset_a_password_and_verify_an_address_without_javascript(
    web: httpx.AsyncClient, boss: Api, mailbox: Mailbox
) -> None:
    app = web._transport.app  # type: ignore[attr-defined]
    email = address()
    user = await signup(web, email)
    async with browser(app) as page:
        login_page = await page.get("/login")
        assert 'href="/password_reset"' in login_page.text
        form = await page.get("/password_reset")
        assert form.status_code == 200 and 'name="email"' in form.text
        # Without the CSRF token, refused.
        assert (await page.post("/password_reset", data={"email": email})).status_code == 403
        sent = await page.post("/password_reset", data={"email": email, "csrf_token": csrf_of(form)})
        assert sent.status_code == 200 and "is on its way" in sent.text
        [message] = await mailbox.wait(email.lower())
        token = link(message, "password_change")
        change_page = await page.get(f"/password_change/{token}")
        assert change_page.status_code == 200 and 'name="password_verify"' in change_page.text
        fields = {"password": "from-the-page-123", "csrf_token": csrf_of(change_page)}
        refused = await page.post(f"/password_change/{token}", data={**fields, "password_verify": "other-one-123"})
        assert refused.status_code == 400 and 'role="alert"' in refused.text
        done = await page.post(f"/password_change/{token}", data={**fields, "password_verify": "from-the-page-123"})
        assert done.status_code in (302, 303) and done.headers["location"].startswith("/login")
        again = await page.post(f"/password_change/{token}", data={**fields, "password_verify": "from-the-page-123"})
        assert again.status_code == 400 and "not valid" in again.text
    # The reset ended the old login; a new one works with the new password.
    assert await user.get("/user/validate_auth") == (400, {"error": "not_logged_in"})
    status, logged_in = await login(web, user.name or "", "from-the-page-123")
    assert status == 200
    user.jwt = logged_in["jwt"]

    new = address()
    try:
        await boss.ok_put("/site", {"require_email_verification": True})
        await user.ok_put("/user/save_user_settings", {"email": new})
        [message] = await mailbox.wait(new.lower())
        token = link(message, "verify_email")
        async with browser(app) as page:
            # Opening the link uses nothing up (a mail scanner may open it): the button does.
            shown = await page.get(f"/verify_email/{token}")
            assert shown.status_code == 200 and "Verify my email" in shown.text
            assert (await login(web, new))[0] == 401
            verified = await page.post(f"/verify_email/{token}", data={"csrf_token": csrf_of(shown)})
            assert verified.status_code == 200 and "Email verified" in verified.text
        assert (await login(web, new, "from-the-page-123"))[0] == 200
    finally:
        await boss.ok_put("/site", {"require_email_verification": False})


# ------------------------------------------------------------------ TLS and STARTTLS


@pytest.fixture(scope="module")
def tls_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    db = new_database(tmp_path_factory.mktemp("email_tls"))
    yield db
    drop_database(db)


@pytest.mark.parametrize("mode", ["starttls", "smtps", "untrusted"])
async def test_mail_goes_over_tls_or_starttls_and_the_certificate_is_checked(
    mode: str, tls_db: DatabaseUnderTest, tmp_path: Any
) -> None:
    ca = CertificateAuthority.create(tmp_path / "ca", "smtp")
    cert, key = ca.issue("localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    box, port = Mailbox(), free_port()
    if mode == "smtps":
        controller = Controller(box, hostname="127.0.0.1", port=port, ssl_context=server_context)
        url = f"smtps://localhost:{port}?ca_file={ca.pem}"
    else:
        # The server refuses mail until the client has switched to TLS.
        controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=server_context, require_starttls=True)
        trusted = f"&ca_file={ca.pem}" if mode == "starttls" else ""
        url = f"smtp://localhost:{port}?starttls=true{trusted}"
    controller.start()
    settings = replace(
        settings_for(tls_db), smtp_url=url, run_jobs=True, rank_interval_seconds=3600, email_retry_seconds=60
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            email = address()
            async with app.state.moot.db.write() as session:
                await queue_email(session, email, f"over {mode}", "sealed")
            if mode != "untrusted":
                [message] = await box.wait(email.lower())
                assert message["Subject"] == f"over {mode}"
                return
            # A certificate from an authority nobody named is refused: the mail waits, with the reason.
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                async with app.state.moot.db.read() as session:
                    row = await session.scalar(select(EmailOutbox).where(EmailOutbox.to_address == email))
                if row is not None and row.last_error:
                    break
                assert time.monotonic() < deadline, "the mail job did not try to send"
                await asyncio.sleep(0.05)
            assert "certificate" in row.last_error.lower() and row.sent is None
            assert box.to(email.lower()) == []
    finally:
        controller.stop()
