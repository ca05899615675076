"""Private messages through the v3 API (issue 12): create, edit, delete, mark read, list, unread counts, blocks,
the access gate, content rules, reports; and that nobody else ever reads them."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import func, select, update

from conftest import Api, register, unique
from lemmy_shapes import assert_shape
from moot.actions.instances import get_or_create_instance
from moot.db.federation import SentActivity
from moot.db.person import Person
from moot.domain.timefmt import utcnow
from moot.federation.routes import _AP_PATH

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def send(sender: Api, recipient: Api, content: str) -> dict[str, Any]:
    data = await sender.ok_post("/private_message", {"recipient_id": recipient.person_id, "content": content})
    assert_shape(data, "PrivateMessageResponse")
    return data["private_message_view"]


async def listed(api: Api, **params: Any) -> list[dict[str, Any]]:
    data = await api.ok_get("/private_message/list", **params)
    assert_shape(data, "PrivateMessagesResponse")
    return list(data["private_messages"])


async def unread(api: Api) -> int:
    data = await api.ok_get("/user/unread_count")
    assert_shape(data, "GetUnreadCountResponse")
    return int(data["private_messages"])


async def test_send_list_and_read(user: Api, other: Api) -> None:
    view = await send(user, other, "hello **there**")
    pm = view["private_message"]
    assert (pm["creator_id"], pm["recipient_id"], pm["content"]) == (user.person_id, other.person_id, "hello **there**")
    assert (pm["deleted"], pm["read"], pm["local"]) == (False, False, True)
    assert pm["ap_id"].endswith(f"/private_message/{pm['id']}")
    assert "updated" not in pm
    assert (view["creator"]["id"], view["recipient"]["id"]) == (user.person_id, other.person_id)

    assert await unread(other) == 1
    assert await unread(user) == 0
    # Both see it; the sender sees it as read (the column is the recipient's).
    [received] = await listed(other)
    [sent] = await listed(user)
    assert received["private_message"]["id"] == sent["private_message"]["id"] == pm["id"]
    assert (received["private_message"]["read"], sent["private_message"]["read"]) == (False, True)
    assert [v["private_message"]["id"] for v in await listed(other, unread_only=True)] == [pm["id"]]
    assert await listed(user, unread_only=True) == []

    # Only the recipient marks it read.
    status, data = await user.post("/private_message/mark_as_read", {"private_message_id": pm["id"], "read": True})
    assert (status, data["error"]) == (400, "couldnt_update_private_message")
    data = await other.ok_post("/private_message/mark_as_read", {"private_message_id": pm["id"], "read": True})
    assert data["private_message_view"]["private_message"]["read"] is True
    assert await unread(other) == 0
    assert await listed(other, unread_only=True) == []
    await other.ok_post("/private_message/mark_as_read", {"private_message_id": pm["id"], "read": False})
    assert await unread(other) == 1


async def test_newest_first_and_conversations(http: httpx.AsyncClient, user: Api, other: Api) -> None:
    third = await register(http)
    first = await send(user, other, "one")
    second = await send(other, user, "two")
    to_third = await send(user, third, "three")
    ids = [v["private_message"]["id"] for v in await listed(user)]
    assert ids == [to_third["private_message"]["id"], second["private_message"]["id"], first["private_message"]["id"]]
    # `creator_id`: the conversation with that person, both ways, nothing else.
    with_other = [v["private_message"]["id"] for v in await listed(user, creator_id=other.person_id)]
    assert with_other == [second["private_message"]["id"], first["private_message"]["id"]]
    assert [v["private_message"]["id"] for v in await listed(third, creator_id=user.person_id)] == [
        to_third["private_message"]["id"]
    ]
    # The third person never sees the first two, even naming their sender.
    assert [v["private_message"]["content"] for v in await listed(third)] == ["three"]
    assert await listed(third, creator_id=other.person_id) == []
    # Paging.
    assert len(await listed(user, limit=2)) == 2
    assert [v["private_message"]["id"] for v in await listed(user, limit=2, page=2)] == [first["private_message"]["id"]]
    status, data = await user.get("/private_message/list", limit=51)
    assert (status, data["error"]) == (400, "unknown")


async def test_only_the_creator_edits_and_deletes(user: Api, other: Api) -> None:
    pm = (await send(user, other, "first words"))["private_message"]
    status, data = await other.put("/private_message", {"private_message_id": pm["id"], "content": "forged"})
    assert (status, data["error"]) == (400, "edit_private_message_not_allowed")
    status, data = await other.post("/private_message/delete", {"private_message_id": pm["id"], "deleted": True})
    assert (status, data["error"]) == (400, "edit_private_message_not_allowed")

    edited = (await user.ok_put("/private_message", {"private_message_id": pm["id"], "content": "second words"}))[
        "private_message_view"
    ]["private_message"]
    assert edited["content"] == "second words" and "updated" in edited
    assert (await listed(other))[0]["private_message"]["content"] == "second words"

    data = await user.ok_post("/private_message/delete", {"private_message_id": pm["id"], "deleted": True})
    assert data["private_message_view"]["private_message"]["deleted"] is True
    # A deleted message leaves both lists and the unread count (as Lemmy 0.19).
    assert await listed(other) == [] and await listed(user) == []
    assert await unread(other) == 0
    await user.ok_post("/private_message/delete", {"private_message_id": pm["id"], "deleted": False})
    assert [v["private_message"]["id"] for v in await listed(other)] == [pm["id"]]
    assert await unread(other) == 1


async def test_missing_messages(user: Api) -> None:
    for method, path, body in (
        ("PUT", "/private_message", {"private_message_id": 2_000_000_000, "content": "x"}),
        ("POST", "/private_message/delete", {"private_message_id": 2_000_000_000, "deleted": True}),
        ("POST", "/private_message/mark_as_read", {"private_message_id": 2_000_000_000, "read": True}),
        ("POST", "/private_message/report", {"private_message_id": 2_000_000_000, "reason": "r"}),
    ):
        status, data = await (user.put(path, body) if method == "PUT" else user.post(path, body))
        assert (status, data["error"]) == (404, "couldnt_find_private_message"), path
    status, data = await user.post("/private_message", {"recipient_id": 2_000_000_000, "content": "x"})
    assert (status, data["error"]) == (400, "couldnt_create_private_message")


async def test_logins_required(anon: Api) -> None:
    status, data = await anon.get("/private_message/list")
    assert (status, data["error"]) == (401, "not_logged_in")
    status, data = await anon.post("/private_message", {"recipient_id": 1, "content": "x"})
    assert (status, data["error"]) == (401, "not_logged_in")


async def test_blocks(user: Api, other: Api) -> None:
    before = await send(user, other, "before the block")
    await other.ok_post("/user/block", {"person_id": user.person_id, "block": True})
    try:
        status, data = await user.post("/private_message", {"recipient_id": other.person_id, "content": "let me in"})
        assert (status, data["error"]) == (400, "person_is_blocked")
        # What came before is hidden from the one who blocks, and not counted.
        assert await listed(other) == []
        assert await unread(other) == 0
        # The blocked one still sees what they sent; the other way still works.
        assert [v["private_message"]["id"] for v in await listed(user)] == [before["private_message"]["id"]]
        await send(other, user, "I may still write")
    finally:
        await other.ok_post("/user/block", {"person_id": user.person_id, "block": False})
    await send(user, other, "after the block")
    assert await unread(other) == 2


async def test_site_banned_people_cannot_send(app: Any, user: Api, other: Api) -> None:
    pm = (await send(user, other, "before the ban"))["private_message"]
    async with app.state.moot.db.write() as session:
        await session.execute(update(Person).where(Person.id == user.person_id).values(banned=True))
    try:
        status, data = await user.post("/private_message", {"recipient_id": other.person_id, "content": "x"})
        assert (status, data["error"]) == (400, "site_ban")
        status, data = await user.put("/private_message", {"private_message_id": pm["id"], "content": "y"})
        assert (status, data["error"]) == (400, "site_ban")
    finally:
        async with app.state.moot.db.write() as session:
            await session.execute(update(Person).where(Person.id == user.person_id).values(banned=False))
    assert (await listed(other))[0]["private_message"]["content"] == "before the ban"


async def test_content_rules(admin: Api, user: Api, other: Api) -> None:
    for content in ("", "   \n ", "x" * 10_001):
        status, data = await user.post("/private_message", {"recipient_id": other.person_id, "content": content})
        assert (status, data["error"]) == (400, "invalid_body_field"), content[:10]
    assert len((await send(user, other, "x" * 10_000))["private_message"]["content"]) == 10_000
    await admin.ok_put("/site", {"slur_filter_regex": "(frobnicat\\w*)", "blocked_urls": ["blocked.example"]})
    try:
        pm = (await send(user, other, "you frobnicator"))["private_message"]
        assert pm["content"] == "you *removed*"
        status, data = await user.post(
            "/private_message", {"recipient_id": other.person_id, "content": "see https://blocked.example/x"}
        )
        assert (status, data["error"]) == (400, "blocked_url")
        status, data = await user.put(
            "/private_message", {"private_message_id": pm["id"], "content": "https://blocked.example/y"}
        )
        assert (status, data["error"]) == (400, "blocked_url")
    finally:
        await admin.ok_put("/site", {"slur_filter_regex": "", "blocked_urls": []})


async def test_mark_all_as_read(user: Api, other: Api) -> None:
    await send(user, other, "a")
    await send(user, other, "b")
    assert await unread(other) == 2
    await other.ok_post("/user/mark_all_as_read")
    assert await unread(other) == 0
    assert all(v["private_message"]["read"] for v in await listed(other))


async def test_private_messages_stay_private(http: httpx.AsyncClient, admin: Api, user: Api, other: Api) -> None:
    word = unique("secret")
    pm = (await send(user, other, f"the {word} word"))["private_message"]
    outsider = await register(http)
    # Not readable by anyone else, not even an admin, through any endpoint they could name it with.
    assert await listed(outsider) == []
    assert await listed(outsider, creator_id=user.person_id) == []
    assert word not in str(await listed(admin, creator_id=user.person_id))
    for api in (outsider, admin):
        status, data = await api.post("/private_message/mark_as_read", {"private_message_id": pm["id"], "read": True})
        assert (status, data["error"]) == (400, "couldnt_update_private_message")
        status, data = await api.put("/private_message", {"private_message_id": pm["id"], "content": "x"})
        assert (status, data["error"]) == (400, "edit_private_message_not_allowed")
    # Not in search, the sender's profile or the site's feeds.
    for api in (outsider, user, admin.as_anonymous()):
        status, data = await api.get("/search", q=word, type_="All")
        assert status == 200 and word not in str(data)
    details = await outsider.ok_get("/user", person_id=user.person_id)
    assert word not in str(details)
    for path in (f"/feeds/u/{user.name}.xml", "/feeds/all.xml"):
        response = await http.get(path)
        assert word not in response.text
    # Nor in the sender's ActivityPub outbox.
    response = await http.get(f"/u/{user.name}/outbox", headers={"Accept": "application/activity+json"})
    assert word not in response.text


async def test_reports(admin: Api, user: Api, other: Api) -> None:
    pm = (await send(user, other, "rude words"))["private_message"]
    # Only the recipient reports.
    status, data = await user.post("/private_message/report", {"private_message_id": pm["id"], "reason": "mine"})
    assert (status, data["error"]) == (400, "couldnt_create_report")
    status, data = await other.post("/private_message/report", {"private_message_id": pm["id"], "reason": " "})
    assert (status, data["error"]) == (400, "report_reason_required")
    status, data = await other.post("/private_message/report", {"private_message_id": pm["id"], "reason": "x" * 1001})
    assert (status, data["error"]) == (400, "report_too_long")

    before = await admin.ok_get("/user/report_count")
    assert_shape(before, "GetReportCountResponse")
    data = await other.ok_post("/private_message/report", {"private_message_id": pm["id"], "reason": " rude "})
    assert_shape(data, "PrivateMessageReportResponse")
    view = data["private_message_report_view"]
    report = view["private_message_report"]
    assert (report["reason"], report["original_pm_text"], report["resolved"]) == ("rude", "rude words", False)
    assert (view["creator"]["id"], view["private_message_creator"]["id"]) == (other.person_id, user.person_id)
    assert "resolver" not in view
    # Once.
    status, data = await other.post("/private_message/report", {"private_message_id": pm["id"], "reason": "again"})
    assert (status, data["error"]) == (400, "couldnt_create_report")
    # The report keeps the text as it read when reported.
    await user.ok_put("/private_message", {"private_message_id": pm["id"], "content": "nice words"})

    after = await admin.ok_get("/user/report_count")
    assert after["private_message_reports"] == before["private_message_reports"] + 1
    # Admins only.
    for api in (user, other):
        status, data = await api.get("/private_message/report/list")
        assert (status, data["error"]) == (400, "not_an_admin")
        status, data = await api.put("/private_message/report/resolve", {"report_id": report["id"], "resolved": True})
        assert (status, data["error"]) == (400, "not_an_admin")
    status, data = await other.get("/user/report_count")
    assert status == 400 or "private_message_reports" not in data

    listing = await admin.ok_get("/private_message/report/list", unresolved_only=True, limit=50)
    assert_shape(listing, "ListPrivateMessageReportsResponse")
    [found] = [v for v in listing["private_message_reports"] if v["private_message_report"]["id"] == report["id"]]
    assert found["private_message_report"]["original_pm_text"] == "rude words"
    assert found["private_message"]["content"] == "nice words"

    data = await admin.ok_put("/private_message/report/resolve", {"report_id": report["id"], "resolved": True})
    resolved = data["private_message_report_view"]
    assert resolved["private_message_report"]["resolved"] is True
    assert resolved["resolver"]["id"] == admin.person_id
    assert (await admin.ok_get("/user/report_count"))["private_message_reports"] == before["private_message_reports"]
    listing = await admin.ok_get("/private_message/report/list", unresolved_only=True, limit=50)
    assert report["id"] not in [v["private_message_report"]["id"] for v in listing["private_message_reports"]]
    everything = await admin.ok_get("/private_message/report/list", limit=50)
    assert report["id"] in [v["private_message_report"]["id"] for v in everything["private_message_reports"]]
    status, data = await admin.put("/private_message/report/resolve", {"report_id": 2_000_000_000, "resolved": True})
    assert (status, data["error"]) == (404, "couldnt_find_private_message_report")
    # A report count for one community leaves private messages out.
    assert "private_message_reports" not in await admin.ok_get("/user/report_count", community_id=1)


async def test_a_message_to_a_remote_person_goes_to_their_inbox_only(
    app: Any, http: httpx.AsyncClient, user: Api
) -> None:
    """The Create{ChatMessage} is recorded for the recipient's inbox alone, `to` them, never Public, and is not
    served at its id (Lemmy's sensitive activities)."""
    host = f"{unique('far')}.example"
    remote_ap_id = f"https://{host}/u/zed"
    async with app.state.moot.db.write() as session:
        instance_id = await get_or_create_instance(session, host)
        remote = Person(
            name="zed",
            ap_id=remote_ap_id,
            local=False,
            instance_id=instance_id,
            inbox_url=f"{remote_ap_id}/inbox",
            shared_inbox_url=f"https://{host}/inbox",
            published=utcnow(),
        )
        session.add(remote)
        await session.flush()
        remote_id = remote.id
    async with app.state.moot.db.read() as session:
        before = await session.scalar(select(func.max(SentActivity.id))) or 0
    pm = (await user.ok_post("/private_message", {"recipient_id": remote_id, "content": "far away"}))[
        "private_message_view"
    ]["private_message"]
    await user.ok_put("/private_message", {"private_message_id": pm["id"], "content": "far, far away"})
    await user.ok_post("/private_message/delete", {"private_message_id": pm["id"], "deleted": True})
    await user.ok_post("/private_message/delete", {"private_message_id": pm["id"], "deleted": False})
    async with app.state.moot.db.read() as session:
        rows = (
            await session.scalars(
                # This message's own (on SQLite a purged row's id, and so its ap_id, is used again).
                select(SentActivity)
                .where(SentActivity.id > before, SentActivity.data.contains(f'"{pm["ap_id"]}"'))
                .order_by(SentActivity.id)
            )
        ).all()
    sent = [json.loads(r.data) for r in rows]
    assert [a["type"] for a in sent] == ["Create", "Update", "Delete", "Undo"]
    for activity, row in zip(sent, rows, strict=True):
        assert activity["to"] == [remote_ap_id] and activity.get("cc") == []
        assert PUBLIC not in json.dumps(activity)
        assert json.loads(row.send_inboxes) == [f"https://{host}/inbox"]
        assert (row.send_community_followers_of, row.send_all_instances) == (None, False)
    create = sent[0]["object"]
    assert create["type"] == "ChatMessage" and create["attributedTo"].endswith(f"/u/{user.name}")
    assert (create["id"], create["to"], create["source"]["content"]) == (pm["ap_id"], [remote_ap_id], "far away")
    assert sent[2]["object"] == pm["ap_id"] and sent[3]["object"]["type"] == "Delete"
    # Not served to anyone at its id, nor the message itself.
    for activity in sent:
        path = "/" + activity["id"].split("://", 1)[1].split("/", 1)[1]
        assert _AP_PATH.match(path)  # a path where activities are served: refused by the rule, not the route
        response = await http.get(path, headers={"Accept": "application/activity+json"})
        assert response.status_code == 404, activity["type"]
        assert "far away" not in response.text
    response = await http.get(f"/private_message/{pm['id']}", headers={"Accept": "application/activity+json"})
    assert "far away" not in response.text and response.status_code == 404
