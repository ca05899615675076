"""A linked page's metadata (`GET /post/site_metadata`) and Lemmy's image proxy (`GET /image_proxy`), both fetched
through the federation guard (federation/previews.py, federation/fetch.py)."""

from __future__ import annotations

from urllib.parse import unquote

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from moot.api.lemmy_v3.context import Ctx, context, ok, query_form
from moot.api.openapi import API_PREFIX, v3
from moot.domain import validation
from moot.domain.errors import LemmyError
from moot.federation.fetch import FetchError, fetch_bytes
from moot.federation.previews import IMAGE_ACCEPT, fetch_site_metadata, image_policy
from moot.media.images import sniff
from moot.queries.remote_images import is_recorded

router = APIRouter(prefix=API_PREFIX)

# What a proxied image may do in a browser: nothing; and it may be cached a day by the browser and any shared
# cache (the answer depends on the URL alone, never on who asks).
PROXY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": "public, max-age=86400",
}
_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


class GetSiteMetadata(BaseModel):
    model_config = ConfigDict(extra="ignore")
    url: str = Field(max_length=2000)


class ImageProxyParams(BaseModel):
    model_config = ConfigDict(extra="ignore")
    url: str = Field(max_length=4000)


@router.get("/post/site_metadata", **v3("getSiteMetadata", "GetSiteMetadataResponse", login=True))
async def site_metadata(
    form: GetSiteMetadata = Depends(query_form(GetSiteMetadata)), c: Ctx = Depends(context)
) -> JSONResponse:
    """Lemmy 0.19 asks for a login ("Require an account for this API") and answers empty metadata for a page it
    cannot read as HTML; an address the guard refuses, or a site that does not answer, is `invalid_url`."""
    viewer = c.require_viewer()
    url = validation.clean_url(form.url)
    if not url or not url.lower().startswith(("http://", "https://")):
        raise LemmyError("invalid_url")
    try:
        metadata = await fetch_site_metadata(url, c.settings)
    except FetchError as exc:
        raise LemmyError("invalid_url", status=400) from exc
    return ok({"metadata": metadata.to_json()}, viewer)


@router.get("/image_proxy", include_in_schema=False)
async def image_proxy(
    form: ImageProxyParams = Depends(query_form(ImageProxyParams)), c: Ctx = Depends(context)
) -> Response:
    """A remote image, for readers who should not tell its host they read the thread. Only URLs recorded from
    stored content (remote_image), only PNG, JPEG, GIF and WebP as the bytes say (an SVG or a page never), within
    the upload cap, through the guard; served as the sniffed type, never the remote's own header."""
    async with c.db.read() as session:
        link = form.url
        if not await is_recorded(session, link):
            # Lemmy decodes the parameter once more (its clients may encode twice).
            link = unquote(link)
            if not await is_recorded(session, link):
                raise LemmyError("not_found", status=404)
    try:
        fetched = await fetch_bytes(link, image_policy(c.settings), accept=IMAGE_ACCEPT)
    except FetchError as exc:
        raise LemmyError("pictrs_response_error", exc.reason, status=502) from exc
    kind = sniff(fetched.body)
    if kind is None:
        raise LemmyError("not_an_image_type", status=415)
    return Response(fetched.body, media_type=_TYPES[kind], headers=PROXY_HEADERS)
