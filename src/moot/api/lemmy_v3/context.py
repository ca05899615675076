"""The per-request context of a v3 handler: the app state, the viewer behind the JWT, the client address."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from moot.api.lemmy_v3 import convert
from moot.db.engine import Database
from moot.domain.errors import LemmyError
from moot.domain.imageproxy import ImageRewriter
from moot.http import ratelimit
from moot.http.state import AppState, app_state
from moot.queries.viewer import Viewer, load_viewer
from moot.queries.visibility import refuse_if_private
from moot.settings import Settings

AUTH_COOKIE = "jwt"


def read_token(request: Request) -> str | None:
    """`Authorization: Bearer <jwt>` first, else the `jwt` cookie (as Lemmy 0.19)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(AUTH_COOKIE) or None


def client_address(request: Request, settings: Settings) -> str:
    """The client's address as rate limits see it (http/ratelimit.py: behind proxies, never the leftmost hop)."""
    return ratelimit.request_address(request, settings)


@dataclass(frozen=True, slots=True)
class Ctx:
    state: AppState
    viewer: Viewer | None
    address: str
    user_agent: str | None

    @property
    def db(self) -> Database:
        return self.state.db

    @property
    def settings(self) -> Settings:
        return self.state.settings

    def require_viewer(self) -> Viewer:
        if self.viewer is None:
            raise LemmyError("not_logged_in", status=401)
        return self.viewer


# Reads that stay open on a private instance: what a client needs before its reader logs in (Lemmy keeps GET
# /site open). Every other anonymous GET, any read added later included, is refused there.
OPEN_WHEN_PRIVATE = frozenset({"/api/v3/site", "/api/v3/user/validate_auth", "/api/v3/user/get_captcha"})


async def context(request: Request) -> Ctx:
    state = app_state(request)
    settings = state.settings
    proxy_all = settings.image_mode == "ProxyAllImages"
    convert.image_proxy.set(ImageRewriter(settings.base_url, settings.hostname) if proxy_all else None)
    token = read_token(request)
    viewer = None
    # Lookups by key: planned alike in either plan mode, so the connection is taken in the mode it is in.
    if token:
        async with state.db.read(generic_plans=None) as session:
            viewer = await load_viewer(session, token, state.jwt_secret)
    if viewer is None and request.method == "GET" and request.url.path not in OPEN_WHEN_PRIVATE:
        async with state.db.read(generic_plans=None) as session:
            await refuse_if_private(session, viewer)
    return Ctx(
        state=state,
        viewer=viewer,
        address=client_address(request, state.settings),
        user_agent=request.headers.get("user-agent"),
    )


class FastJSONResponse(JSONResponse):
    """The same compact UTF-8 JSON, written by orjson (a listing's encoding took 7% of its request in Python)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(body: Any, viewer: Viewer | None = None) -> JSONResponse:
    response = FastJSONResponse(body)
    response.headers["Cache-Control"] = "private" if viewer is not None else "public, max-age=60"
    return response


FormT = TypeVar("FormT", bound=BaseModel)


def query_form(model: type[FormT]) -> Callable[[Request], Awaitable[FormT]]:
    """A GET handler's form, read from the query string: `form: GetPosts = Depends(query_form(GetPosts))`.

    What `Annotated[GetPosts, Query()]` did, without FastAPI's per-request walk over the model's fields (it
    inspects each field's annotation again for every request: 79 us against 2 us for the model's own validation,
    measured on the front page's form). A repeated key takes its last value, as FastAPI's did; a form that does
    not parse is the same RequestValidationError (api/errors.py answers it 400). The OpenAPI document still
    lists the form's fields as query parameters: api/openapi.py describes each such route as if it were declared
    with `Query()` (`QUERY_FORM`)."""

    async def read(request: Request, _: Ctx = Depends(context)) -> FormT:  # async: a def runs on a worker thread
        # The context first (FastAPI runs it once per request, for the handler too): a private instance refuses an
        # anonymous read before its form is looked at, as when FastAPI parsed the query after the dependencies.
        try:
            return model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in errors]) from None

    setattr(read, QUERY_FORM, model)
    return read


# The attribute by which api/openapi.py finds the form model behind a query_form dependency.
QUERY_FORM = "moot_query_form"
