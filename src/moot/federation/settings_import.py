"""The slow half of /user/import_settings: each follow, save and block a backup lists, found here or fetched from
its server (the lookup resolve_object uses), then done by the action of its own route.

Lemmy 0.19 runs this after answering (`spawn_try_task`), and so does Moot: the route hands it to the response
as a background task, which runs once the answer is sent. Every entry is its own transaction and its own fetch
budget; an entry that cannot be found, fetched or done is skipped and logged (Lemmy logs the failed ids too), the
others go on. A backup lists at most MAX_IMPORT_ITEMS entries (checked before the answer), each fetched at most
once, so the work is bounded."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import settings_backup
from moot.db.engine import Database
from moot.db.person import LocalUser, Person
from moot.domain.errors import LemmyError
from moot.federation.lookup import resolve_remote
from moot.federation.resolve import Resolver
from moot.federation.service import fetch_policy
from moot.queries.settings_backup import known_ids
from moot.queries.viewer import Viewer
from moot.settings import Settings

log = logging.getLogger(__name__)

# The lists of ActivityPub ids, in Lemmy's order, with the kind of object each names.
ID_LISTS: dict[str, str] = {
    "followed_communities": "community",
    "saved_posts": "post",
    "saved_comments": "comment",
    "blocked_communities": "community",
    "blocked_users": "person",
}


async def import_lists(
    db: Database,
    settings: Settings,
    local_user_id: int,
    token: str,
    lists: Mapping[str, Sequence[str]],
    blocked_instances: Sequence[str],
) -> list[str]:
    """Import every entry of `lists` (keys of ID_LISTS) and `blocked_instances` (domains) for the account;
    returns the entries that failed."""
    failed: list[str] = []
    for list_name, kind in ID_LISTS.items():
        ap_ids = [ap_id for ap_id in dict.fromkeys(lists.get(list_name) or ()) if ap_id]
        if not ap_ids:
            continue
        async with db.read() as session:
            known = await known_ids(session, kind, ap_ids)
        for ap_id in ap_ids:
            try:
                local_id = known.get(ap_id)
                if local_id is None:
                    local_id = await _fetch(db, settings, ap_id, kind)
                async with db.write() as session:
                    viewer = await _viewer(session, local_user_id, token)
                    await settings_backup.import_item(session, viewer, list_name, local_id)
            except Exception as exc:  # one entry never stops the others
                log.info("settings import: %s %s skipped: %s", list_name, ap_id, exc)
                failed.append(ap_id)
    for domain in dict.fromkeys(blocked_instances):
        try:
            async with db.write() as session:
                viewer = await _viewer(session, local_user_id, token)
                await settings_backup.import_instance_block(session, settings, viewer.person_id, domain)
        except Exception as exc:
            log.info("settings import: blocked instance %s skipped: %s", domain, exc)
            failed.append(domain)
    log.info("settings import for local user %s done; %d entries failed", local_user_id, len(failed))
    return failed


async def _fetch(db: Database, settings: Settings, ap_id: str, kind: str) -> int:
    """An object of another server named by its id, fetched and stored as resolve_object does."""
    parts = urlsplit(ap_id)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LemmyError("couldnt_find_object", status=404)
    resolver = Resolver(db, settings, fetch_policy(settings))
    found_kind, found_id = await resolve_remote(resolver, ap_id)
    if found_kind != kind:
        raise LemmyError("couldnt_find_object", status=404)
    return found_id


async def _viewer(session: AsyncSession, local_user_id: int, token: str) -> Viewer:
    user = await session.get(LocalUser, local_user_id)
    person = await session.get(Person, user.person_id) if user is not None else None
    if user is None or person is None or person.deleted:
        raise LemmyError("not_logged_in", status=401)
    return Viewer(local_user=user, person=person, token=token)
