"""The app's routes, added where FastAPI tries them cheapest."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes become the app's own, in order: what `include_router` did before FastAPI 0.165.

    Since 0.165 an included router stays a router of its own, and a request is tried against each of its routes
    through a layer that saves and restores keys of the request's scope: 2.0 us a route, against 0.7 us for a
    route of the app itself (measured on 100 routes), so a page, tried after the whole API, took ~2 M instructions
    to route. Moot's routers carry their prefix themselves (`APIRouter(prefix=...)`, already in each route's path)
    and nothing an include would add to their routes (dependencies, tags, responses)."""
    if router.dependencies or router.tags or router.responses or router.callbacks:
        raise ValueError("add_routes takes plain routers: their routes are added as they are")
    app.router.routes.extend(router.routes)
