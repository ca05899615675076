"""GET /user/export_settings and POST /user/import_settings (Lemmy 0.19's UserSettingsBackup): a person's profile,
settings, follows, saves and blocks as one JSON file, and that file read back, on this server or another.

Both draw from the `import_user_settings` rate limit (http/ratelimit.py), as on Lemmy. The import changes the
profile and settings before it answers; the follows, saves and blocks are done after the answer is sent
(federation/settings_import.py), as Lemmy's import does them in a spawned task."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.background import BackgroundTask

from moot.actions import accounts, settings_backup
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok
from moot.api.lemmy_v3.forms import Flag, Form
from moot.api.openapi import API_PREFIX, v3
from moot.domain.enums import ListingType, PostListingMode, SortType
from moot.federation.settings_import import ID_LISTS, import_lists
from moot.queries.settings_backup import backup_lists

router = APIRouter(prefix=API_PREFIX)

_URL = 2_000
# The form's own bound: the total count gets Lemmy's `too_many_items` from the action.
_LIST = settings_backup.MAX_IMPORT_ITEMS + 1


class BackupSettings(Form):
    """The `settings` of a backup: Lemmy writes a whole LocalUser; every field is optional here, so that a
    partial backup is read too."""

    show_nsfw: Flag | None = None
    theme: str | None = Field(default=None, max_length=100)
    default_sort_type: SortType | None = None
    default_listing_type: ListingType | None = None
    interface_language: str | None = Field(default=None, max_length=20)
    show_avatars: Flag | None = None
    send_notifications_to_email: Flag | None = None
    show_scores: Flag | None = None
    show_bot_accounts: Flag | None = None
    show_read_posts: Flag | None = None
    open_links_in_new_tab: Flag | None = None
    blur_nsfw: Flag | None = None
    auto_expand: Flag | None = None
    infinite_scroll_enabled: Flag | None = None
    post_listing_mode: PostListingMode | None = None
    enable_keyboard_navigation: Flag | None = None
    enable_animated_images: Flag | None = None
    collapse_bot_comments: Flag | None = None


class BackupVoteDisplay(Form):
    score: Flag | None = None
    upvotes: Flag | None = None
    downvotes: Flag | None = None
    upvote_percentage: Flag | None = None


class ImportSettings(Form):
    """A UserSettingsBackup, as export_settings writes it (or any part of it)."""

    display_name: str | None = Field(default=None, max_length=255)
    bio: str | None = Field(default=None, max_length=200_000)
    avatar: str | None = Field(default=None, max_length=_URL)
    banner: str | None = Field(default=None, max_length=_URL)
    matrix_id: str | None = Field(default=None, max_length=255)
    bot_account: Flag | None = None
    settings: BackupSettings | None = None
    vote_display_mode_settings: BackupVoteDisplay | None = None
    followed_communities: list[str] = Field(default_factory=list, max_length=_LIST)
    saved_posts: list[str] = Field(default_factory=list, max_length=_LIST)
    saved_comments: list[str] = Field(default_factory=list, max_length=_LIST)
    blocked_communities: list[str] = Field(default_factory=list, max_length=_LIST)
    blocked_users: list[str] = Field(default_factory=list, max_length=_LIST)
    blocked_instances: list[str] = Field(default_factory=list, max_length=_LIST)


# lemmy-js-client types the backup as `any` (a file to keep, not for apps to parse); api/openapi.py describes it.
@router.get("/user/export_settings", **v3("exportSettings", "UserSettingsBackup", login=True))
async def export_settings(c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        user, person = await accounts.own_account(session, viewer)
        lists = await backup_lists(session, person.id)
    view = convert.local_user_view(user, person)
    body: dict[str, Any] = {
        "display_name": person.display_name,
        "bio": person.bio,
        "avatar": person.avatar,
        "banner": person.banner,
        "matrix_id": person.matrix_user_id,
        "bot_account": person.bot_account,
        "settings": view["local_user"],
        "vote_display_mode_settings": view["local_user_vote_display_mode"],
        "followed_communities": lists.followed_communities,
        "saved_posts": lists.saved_posts,
        "saved_comments": lists.saved_comments,
        "blocked_communities": lists.blocked_communities,
        "blocked_users": lists.blocked_users,
        "blocked_instances": lists.blocked_instances,
    }
    return ok(body, viewer)


@router.post("/user/import_settings", **v3("importSettings", "SuccessResponse", login=True))
async def import_settings(form: ImportSettings, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    lists = {name: list(getattr(form, name)) for name in ID_LISTS}
    settings_backup.check_item_count(sum(map(len, lists.values())) + len(form.blocked_instances))
    profile = {key: getattr(form, key) for key in ("display_name", "bio", "matrix_id", "bot_account")}
    present = {key: value for key, value in profile.items() if key in form.model_fields_set}
    async with c.db.write() as session:
        user, person = await accounts.own_account(session, viewer)
        await settings_backup.import_profile(
            session,
            user,
            person,
            present,
            form.settings.model_dump(exclude_none=True, mode="json") if form.settings else None,
            form.vote_display_mode_settings.model_dump(exclude_none=True) if form.vote_display_mode_settings else None,
        )
    response = ok({"success": True}, viewer)
    if any(lists.values()) or form.blocked_instances:
        response.background = BackgroundTask(
            import_lists, c.db, c.settings, viewer.local_user.id, viewer.token, lists, list(form.blocked_instances)
        )
    return response
