"""pict-rs's API as Lemmy 0.19 exposes it, served by Moot itself: upload, serve (with thumbnails and format
conversions), delete by token. Outside /api/v3, as on Lemmy; not in the OpenAPI document (lemmy-js-client's
`uploadImage` and `deleteImage` are its clients)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from moot.actions import images
from moot.actions.access import check_person_valid
from moot.api.lemmy_v3.context import Ctx, context
from moot.domain.errors import LemmyError
from moot.http.csrf import CSRF_FIELD, cookie_login_allowed
from moot.media.images import OUTPUT_FORMATS, ImageError, ImageLimits, derive, thumbnail_size
from moot.media.storage import InvalidKey, MediaStorage, check_key, derived_key, media_storage
from moot.queries.images import image_by_alias

router = APIRouter(include_in_schema=False)

# At most this many files in one upload (pict-rs takes several `images[]`; Lemmy's clients send one).
MAX_FILES = 10
# What a served image may do in a browser: nothing (an image is shown by <img>, which ignores this; opened on its
# own, no script runs and nothing loads).
IMAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
LONG_CACHE = "max-age=31536000, immutable"
_STATUS = {"too_large": 413}
CSRF_MESSAGE = "an upload logged in by the jwt cookie needs the page's X-CSRF-Token; apps send Authorization: Bearer"


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def refusal(exc: ImageError) -> Response:
    """pict-rs's error shape (`msg`), with the reason as a stable word and what was wrong in `message`."""
    body: dict[str, Any] = {"msg": exc.reason, "files": []}
    if exc.detail:
        body["message"] = exc.detail
    return _json(body, _STATUS.get(exc.reason, 400))


def storage_of(c: Ctx) -> MediaStorage:
    return media_storage(c.settings)


@router.post("/pictrs/image")
async def upload(request: Request, c: Ctx = Depends(context)) -> Response:
    viewer = c.require_viewer()
    check_person_valid(viewer.person)
    settings = c.settings
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=20)
    except Exception as exc:  # a body that is not multipart/form-data, or too many parts
        return _json({"msg": "invalid_form", "message": str(exc)[:200], "files": []}, 400)
    try:
        presented = form.get(CSRF_FIELD)
        if not cookie_login_allowed(request, c.state.jwt_secret, presented if isinstance(presented, str) else None):
            # Logged in by the cookie alone: only our own pages (which send their CSRF token) may upload with it.
            return _json({"msg": "csrf_refused", "message": CSRF_MESSAGE, "files": []}, 403)
        uploads = [f for f in form.getlist("images[]") if isinstance(f, UploadFile)]
        if not uploads:
            return _json({"msg": "no_image", "message": "send the image as the multipart field images[]"}, 400)
        processed = []
        for file in uploads:
            data = await file.read(settings.image_max_bytes + 1)
            processed.append(await images.prepare_image(data, settings))
    except ImageError as exc:
        return refusal(exc)
    finally:
        await form.close()
    storage = storage_of(c)
    async with c.db.write() as session:
        rows = [
            await images.record_image(session, p, storage=storage, local_user_id=viewer.local_user.id)
            for p in processed
        ]
        files = [{"file": r.pictrs_alias, "delete_token": r.pictrs_delete_token} for r in rows]
    return _json({"msg": "ok", "files": files})


def _variant(thumbnail: str | None, fmt: str | None, extension: str) -> tuple[int | None, str | None, str]:
    """The derived file a query asks for: (thumbnail size, output format, variant name); name "" = the original."""
    size = None
    if thumbnail is not None and thumbnail != "":
        if not thumbnail.isdigit() or not 0 < int(thumbnail) <= 100_000:
            raise ImageError("invalid_thumbnail", "thumbnail must be a positive whole number of pixels")
        size = thumbnail_size(int(thumbnail))
    output = None
    if fmt:
        output = OUTPUT_FORMATS.get(fmt.lower())
        if output is None:
            raise ImageError("invalid_format", f"format must be one of {', '.join(sorted(OUTPUT_FORMATS))}")
    if size is None and (output is None or output == _format_of(extension)):
        return None, None, ""
    target = output or _format_of(extension)
    ext = "jpg" if target == "jpeg" else target
    return size, output, f"{'t' + str(size) if size else 'full'}.{ext}"


def _format_of(extension: str) -> str:
    return "jpeg" if extension in ("jpg", "jpeg") else extension


async def _serve(request: Request, file: str, c: Ctx) -> Response:
    try:
        alias = check_key(file)
    except InvalidKey:
        return _json({"msg": "not_found"}, 404)
    # As Lemmy, a private instance shows its images to those logged in only: context() refused the others.
    async with c.db.read() as session:
        image = await image_by_alias(session, alias)
    if image is None:
        return _json({"msg": "not_found"}, 404)
    extension = alias.rsplit(".", 1)[-1].lower()
    try:
        size, output, variant = _variant(
            request.query_params.get("thumbnail"), request.query_params.get("format"), extension
        )
    except ImageError as exc:
        return refusal(exc)
    storage = storage_of(c)
    data = await storage.get(image.storage_key)
    if data is None:
        return _json({"msg": "not_found"}, 404)
    content_type = image.content_type
    if variant:
        key = derived_key(alias, variant)
        derived = await storage.get(key)
        if derived is None:
            try:
                limits = dataclasses.replace(ImageLimits.from_settings(c.settings), max_bytes=len(data))
                made = await asyncio.to_thread(derive, data, thumbnail=size, output=output, limits=limits)
            except ImageError as exc:
                return refusal(exc)
            await storage.put(key, made.data)
            derived = made.data
        data = derived
        content_type = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}[
            variant.rsplit(".", 1)[-1]
        ]
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {
        **IMAGE_HEADERS,
        "ETag": etag,
        "Cache-Control": ("private, " if c.viewer is not None else "public, ") + LONG_CACHE,
        "Content-Length": str(len(data)),
    }
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        del headers["Content-Length"]
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=content_type, headers=headers)


@router.get("/pictrs/image/{file}")
async def serve_image(request: Request, file: str, c: Ctx = Depends(context)) -> Response:
    """The image, or its thumbnail or conversion (HEAD too: http/head.py answers it as this GET, bodiless)."""
    return await _serve(request, file, c)


@router.get("/pictrs/image/delete/{token}/{file}")
async def delete_by_token(token: str, file: str, c: Ctx = Depends(context)) -> Response:
    """pict-rs's delete link: whoever holds the token deletes the image (204), as lemmy-js-client's deleteImage."""
    if len(token) > 128:
        return _json({"msg": "not_found"}, 404)
    try:
        alias = check_key(file)
    except InvalidKey:
        return _json({"msg": "not_found"}, 404)
    try:
        async with c.db.write() as session:
            image = await images.delete_by_token(session, alias, token)
    except LemmyError:
        return _json({"msg": "not_found"}, 404)
    await images.remove_files(storage_of(c), image.pictrs_alias)
    return Response(status_code=204)


@router.get("/pictrs/healthz")
async def healthz() -> Response:
    return Response(status_code=200)
