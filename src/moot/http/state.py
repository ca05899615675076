"""What every request handler shares in one process: settings, database, JWT secret, rate limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request

from moot.db.engine import Database
from moot.http.ratelimit import RateLimiter
from moot.settings import Settings

if TYPE_CHECKING:
    from moot.federation.inbox import Inbox


@dataclass(slots=True)
class AppState:
    settings: Settings
    db: Database
    jwt_secret: str = ""
    limiter: RateLimiter = field(default_factory=RateLimiter)
    inbox: Inbox | None = None


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.moot
    return state


async def state_of(request: Request) -> AppState:
    """`app_state` as a route dependency (`state: AppState = Depends(state_of)`): FastAPI runs a plain `def`
    dependency on a worker thread, a thread hop for every request (every inbox POST took one)."""
    return app_state(request)
