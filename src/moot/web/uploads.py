"""Image fields of the pages' forms (a plain `<input type=file>`, no JavaScript needed): the uploaded file goes
through the same checks and storage as `POST /pictrs/image` and becomes the URL the form would otherwise carry."""

from __future__ import annotations

from moot.actions import images
from moot.actions.access import check_person_valid
from moot.domain.errors import LemmyError
from moot.http.ratelimit import Bucket
from moot.http.ratelimit import request_address as client_address
from moot.media.images import ImageError
from moot.media.storage import media_storage
from moot.web.context import Web
from moot.web.routing import Form

# What a reader sees when an image is refused (web/routing.py shows a LemmyError's message).
IMAGE_MESSAGES = {
    "invalid_image": "That file is not an image Moot takes (PNG, JPEG, GIF or WebP).",
    "truncated": "That image file is cut short.",
    "too_large": "That image file is too large.",
    "too_many_pixels": "That image is too large (too many pixels).",
    "too_many_frames": "That animation has too many frames.",
}


async def uploaded_url(web: Web, form: Form, field: str) -> str | None:
    """The URL of the image uploaded in `field`, stored now; None when the field was left empty. A refused file
    raises LemmyError with a message for the page."""
    data = form.files.get(field)
    if not data:
        return None
    viewer = web.require_viewer()
    check_person_valid(viewer.person)
    state = web.state
    decision = await state.limiter.check(Bucket.IMAGE, client_address(web.request, state.settings))
    if not decision.allowed:
        raise LemmyError("rate_limit_error", status=429)
    try:
        processed = await images.prepare_image(data, state.settings)
    except ImageError as exc:
        raise LemmyError("invalid_image", IMAGE_MESSAGES.get(exc.reason, exc.reason)) from exc
    async with state.db.write() as session:
        row = await images.record_image(
            session, processed, storage=media_storage(state.settings), local_user_id=viewer.local_user.id
        )
    return images.image_url(state.settings, row.pictrs_alias)
