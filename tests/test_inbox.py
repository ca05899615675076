"""The inbox over the v3 API: replies, mentions, unread counts and marking read, as Lemmy 0.19 fills them."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import HOSTNAME, Api, make_comment, make_community, make_post, register
from lemmy_shapes import assert_shape
from moot.domain.mentions import scrape_mentions


async def _post_by(api: Api) -> dict[str, Any]:
    community = await make_community(api)
    return await make_post(api, community["id"])


async def _local_user_id(api: Api) -> int:
    site = await api.ok_get("/site")
    local_user_id: int = site["my_user"]["local_user_view"]["local_user"]["id"]
    return local_user_id


async def _replies(api: Api, **params: Any) -> list[dict[str, Any]]:
    data = await api.ok_get("/user/replies", **params)
    assert_shape(data, "GetRepliesResponse")
    replies: list[dict[str, Any]] = data["replies"]
    return replies


async def _mentions(api: Api, **params: Any) -> list[dict[str, Any]]:
    data = await api.ok_get("/user/mention", **params)
    assert_shape(data, "GetPersonMentionsResponse")
    mentions: list[dict[str, Any]] = data["mentions"]
    return mentions


async def _unread(api: Api) -> tuple[int, int]:
    data = await api.ok_get("/user/unread_count")
    assert_shape(data, "GetUnreadCountResponse")
    assert data["private_messages"] == 0
    return data["replies"], data["mentions"]


def _mention_of(api: Api) -> str:
    return f"@{api.name}@{HOSTNAME}"


async def test_inbox_requires_login(anon: Api) -> None:
    for path in ("/user/replies", "/user/mention", "/user/unread_count"):
        status, data = await anon.get(path)
        assert status in (400, 401) and data["error"] == "not_logged_in", path


async def test_reply_to_comment_reaches_parent_author(user: Api, other: Api) -> None:
    post = await _post_by(other)
    parent = await make_comment(user, post["id"], "parent")
    data = await other.ok_post("/comment", {"post_id": post["id"], "content": "answer", "parent_id": parent["id"]})
    assert data["recipient_ids"] == [await _local_user_id(user)]
    replies = await _replies(user)
    assert len(replies) == 1
    reply = replies[0]
    assert reply["comment"]["id"] == data["comment_view"]["comment"]["id"]
    assert reply["comment_reply"]["recipient_id"] == user.person_id
    assert reply["comment_reply"]["read"] is False
    assert reply["recipient"]["id"] == user.person_id
    assert reply["creator"]["id"] == other.person_id
    assert await _unread(user) == (1, 0)


async def test_top_level_comment_reaches_post_author(user: Api, other: Api) -> None:
    post = await _post_by(user)
    comment = await make_comment(other, post["id"], "nice post")
    replies = await _replies(user)
    assert [r["comment"]["id"] for r in replies] == [comment["id"]]
    assert await _unread(user) == (1, 0)
    assert await _replies(other) == []


async def test_replying_to_yourself_notifies_nobody(user: Api) -> None:
    post = await _post_by(user)
    data = await user.ok_post("/comment", {"post_id": post["id"], "content": "my own post"})
    assert data["recipient_ids"] == []
    await make_comment(user, post["id"], "my own comment", parent_id=data["comment_view"]["comment"]["id"])
    assert await _replies(user) == []
    assert await _unread(user) == (0, 0)


async def test_mention_reaches_mentioned_person(user: Api, other: Api, http: httpx.AsyncClient) -> None:
    third = await register(http)
    post = await _post_by(user)
    content = f"hey {_mention_of(third)}, look at this"
    data = await other.ok_post("/comment", {"post_id": post["id"], "content": content})
    assert sorted(data["recipient_ids"]) == sorted([await _local_user_id(user), await _local_user_id(third)])
    mentions = await _mentions(third)
    assert len(mentions) == 1
    mention = mentions[0]
    assert mention["person_mention"]["recipient_id"] == third.person_id
    assert mention["person_mention"]["read"] is False
    assert mention["comment"]["content"] == content
    assert await _unread(third) == (0, 1)
    # The post's author gets the reply, not a mention.
    assert await _unread(user) == (1, 0)
    assert await _mentions(user) == []


async def test_mention_of_remote_or_unknown_or_self_is_ignored(user: Api, other: Api) -> None:
    post = await _post_by(other)
    content = f"{_mention_of(user)} @{user.name}@elsewhere.example @nobody_here_xyz@{HOSTNAME}"
    await make_comment(user, post["id"], content)
    assert await _mentions(user) == []
    assert await _unread(user) == (0, 0)


async def test_mentioning_the_reply_recipient_notifies_once(user: Api, other: Api) -> None:
    post = await _post_by(user)
    data = await other.ok_post("/comment", {"post_id": post["id"], "content": f"thanks {_mention_of(user)}"})
    assert data["recipient_ids"] == [await _local_user_id(user)]
    # Lemmy sends the mention first and then skips the reply to someone already notified.
    assert len(await _mentions(user)) == 1
    assert await _replies(user) == []
    assert await _unread(user) == (0, 1)


async def test_edit_adds_new_mentions_once(user: Api, other: Api) -> None:
    post = await _post_by(user)
    comment = await make_comment(user, post["id"], "no mention yet")
    data = await user.ok_put("/comment", {"comment_id": comment["id"], "content": f"now {_mention_of(other)}"})
    assert data["recipient_ids"] == [await _local_user_id(other)]
    await user.ok_put("/comment", {"comment_id": comment["id"], "content": f"again {_mention_of(other)}"})
    assert len(await _mentions(other)) == 1


async def test_mark_reply_read_and_unread(user: Api, other: Api) -> None:
    post = await _post_by(user)
    await make_comment(other, post["id"], "first")
    await make_comment(other, post["id"], "second")
    assert await _unread(user) == (2, 0)
    reply_id = (await _replies(user))[0]["comment_reply"]["id"]
    data = await user.ok_post("/comment/mark_as_read", {"comment_reply_id": reply_id, "read": True})
    assert_shape(data, "CommentReplyResponse")
    assert data["comment_reply_view"]["comment_reply"]["read"] is True
    assert await _unread(user) == (1, 0)
    unread = await _replies(user, unread_only=True)
    assert len(unread) == 1 and unread[0]["comment_reply"]["id"] != reply_id
    assert len(await _replies(user)) == 2
    data = await user.ok_post("/comment/mark_as_read", {"comment_reply_id": reply_id, "read": False})
    assert data["comment_reply_view"]["comment_reply"]["read"] is False
    assert await _unread(user) == (2, 0)


async def test_mark_reply_read_by_someone_else_refused(user: Api, other: Api) -> None:
    post = await _post_by(user)
    await make_comment(other, post["id"], "hello")
    reply_id = (await _replies(user))[0]["comment_reply"]["id"]
    status, data = await other.post("/comment/mark_as_read", {"comment_reply_id": reply_id, "read": True})
    assert (status, data) == (400, {"error": "couldnt_update_comment"})
    status, data = await user.post("/comment/mark_as_read", {"comment_reply_id": 999_999_999, "read": True})
    assert (status, data) == (404, {"error": "couldnt_find_comment_reply"})
    assert await _unread(user) == (1, 0)


async def test_mark_mention_read(user: Api, other: Api) -> None:
    post = await _post_by(other)
    await make_comment(other, post["id"], f"ping {_mention_of(user)}")
    mention_id = (await _mentions(user))[0]["person_mention"]["id"]
    status, data = await other.post("/user/mention/mark_as_read", {"person_mention_id": mention_id, "read": True})
    assert (status, data) == (400, {"error": "couldnt_update_comment"})
    data = await user.ok_post("/user/mention/mark_as_read", {"person_mention_id": mention_id, "read": True})
    assert_shape(data, "PersonMentionResponse")
    assert data["person_mention_view"]["person_mention"]["read"] is True
    assert await _unread(user) == (0, 0)
    assert await _mentions(user, unread_only=True) == []
    assert len(await _mentions(user)) == 1
    status, data = await user.post("/user/mention/mark_as_read", {"person_mention_id": 999_999_999, "read": True})
    assert (status, data) == (404, {"error": "couldnt_find_person_mention"})


async def test_mark_all_as_read(user: Api, other: Api, http: httpx.AsyncClient) -> None:
    third = await register(http)
    post = await _post_by(user)
    await make_comment(other, post["id"], "a reply")
    await make_comment(other, post["id"], f"and a mention of {_mention_of(third)} and {_mention_of(user)}")
    await make_comment(third, post["id"], "another reply")
    assert await _unread(user) == (2, 1)
    data = await user.ok_post("/user/mark_all_as_read")
    assert_shape(data, "GetRepliesResponse")
    assert data == {"replies": []}
    assert await _unread(user) == (0, 0)
    assert await _replies(user, unread_only=True) == []
    assert all(r["comment_reply"]["read"] for r in await _replies(user))
    # Only the caller's inbox was touched.
    assert await _unread(third) == (0, 1)


async def test_answering_a_reply_marks_it_read(user: Api, other: Api) -> None:
    post = await _post_by(user)
    theirs = await make_comment(other, post["id"], "question?")
    assert await _unread(user) == (1, 0)
    await make_comment(user, post["id"], "answer.", parent_id=theirs["id"])
    assert await _unread(user) == (0, 0)
    assert await _unread(other) == (1, 0)


async def test_blocked_person_creates_no_notification(user: Api, other: Api) -> None:
    post = await _post_by(user)
    earlier = await make_comment(other, post["id"], "before the block")
    assert await _unread(user) == (1, 0)
    blocked = await user.ok_post("/user/block", {"person_id": other.person_id, "block": True})
    assert blocked["blocked"] is True
    data = await other.ok_post("/comment", {"post_id": post["id"], "content": f"after {_mention_of(user)}"})
    assert data["recipient_ids"] == []
    reply_to_mine = await make_comment(user, post["id"], "mine")
    await make_comment(other, post["id"], "reply to a blocker", parent_id=reply_to_mine["id"])
    # Earlier replies from the blocked person are hidden and not counted either.
    assert await _replies(user) == []
    assert await _mentions(user) == []
    assert await _unread(user) == (0, 0)
    await user.ok_post("/user/block", {"person_id": other.person_id, "block": False})
    assert [r["comment"]["id"] for r in await _replies(user)] == [earlier["id"]]


async def test_blocked_community_creates_no_reply(user: Api, other: Api) -> None:
    community = await make_community(other)
    post = await make_post(other, community["id"])
    mine = await make_comment(user, post["id"], "in a community I will block")
    await user.ok_post("/community/block", {"community_id": community["id"], "block": True})
    await make_comment(other, post["id"], "reply", parent_id=mine["id"])
    assert await _unread(user) == (0, 0)


async def test_deleted_reply_is_not_counted(user: Api, other: Api) -> None:
    post = await _post_by(user)
    comment = await make_comment(other, post["id"], "oops")
    assert await _unread(user) == (1, 0)
    await other.ok_post("/comment/delete", {"comment_id": comment["id"], "deleted": True})
    assert await _unread(user) == (0, 0)
    replies = await _replies(user)
    assert len(replies) == 1 and replies[0]["comment"]["content"] == ""


async def test_replies_sorted_and_paged(user: Api, other: Api) -> None:
    post = await _post_by(user)
    made = [(await make_comment(other, post["id"], f"r{i}"))["id"] for i in range(3)]
    newest = [r["comment"]["id"] for r in await _replies(user)]
    assert newest == made[::-1]
    oldest = [r["comment"]["id"] for r in await _replies(user, sort="Old")]
    assert oldest == made
    page2 = [r["comment"]["id"] for r in await _replies(user, sort="Old", limit=2, page=2)]
    assert page2 == made[2:]


async def test_bot_replies_not_counted_for_those_who_hide_bots(user: Api, http: httpx.AsyncClient) -> None:
    post = await _post_by(user)
    bot = await register(http)
    await bot.ok_put("/user/save_user_settings", {"bot_account": True})
    await make_comment(bot, post["id"], "beep")
    assert await _unread(user) == (1, 0)
    await user.ok_put("/user/save_user_settings", {"show_bot_accounts": False})
    assert await _unread(user) == (0, 0)
    assert await _replies(user) == []


def test_scrape_mentions() -> None:
    text = (
        "[@Alice@Moot.Test:8536](/u/alice), @bob@moot.test:8536. again @alice@moot.test:8536 "
        "mail me: x@y, not a mention: http://h/@carol@moot.test:8536"
    )
    found = [(m.name, m.domain) for m in scrape_mentions(text)]
    assert found == [("Alice", "moot.test:8536"), ("bob", "moot.test:8536")]
