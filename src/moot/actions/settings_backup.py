"""Importing a settings backup (Lemmy 0.19's /user/import_settings): the profile and settings at once, then each
follow, save and block the backup lists, one by one, through the same actions the API's own routes use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import account_lifecycle, accounts, blocks, comments, communities, posts
from moot.actions.instances import get_or_create_instance
from moot.db.person import LocalUser, Person
from moot.domain.errors import LemmyError
from moot.queries.site import load_local_site
from moot.queries.viewer import Viewer
from moot.settings import Settings

# Lemmy's MAX_API_PARAM_ELEMENTS: a backup naming more follows, saves and blocks than this is refused whole
# (`too_many_items`); split it.
MAX_IMPORT_ITEMS = 10_000

# The backup's `settings` (a LocalUser) fields Lemmy 0.19 imports, plus the three display switches it exports
# but forgets to read back; `email`, `admin`, 2FA and the rest are never taken from a file.
IMPORTED_SETTINGS = (
    "show_nsfw",
    "theme",
    "default_sort_type",
    "default_listing_type",
    "interface_language",
    "show_avatars",
    "send_notifications_to_email",
    "show_scores",
    "show_bot_accounts",
    "show_read_posts",
    "open_links_in_new_tab",
    "blur_nsfw",
    "auto_expand",
    "infinite_scroll_enabled",
    "post_listing_mode",
    "enable_keyboard_navigation",
    "enable_animated_images",
    "collapse_bot_comments",
)
# `vote_display_mode_settings` (a LocalUserVoteDisplayMode) onto the account's switches.
IMPORTED_VOTE_DISPLAY = {
    "score": "show_scores",
    "upvotes": "show_upvotes",
    "downvotes": "show_downvotes",
    "upvote_percentage": "show_upvote_percentage",
}
_PROFILE = {"display_name": "display_name", "bio": "bio", "matrix_id": "matrix_user_id"}
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}\.)*[a-z0-9-]{1,63}(?::[0-9]{1,5})?")


def check_item_count(count: int) -> None:
    if count > MAX_IMPORT_ITEMS:
        raise LemmyError("too_many_items")


async def import_profile(
    session: AsyncSession,
    user: LocalUser,
    person: Person,
    profile: Mapping[str, Any],
    settings: Mapping[str, Any] | None,
    vote_display: Mapping[str, Any] | None,
) -> None:
    """The backup's display name, bio, Matrix id and bot switch (`profile`: the backup's keys, only those it
    has; a null clears the field, as Lemmy's import does), and its settings, through save_user_settings: the
    same checks (`invalid_display_name`, `bio_length_overflow`, `invalid_matrix_id`, ...) and nothing changes
    when one fails. Avatars and banners are exported but not imported, as Lemmy."""
    changes: dict[str, object] = {}
    for key, field in _PROFILE.items():
        if key in profile:
            value = profile[key]
            changes[field] = value if isinstance(value, str) else ""
    if isinstance(profile.get("bot_account"), bool):
        changes["bot_account"] = profile["bot_account"]
    for key in IMPORTED_SETTINGS:
        value = (settings or {}).get(key)
        if value is not None:
            changes[key] = value
    for key, field in IMPORTED_VOTE_DISPLAY.items():
        value = (vote_display or {}).get(key)
        if value is not None:
            changes[field] = value
    if changes:
        await accounts.save_user_settings(session, user, person, changes)


async def import_item(session: AsyncSession, viewer: Viewer, list_name: str, local_id: int) -> None:
    """One entry of a backup list, found here as `local_id`: followed (a remote community sends its Follow and
    stays pending until accepted, which Lemmy's import forgets), saved or blocked by the same action as the
    route that does it one at a time, with its checks (a ban, a blocked admin, ...)."""
    if list_name == "followed_communities":
        await communities.follow_community(session, viewer, local_id, follow=True)
    elif list_name == "saved_posts":
        await posts.save_post(session, viewer, local_id, save=True)
    elif list_name == "saved_comments":
        await comments.save_comment(session, viewer, local_id, save=True)
    elif list_name == "blocked_communities":
        await communities.block_community(session, viewer, local_id, block=True)
    elif list_name == "blocked_users":
        await blocks.block_person(session, viewer, local_id, block=True)
    else:
        raise ValueError(list_name)


async def import_instance_block(session: AsyncSession, app_settings: Settings, person_id: int, domain: str) -> None:
    """A blocked instance of the backup, by domain: its row is created if this server has never met it (as
    Lemmy's Instance::read_or_create), then blocked; our own domain cannot be (`cant_block_local_instance`)."""
    domain = domain.strip().lower()
    if len(domain) > 255 or not _DOMAIN.fullmatch(domain):
        raise LemmyError("invalid_url")
    if domain == app_settings.domain:
        raise LemmyError("cant_block_local_instance")
    loaded = await load_local_site(session)
    if loaded is None:
        raise LemmyError("couldnt_find_object", status=404)
    instance_id = await get_or_create_instance(session, domain)
    await account_lifecycle.block_instance(session, person_id, loaded.site.instance_id, instance_id, block=True)
