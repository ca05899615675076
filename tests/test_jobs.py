"""Scheduled jobs: active-user counts and the week-long retention of federation bookkeeping."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from conftest import Api, make_comment, make_community, make_post
from moot.db.federation import ReceivedActivity, SentActivity
from moot.domain.timefmt import utcnow
from moot.jobs.activity import refresh_active_users
from moot.jobs.cleanup import drop_old_activities


async def test_active_user_counts(app: Any, user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await make_comment(other, post["id"])
    await refresh_active_users(app.state.moot.db)
    view = await user.ok_get("/community", id=community["id"])
    counts = view["community_view"]["counts"]
    assert counts["users_active_day"] == 2
    assert counts["users_active_half_year"] == 2
    site = await user.ok_get("/site")
    assert site["site_view"]["counts"]["users_active_day"] >= 2


async def test_old_activities_are_dropped_after_a_week(app: Any) -> None:
    db = app.state.moot.db
    old, recent = utcnow() - timedelta(days=8), utcnow() - timedelta(days=1)
    async with db.write() as session:
        for name, when in (("old", old), ("recent", recent)):
            session.add(ReceivedActivity(ap_id=f"https://peer.example/activities/{name}-jobs", published=when))
            session.add(
                SentActivity(
                    ap_id=f"https://moot.test/activities/{name}-jobs",
                    data=json.dumps({}),
                    send_inboxes="[]",
                    actor_ap_id="https://moot.test/u/x",
                    published=when,
                )
            )
    await drop_old_activities(db)
    async with db.read() as session:
        assert await session.get(ReceivedActivity, "https://peer.example/activities/old-jobs") is None
        assert await session.get(ReceivedActivity, "https://peer.example/activities/recent-jobs") is not None
        sent = await session.scalars(select(SentActivity.ap_id).where(SentActivity.ap_id.like("%-jobs")))
        assert list(sent.all()) == ["https://moot.test/activities/recent-jobs"]
