"""Every failure answered in Lemmy's JSON shape: `{"error": type}` or `{"error": type, "message": ...}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from moot.domain.errors import LemmyError

log = logging.getLogger(__name__)


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LemmyError)
    async def lemmy_error(_request: Request, exc: LemmyError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_form(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Lemmy rejects a form it cannot deserialize with 400; we say which field and why.
        return JSONResponse({"error": "unknown", "message": _describe(exc)}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "not_found" if exc.status_code == 404 else "unknown"
        body = {"error": kind} if kind == "not_found" else {"error": kind, "message": str(exc.detail)}
        # A 405 carries `Allow` (the methods the path does take), as HTTP asks.
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": "unknown", "message": "internal server error"}, status_code=500)
