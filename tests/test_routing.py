"""What routing costs a request: no handler or dependency on a worker thread, the busiest paths matched early."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import fastapi.routing
import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

from moot.api.openapi import api_routes


def _calls(dependant: Dependant) -> Iterator[Any]:
    yield dependant.call
    for dependency in dependant.dependencies:
        yield from _calls(dependency)


def test_no_request_runs_on_a_worker_thread(app: FastAPI) -> None:
    """FastAPI runs a plain `def` handler or dependency on a worker thread: a thread hop per request (every inbox
    POST took one, through the app-state dependency). Every one is a coroutine function."""
    routes = list(api_routes(app.routes))
    assert len(routes) > 150
    threaded = {
        f"{route.path} {getattr(call, '__qualname__', call)}"
        for route in routes
        for call in _calls(route.dependant)
        if call is not None and not inspect.iscoroutinefunction(call)
    }
    assert threaded == set()


@pytest.fixture
def route_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every route FastAPI tries against a request's path, in order."""
    tried: list[str] = []
    matches = fastapi.routing.APIRoute.matches

    def counted(self: fastapi.routing.APIRoute, scope: Any) -> Any:
        tried.append(self.path)
        return matches(self, scope)

    monkeypatch.setattr(fastapi.routing.APIRoute, "matches", counted)
    return tried


async def test_busy_paths_are_matched_early(http: httpx.AsyncClient, route_checks: list[str]) -> None:
    """FastAPI tries routes one by one (0.7-2 us each): the shared inbox was tried after every API
    route (117), the front page after 43. app.py adds the busiest routers first."""
    for method, path, most in (
        ("POST", "/inbox", 8),
        ("GET", "/api/v3/post?id=1", 15),
        ("GET", "/api/v3/post/list", 30),
        ("POST", "/api/v3/comment", 20),
    ):
        route_checks.clear()
        await http.request(method, path, json={} if method == "POST" else None)
        assert 0 < len(route_checks) <= most, (path, len(route_checks))
