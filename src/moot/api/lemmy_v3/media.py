"""The uploads' lists (Lemmy 0.19.4+): an account's own (`/account/list_media`) and, for admins, everyone's
(`/admin/list_all_media`). Uploading and deleting are pict-rs's routes (api/pictrs.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from moot.actions.access import check_is_admin
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok, query_form
from moot.api.lemmy_v3.forms import QueryForm, QueryInt64
from moot.api.openapi import API_PREFIX, v3
from moot.db.image import LocalImage
from moot.db.person import Person
from moot.domain.timefmt import lemmy_time
from moot.queries.images import list_media

router = APIRouter(prefix=API_PREFIX)


class ListMedia(QueryForm):
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None


def local_image_view(image: LocalImage, person: Person) -> dict[str, Any]:
    return {
        "local_image": convert.compact(
            {
                "local_user_id": image.local_user_id,
                "pictrs_alias": image.pictrs_alias,
                "pictrs_delete_token": image.pictrs_delete_token,
                "published": lemmy_time(image.published),
            }
        ),
        "person": convert.person(person),
    }


@router.get("/account/list_media", **v3("listMedia", "ListMediaResponse", login=True))
async def list_own_media(form: ListMedia = Depends(query_form(ListMedia)), c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        rows = await list_media(session, local_user_id=viewer.local_user.id, page=form.page, limit=form.limit)
    return ok({"images": [local_image_view(i, p) for i, p in rows]}, viewer)


@router.get("/admin/list_all_media", **v3("listAllMedia", "ListMediaResponse", login=True))
async def list_all_media(form: ListMedia = Depends(query_form(ListMedia)), c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    check_is_admin(viewer)
    async with c.db.read() as session:
        rows = await list_media(session, local_user_id=None, page=form.page, limit=form.limit)
    return ok({"images": [local_image_view(i, p) for i, p in rows]}, viewer)
