"""Private message pages over plain HTTP, without JavaScript: the "Send message" link on a profile, the
conversation with its reply form, the conversations list from the inbox, delete and mark read, CSRF, and that
nobody else reads a conversation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from conftest import Api
from web.conftest import Browser, new_browser
from web.dom import Element, parse


@pytest.fixture
async def friend(web_app: Any) -> AsyncIterator[Browser]:
    b = new_browser(web_app)
    await b.signup()
    yield b
    await b.close()


async def person_id(api: Api, name: str | None) -> int:
    return int((await api.ok_get("/user", username=name))["person_view"]["person"]["id"])


async def page(browser: Browser, path: str, status: int = 200) -> Element:
    response = await browser.get(path)
    assert response.status_code == status, (path, response.status_code, response.text[:1500])
    return parse(response.text)


async def test_write_from_a_profile_and_answer(admin: Api, member: Browser, friend: Browser) -> None:
    friend_id, member_id = await person_id(admin, friend.name), await person_id(admin, member.name)
    profile = await page(member, f"/u/{friend.name}")
    link = profile.find("a", href=f"/messages/{friend_id}")
    assert link.text() == "Send message"
    # Your own profile offers no message to yourself.
    own = await member.get(f"/u/{member.name}")
    assert f'href="/messages/{member_id}"' not in own.text

    conversation = await page(member, f"/messages/{friend_id}")
    conversation.find("form", action=f"/messages/{friend_id}")
    sent = await member.submit(f"/messages/{friend_id}", f"/messages/{friend_id}", {"content": "hello *friend*"})
    assert sent.headers["location"] == f"/messages/{friend_id}"
    shown = await member.follow(sent)
    assert "<em>friend</em>" in shown.text

    # The friend finds it from the inbox, unread, and answers.
    inbox = await page(friend, "/inbox")
    inbox.find("a", href="/messages")
    listing = await page(friend, "/messages")
    entry = listing.find("a", href=f"/messages/{member_id}")
    assert member.name is not None and member.name in entry.text()
    assert "1 unread" in listing.text()
    theirs = await page(friend, f"/messages/{member_id}")
    assert "hello" in theirs.text()
    [read_form] = [f for f in theirs.find_all("form") if f.attrs.get("action", "").endswith("/read")]
    await friend.submit(f"/messages/{member_id}", read_form.attrs["action"], {"read": "1"})
    assert "unread" not in (await page(friend, "/messages")).text()
    await friend.submit(f"/messages/{member_id}", f"/messages/{member_id}", {"content": "hello back"})
    both = (await page(member, f"/messages/{friend_id}")).text()
    assert both.index("hello friend") < both.index("hello back")  # oldest first


async def test_errors_keep_the_draft_and_delete_works(admin: Api, member: Browser, friend: Browser) -> None:
    friend_id = await person_id(admin, friend.name)
    await member.get(f"/messages/{friend_id}")
    refused = await member.post(f"/messages/{friend_id}", {"content": "x" * 10_001})
    assert refused.status_code == 400
    doc = parse(refused.text)
    assert doc.find("div", cls="error").text()
    assert doc.find("textarea", name="content").text().strip() == "x" * 10_001

    await member.submit(f"/messages/{friend_id}", f"/messages/{friend_id}", {"content": "soon gone"})
    doc = await page(member, f"/messages/{friend_id}")
    [delete] = [f for f in doc.find_all("form") if f.attrs.get("action", "").endswith("/delete")]
    await member.submit(f"/messages/{friend_id}", delete.attrs["action"], {"deleted": "1"})
    assert "soon gone" not in (await page(member, f"/messages/{friend_id}")).text()


async def test_csrf_login_and_privacy(web_app: Any, admin: Api, member: Browser, friend: Browser) -> None:
    friend_id, member_id = await person_id(admin, friend.name), await person_id(admin, member.name)
    await member.get(f"/messages/{friend_id}")
    forged = await member.post(f"/messages/{friend_id}", {"content": "forged"}, token="not-a-token")
    assert forged.status_code == 403
    await member.submit(f"/messages/{friend_id}", f"/messages/{friend_id}", {"content": "between us two"})

    anonymous = new_browser(web_app)
    outsider = new_browser(web_app)
    try:
        for path in ("/messages", f"/messages/{friend_id}"):
            response = await anonymous.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/login")
        await outsider.signup()
        # An outsider opening a conversation with either of them sees only their own (empty) one.
        for other in (friend_id, member_id):
            assert "between us two" not in (await page(outsider, f"/messages/{other}")).text()
        assert "between us two" not in (await page(outsider, "/messages")).text()
        # Nor may they delete or mark the message.
        doc = await page(friend, f"/messages/{member_id}")
        [read_form] = [f for f in doc.find_all("form") if f.attrs.get("action", "").endswith("/read")]
        message_path = read_form.attrs["action"].rsplit("/", 1)[0]
        await outsider.get("/messages")
        for action, data in (("delete", {"deleted": "1"}), ("read", {"read": "1"})):
            response = await outsider.post(f"{message_path}/{action}", data)
            assert response.status_code == 400, response.text[:500]
        assert "between us two" in (await page(friend, f"/messages/{member_id}")).text()
    finally:
        await anonymous.close()
        await outsider.close()
