"""GET and PUT /site."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions.site import edit_site
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok
from moot.api.lemmy_v3.emojis import emoji_view
from moot.api.lemmy_v3.forms import EditSite
from moot.api.openapi import API_PREFIX, v3
from moot.db.moderation import LocalSiteUrlBlocklist
from moot.domain.languages import LANGUAGES
from moot.domain.timefmt import lemmy_time
from moot.http.shared_reads import reads_share_a_session
from moot.queries.emojis import all_emojis
from moot.queries.site import SiteView, get_my_user, get_site_view
from moot.queries.urlblocklist import blocked_urls
from moot.queries.viewer import Viewer

router = APIRouter(prefix=API_PREFIX)

ALL_LANGUAGE_IDS = [lang.id for lang in LANGUAGES]
# The Lemmy version whose API this server speaks; clients gate features on it.
LEMMY_API_VERSION = "0.19.20"


def site_view_json(view: SiteView) -> dict[str, Any]:
    row = view.row
    return {
        "site": convert.site(row.site),
        "local_site": convert.local_site(row.local_site),
        "local_site_rate_limit": convert.rate_limit(row.rate_limit),
        "counts": {
            "site_id": row.site.id,
            "users": view.counts.users,
            "posts": view.counts.posts,
            "comments": view.counts.comments,
            "communities": view.counts.communities,
            "users_active_day": row.local_site.users_active_day,
            "users_active_week": row.local_site.users_active_week,
            "users_active_month": row.local_site.users_active_month,
            "users_active_half_year": row.local_site.users_active_half_year,
        },
    }


async def my_user_json(session: AsyncSession, viewer: Viewer) -> dict[str, Any]:
    me = await get_my_user(session, viewer)
    person = convert.person(viewer.person)
    return {
        "local_user_view": convert.local_user_view(viewer.local_user, viewer.person),
        "follows": [{"community": convert.community(c), "follower": person} for c in me.follows],
        "moderates": [convert.moderator_view(c, viewer.person) for c in me.moderates],
        "community_blocks": [{"person": person, "community": convert.community(c)} for c in me.community_blocks],
        "instance_blocks": [{"person": person, "instance": convert.instance(i)} for i in me.instance_blocks],
        "person_blocks": [{"person": person, "target": convert.person(t)} for t in me.person_blocks],
        # Lemmy reports a user who reads every language with an empty list (convert_read_languages).
        "discussion_languages": []
        if set(me.discussion_languages) == set(ALL_LANGUAGE_IDS)
        else me.discussion_languages,
    }


def _blocked_url(u: LocalSiteUrlBlocklist) -> dict[str, Any]:
    return convert.compact(
        {"id": u.id, "url": u.url, "published": lemmy_time(u.published), "updated": u.updated and lemmy_time(u.updated)}
    )


async def get_site_json(session: AsyncSession, viewer: Viewer | None) -> dict[str, Any]:
    view = await get_site_view(session)
    body: dict[str, Any] = {
        "site_view": site_view_json(view),
        "admins": [convert.person_view(a) for a in view.admins],
        "version": LEMMY_API_VERSION,
        "all_languages": convert.languages(),
        "discussion_languages": view.discussion_languages or ALL_LANGUAGE_IDS,
        "taglines": [convert.tagline(t) for t in view.taglines],
        "custom_emojis": [emoji_view(e) for e in await all_emojis(session)],
        "blocked_urls": [_blocked_url(u) for u in await blocked_urls(session)],
    }
    if viewer is not None:
        body["my_user"] = await my_user_json(session, viewer)
    return body


@router.get("/site", **v3("getSite", "GetSiteResponse"))
@reads_share_a_session
async def get_site(c: Ctx = Depends(context)) -> JSONResponse:
    async with c.db.read() as session:
        return ok(await get_site_json(session, c.viewer), c.viewer)


@router.put("/site", **v3("editSite", "SiteResponse", login=True))
async def put_site(form: EditSite, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await edit_site(
            session, viewer, form.model_dump(exclude_none=True, mode="json"), mail_enabled=c.settings.mail_enabled
        )
    async with c.db.read() as session:
        view = await get_site_view(session)
    await c.state.limiter.configure(view.row.rate_limit)
    return ok({"site_view": site_view_json(view), "taglines": [convert.tagline(t) for t in view.taglines]}, viewer)
