"""Custom emojis (admins): create, edit, delete. GetSite lists them (api/lemmy_v3/site.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import Field

from moot.actions import emojis
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok
from moot.api.lemmy_v3.forms import Form, Id
from moot.api.openapi import API_PREFIX, v3
from moot.domain.timefmt import lemmy_time
from moot.queries.emojis import CustomEmojiView, get_emoji_view

router = APIRouter(prefix=API_PREFIX)

# The columns' own bounds (varchar(128) in Lemmy as here); the other texts are bounded loosely.
Shortcode = Annotated[str, Field(max_length=128)]
Keyword = Annotated[str, Field(max_length=128)]
_TEXT = 2_000


class CreateCustomEmoji(Form):
    category: str = Field(max_length=_TEXT)
    shortcode: Shortcode
    image_url: str = Field(max_length=_TEXT)
    alt_text: str = Field(max_length=_TEXT)
    keywords: list[Keyword] = Field(max_length=100)


class EditCustomEmoji(Form):
    id: Id
    category: str = Field(max_length=_TEXT)
    image_url: str = Field(max_length=_TEXT)
    alt_text: str = Field(max_length=_TEXT)
    keywords: list[Keyword] = Field(max_length=100)


class DeleteCustomEmoji(Form):
    id: Id


def emoji_view(v: CustomEmojiView) -> dict[str, Any]:
    e = v.emoji
    return {
        "custom_emoji": convert.compact(
            {
                "id": e.id,
                "local_site_id": e.local_site_id,
                "shortcode": e.shortcode,
                "image_url": e.image_url,
                "alt_text": e.alt_text,
                "category": e.category,
                "published": lemmy_time(e.published),
                "updated": None if e.updated is None else lemmy_time(e.updated),
            }
        ),
        "keywords": [{"custom_emoji_id": k.custom_emoji_id, "keyword": k.keyword} for k in v.keywords],
    }


async def _emoji_response(c: Ctx, emoji_id: int) -> JSONResponse:
    async with c.db.read() as session:
        view = await get_emoji_view(session, emoji_id)
    return ok({"custom_emoji": emoji_view(view)}, c.viewer)


@router.post("/custom_emoji", **v3("createCustomEmoji", "CustomEmojiResponse", login=True))
async def create_custom_emoji(form: CreateCustomEmoji, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        emoji = await emojis.create_emoji(
            session,
            viewer,
            shortcode=form.shortcode,
            image_url=form.image_url,
            alt_text=form.alt_text,
            category=form.category,
            keywords=form.keywords,
        )
    return await _emoji_response(c, emoji.id)


@router.put("/custom_emoji", **v3("editCustomEmoji", "CustomEmojiResponse", login=True, not_found=True))
async def edit_custom_emoji(form: EditCustomEmoji, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await emojis.edit_emoji(
            session,
            viewer,
            form.id,
            image_url=form.image_url,
            alt_text=form.alt_text,
            category=form.category,
            keywords=form.keywords,
        )
    return await _emoji_response(c, form.id)


@router.post("/custom_emoji/delete", **v3("deleteCustomEmoji", "SuccessResponse", login=True))
async def delete_custom_emoji(form: DeleteCustomEmoji, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await emojis.delete_emoji(session, viewer, form.id)
    return ok({"success": True}, viewer)
