"""Communities: create, get, edit, list, follow, block, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import communities
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok, query_form
from moot.api.lemmy_v3.forms import (
    BlockCommunity,
    CreateCommunity,
    DeleteCommunity,
    EditCommunity,
    FollowCommunity,
    GetCommunity,
    ListCommunities,
)
from moot.api.lemmy_v3.remote import community_id_by_name
from moot.api.lemmy_v3.site import ALL_LANGUAGE_IDS
from moot.api.openapi import API_PREFIX, v3
from moot.db.community import CommunityLanguage
from moot.domain.enums import ListingType, SortType
from moot.domain.errors import LemmyError
from moot.http.shared_reads import reads_share_a_session
from moot.queries.communities import (
    get_community_page,
    get_community_view,
    list_communities,
    moderators,
)
from moot.queries.viewer import Viewer

router = APIRouter(prefix=API_PREFIX)


async def community_languages(session: AsyncSession, community_id: int) -> list[int]:
    rows = await session.scalars(
        select(CommunityLanguage.language_id).where(CommunityLanguage.community_id == community_id)
    )
    return sorted(rows.all()) or ALL_LANGUAGE_IDS


async def community_response(c: Ctx, community_id: int, viewer: Viewer | None) -> dict[str, Any]:
    async with c.db.read() as session:
        view = await get_community_view(session, community_id, viewer)
        languages = await community_languages(session, community_id)
    return {"community_view": convert.community_view(view), "discussion_languages": languages}


@router.post("/community", **v3("createCommunity", "CommunityResponse", login=True))
async def create_community(form: CreateCommunity, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        community = await communities.create_community(
            session,
            c.settings,
            viewer,
            name=form.name,
            title=form.title,
            description=form.description,
            icon=form.icon,
            banner=form.banner,
            nsfw=bool(form.nsfw),
            posting_restricted_to_mods=bool(form.posting_restricted_to_mods),
            visibility=(form.visibility.value if form.visibility else "Public"),
            discussion_languages=form.discussion_languages,
        )
    return ok(await community_response(c, community.id, viewer), viewer)


@router.get("/community", **v3("getCommunity", "GetCommunityResponse", not_found=True))
@reads_share_a_session
async def get_community(
    form: GetCommunity = Depends(query_form(GetCommunity)), c: Ctx = Depends(context)
) -> JSONResponse:
    if form.id is not None:
        community_id = form.id
    elif form.name:
        community_id = await community_id_by_name(c, form.name)
    else:
        raise LemmyError("no_id_given")
    async with c.db.read() as session:
        page = await get_community_page(session, community_id, c.viewer)
        mods = await moderators(session, community_id)
        languages = await community_languages(session, community_id)
    body: dict[str, Any] = {
        "community_view": convert.community_view(page.view),
        "moderators": [convert.moderator_view(com, p) for com, p in mods],
        "discussion_languages": languages,
    }
    if page.site is not None:
        body["site"] = convert.site(page.site)
    return ok(body, c.viewer)


@router.put("/community", **v3("editCommunity", "CommunityResponse", login=True, not_found=True))
async def edit_community(form: EditCommunity, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    changes = form.model_dump(exclude_none=True, exclude={"community_id"}, mode="json")
    async with c.db.write() as session:
        await communities.edit_community(session, viewer, form.community_id, changes)
    return ok(await community_response(c, form.community_id, viewer), viewer)


@router.get("/community/list", **v3("listCommunities", "ListCommunitiesResponse"))
@reads_share_a_session
async def list_all(
    form: ListCommunities = Depends(query_form(ListCommunities)), c: Ctx = Depends(context)
) -> JSONResponse:
    async with c.db.read() as session:
        views = await list_communities(
            session,
            c.viewer,
            listing_type=form.type_ or ListingType.ALL,
            sort=form.sort or SortType.HOT,
            show_nsfw=form.show_nsfw,
            page=form.page,
            limit=form.limit,
        )
    return ok({"communities": [convert.community_view(v) for v in views]}, c.viewer)


@router.post("/community/follow", **v3("followCommunity", "CommunityResponse", login=True, not_found=True))
async def follow(form: FollowCommunity, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await communities.follow_community(session, viewer, form.community_id, form.follow)
    return ok(await community_response(c, form.community_id, viewer), viewer)


@router.post("/community/block", **v3("blockCommunity", "BlockCommunityResponse", login=True, not_found=True))
async def block(form: BlockCommunity, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await communities.block_community(session, viewer, form.community_id, form.block)
    async with c.db.read() as session:
        view = await get_community_view(session, form.community_id, viewer)
    return ok({"community_view": convert.community_view(view), "blocked": form.block}, viewer)


@router.post("/community/delete", **v3("deleteCommunity", "CommunityResponse", login=True, not_found=True))
async def delete(form: DeleteCommunity, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await communities.delete_community(session, viewer, form.community_id, form.deleted)
    return ok(await community_response(c, form.community_id, viewer), viewer)
