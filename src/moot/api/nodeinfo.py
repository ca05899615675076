"""NodeInfo 2.0/2.1: what software this is, for peers' liveness checks and for clients picking an API level.

The version is the Lemmy API level Moot speaks with Moot's own version as semver build metadata
(`0.19.20+moot.0.1.0`): clients such as pythorhead read it to choose between the 0.18 and 0.19 auth styles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import select

from moot import __version__
from moot.api.lemmy_v3.site import LEMMY_API_VERSION
from moot.db.site import LocalSite
from moot.http.state import AppState, state_of
from moot.queries.site import local_counts

router = APIRouter()
SOFTWARE_VERSION = f"{LEMMY_API_VERSION}+moot.{__version__}"


@router.get("/.well-known/nodeinfo")
async def well_known(state: AppState = Depends(state_of)) -> JSONResponse:
    base = state.settings.base_url
    return JSONResponse(
        {
            "links": [
                {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f"{base}/nodeinfo/2.1"},
                {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": f"{base}/nodeinfo/2.0.json"},
            ]
        }
    )


async def _document(state: AppState, schema: str) -> dict[str, Any]:
    async with state.db.read() as session:
        counts = await local_counts(session)
        row = (
            await session.execute(
                select(LocalSite.users_active_month, LocalSite.users_active_half_year, LocalSite.registration_mode)
            )
        ).one()
    software: dict[str, Any] = {"name": "moot", "version": SOFTWARE_VERSION}
    return {
        "version": schema,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "usage": {
            "users": {"total": counts.users, "activeMonth": row[0], "activeHalfyear": row[1]},
            "localPosts": counts.posts,
            "localComments": counts.comments,
        },
        "openRegistrations": row[2] != "Closed",
        "metadata": {},
    }


@router.get("/nodeinfo/2.1")
@router.get("/nodeinfo/2.1.json")
async def nodeinfo_21(state: AppState = Depends(state_of)) -> JSONResponse:
    return JSONResponse(await _document(state, "2.1"))


@router.get("/nodeinfo/2.0")
@router.get("/nodeinfo/2.0.json")
async def nodeinfo_20(state: AppState = Depends(state_of)) -> JSONResponse:
    return JSONResponse(await _document(state, "2.0"))
