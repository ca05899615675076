"""Issue 10, finding 5, for the pages: text posted through a form goes through the same rule as the API's
(control characters dropped, `validation.clean_text`), and a number too large for an id is no id."""

from __future__ import annotations

from conftest import Api, make_community, make_post
from web.conftest import Browser


async def test_control_characters_are_dropped_from_page_forms(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    path = f"/post/{post['id']}"
    await member.submit(path, f"{path}/comment", {"content": "From\x00 a\x07 form\x1b", "next": path})
    comments = (await user.ok_get("/comment/list", post_id=post["id"]))["comments"]
    assert [c["comment"]["content"] for c in comments] == ["From a form"]


async def test_a_parent_id_beyond_i32_is_no_parent(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    path = f"/post/{post['id']}"
    await member.submit(path, f"{path}/comment", {"content": "Top level", "parent_id": str(2**63), "next": path})
    comments = (await user.ok_get("/comment/list", post_id=post["id"]))["comments"]
    assert [(c["comment"]["content"], c["comment"]["path"].count(".")) for c in comments] == [("Top level", 1)]
