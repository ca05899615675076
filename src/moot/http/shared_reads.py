"""One read session per request for the read routes that ask for it (`reads_share_a_session` on the handler): the
viewer's read and the page's share a session and a pool checkout (db/engine.py `Database.shared_reads`; a session
and a checkout cost ~0.1 ms each). A middleware rather than a FastAPI dependency with `yield`, whose machinery
cost every route that used it ~0.13 M instructions (3% of a vote), the routes that share nothing included."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from moot.db.engine import Database

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

_SHARING: set[Callable[..., Any]] = set()


def reads_share_a_session(handler: HandlerT) -> HandlerT:
    """A read route whose reads (the viewer's, then its own) share one session and pooled connection. The
    connection stays with the request between its reads; a write, and a request to another server, give it back
    first (db/engine.py `give_back_shared_read`)."""
    _SHARING.add(handler)
    return handler


def sharing_routes(routes: Iterable[BaseRoute]) -> frozenset[tuple[str, str]]:
    """(method, path) of every route whose handler is marked `reads_share_a_session`."""
    return frozenset(
        (method, route.path)
        for route in routes
        if isinstance(route, APIRoute) and route.endpoint in _SHARING
        for method in route.methods or ()
    )


class SharedReads:
    """Runs the requests of `routes` (exact method and path) inside `db.shared_reads()`."""

    def __init__(self, app: ASGIApp, db: Database, routes: frozenset[tuple[str, str]]) -> None:
        self.app, self.db, self.routes = app, db, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) in self.routes:
            async with self.db.shared_reads():
                await self.app(scope, receive, send)
            return
        await self.app(scope, receive, send)
