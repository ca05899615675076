"""Unknown addresses outside the machine routes answer with a page: the site's layout, "Page not found", a link
home. The API, pict-rs, ActivityPub, NodeInfo and WebFinger keep their JSON answers (api/errors.py), and so does
any request that asks for JSON or ActivityPub."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from moot.web.routing import error_response

Handler = Callable[[Request, Exception], Awaitable[Response]]

# Paths that machines ask for: their errors stay JSON whatever the Accept header says.
_MACHINE_PATH = re.compile(
    r"^/(?:api|pictrs|\.well-known|nodeinfo|inbox|activities)(?:/|$)|/(?:inbox|outbox|followers|moderators|featured)$"
)
_JSON_TYPES = ("application/json", "application/activity+json", "application/ld+json")


def wants_page(request: Request) -> bool:
    """A person's browser (or curl), not a client of the API or another server."""
    if _MACHINE_PATH.search(request.url.path):
        return False
    accept = request.headers.get("accept", "").lower()
    return not any(kind in accept for kind in _JSON_TYPES)


async def _json_not_found(_request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 404
    return JSONResponse({"error": "not_found"}, status_code=status)


def install_not_found_page(app: FastAPI) -> None:
    """Wrap the app's handler of HTTP errors (api/errors.py's): a 404 that a person asked for becomes a page."""
    previous = cast(Handler, app.exception_handlers.get(StarletteHTTPException, _json_not_found))

    async def not_found_page(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 404 and wants_page(request):
            return await error_response(
                request, 404, "Page not found", "There is no page at this address. It may have moved, or never was."
            )
        return await previous(request, exc)

    app.add_exception_handler(StarletteHTTPException, not_found_page)
