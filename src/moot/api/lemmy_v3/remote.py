"""Lookups of the v3 API that may reach another server: resolve_object, and a community or person named
`name@host` that this server has not seen yet (Lemmy's resolve_actor_identifier).

Only a logged-in user's request fetches from elsewhere, as on Lemmy; anonymous visitors see what is here."""

from __future__ import annotations

from moot.api.lemmy_v3.context import Ctx
from moot.domain.errors import LemmyError
from moot.federation.lookup import resolve_remote
from moot.federation.parse import Refused
from moot.federation.resolve import Resolver
from moot.federation.service import fetch_policy
from moot.http.state import AppState
from moot.queries.communities import find_community_id
from moot.queries.persons import find_person_id


async def resolve_remote_object(state: AppState, q: str) -> tuple[str, int]:
    """Fetch `!community@host`, `@person@host`, `name@host` or an object URL from its server (through the SSRF
    guard), as (kind, local id)."""
    resolver = Resolver(state.db, state.settings, fetch_policy(state.settings))
    try:
        return await resolve_remote(resolver, q)
    except Refused as exc:
        raise LemmyError("couldnt_find_object", status=404) from exc


async def community_id_by_name(c: Ctx, name: str) -> int:
    """`name` (local) or `name@host` (the host in any case), found here or, for a logged-in user, by WebFinger."""
    async with c.db.read() as session:
        try:
            return await find_community_id(session, name, c.settings.domain)
        except LemmyError:
            if not _may_fetch(c, name):
                raise
    return await _remote_actor(c, f"!{name.strip().lstrip('!')}", "community", "couldnt_find_community")


async def person_id_by_name(c: Ctx, name: str) -> int:
    """As community_id_by_name, for people. A lookup by key: either plan mode does (GET /user then asks for one)."""
    async with c.db.read(generic_plans=None) as session:
        try:
            return await find_person_id(session, name, c.settings.domain)
        except LemmyError:
            if not _may_fetch(c, name):
                raise
    return await _remote_actor(c, f"@{name.strip().lstrip('@')}", "person", "couldnt_find_person")


def _may_fetch(c: Ctx, name: str) -> bool:
    _, _, host = name.strip().lstrip("!@").partition("@")
    return c.viewer is not None and bool(host) and host.lower() != c.settings.domain


async def _remote_actor(c: Ctx, handle: str, kind: str, error: str) -> int:
    try:
        found_kind, found_id = await resolve_remote_object(c.state, handle)
    except LemmyError as exc:
        raise LemmyError(error, status=404) from exc
    if found_kind != kind:
        raise LemmyError(error, status=404)
    return found_id
