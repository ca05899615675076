"""What Moot serves at an object's id is what it sent: one builder per object (federation/outbox.py)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import func, select

from conftest import HOSTNAME, Api, make_comment, make_community, make_post
from moot.db.federation import SentActivity

AP = {"Accept": "application/activity+json"}


async def test_served_note_mentions_whom_the_sent_note_mentions(
    app: Any, http: httpx.AsyncClient, user: Api, other: Api, admin: Api
) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    parent = await make_comment(other, post["id"], "the parent")
    async with app.state.moot.db.read() as session:
        before = await session.scalar(select(func.max(SentActivity.id))) or 0
    reply = await make_comment(user, post["id"], f"agreed, and @{admin.name}@{HOSTNAME} should see this", parent["id"])
    served = (await http.get(f"/comment/{reply['id']}", headers=AP)).json()
    # Only what this reply sent: on SQLite a purged comment's id (and so its ap_id) is used again, and an earlier
    # test's activities may name this very id.
    async with app.state.moot.db.read() as session:
        rows = (await session.scalars(select(SentActivity).where(SentActivity.id > before))).all()
    sent = [json.loads(r.data) for r in rows]
    creates = [a for a in sent if a.get("type") == "Create"] or [
        a["object"] for a in sent if a.get("type") == "Announce" and a["object"].get("type") == "Create"
    ]
    creates = [a for a in creates if a["object"]["id"] == reply["ap_id"]]
    assert len(creates) == 1
    sent_note = creates[0]["object"]
    names = {f"@{other.name}@{HOSTNAME}", f"@{admin.name}@{HOSTNAME}"}
    assert {t["name"] for t in served["tag"]} == names
    assert served["tag"] == sent_note["tag"] and served["cc"] == sent_note["cc"]
    assert served["inReplyTo"] == parent["ap_id"]
