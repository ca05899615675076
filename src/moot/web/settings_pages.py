"""The settings page: the profile and every preference Lemmy's SaveUserSettings holds (one form, saved through
accounts.save_user_settings), changing the password, the person's blocks (instances, people, communities), and the
settings backup (exported by the API's own /user/export_settings, imported through the actions its
/user/import_settings uses, with the same limits). Every form works without JavaScript; a refused one comes back
with what was typed (passwords excepted)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from moot.actions import account_lifecycle, accounts, settings_backup
from moot.domain import validation
from moot.domain.enums import ListingType, PostListingMode, SortType
from moot.domain.errors import LemmyError
from moot.domain.languages import LANGUAGES
from moot.federation.settings_import import ID_LISTS, import_lists
from moot.queries.persons import find_instance_id
from moot.queries.site import MyUser, get_my_user, load_local_site
from moot.web.context import Web, web_context
from moot.web.params import FRONT_LISTINGS, SORT_LABELS
from moot.web.routing import Form, message_for, posted_form, web_router
from moot.web.security import AUTH_COOKIE
from moot.web.uploads import uploaded_url

router = web_router()

THEME_LABELS = {"browser": "Same as my device", "light": "Light", "dark": "Dark"}
# The switches of the form, each with its label: all of them LocalUser's but `bot_account` (the person's).
SWITCHES: dict[str, str] = {
    "show_nsfw": "Show NSFW posts",
    "blur_nsfw": "Blur NSFW images",
    "show_bot_accounts": "Show posts and comments of bot accounts",
    "show_read_posts": "Show posts I have read",
    "show_scores": "Show scores",
    "show_avatars": "Show avatars",
    "open_links_in_new_tab": "Open links in a new tab",
    "send_notifications_to_email": "Email me replies, mentions and private messages",
    "bot_account": "This is a bot account",
}
TEXTS = ("display_name", "bio", "email", "matrix_user_id")
UNDETERMINED = 0
PAGE_MESSAGES = {
    "incorrect_login": "The current password is not right.",
    "cant_block_local_instance": "This site cannot be blocked.",
    "couldnt_find_object": "This server knows no instance by that name.",
    "too_many_items": f"A backup lists at most {settings_backup.MAX_IMPORT_ITEMS:,} follows, saves and blocks.",
    "slurs": "That contains words this site does not allow.",
    "invalid_matrix_id": "A Matrix id looks like @name:server.org.",
    "email_required": "This site needs an email address for every account.",
    "no_email_setup": "This server sends no email, so the address cannot be verified.",
}
NOTICES = {
    "saved": "Your settings are saved.",
    "verify": "Your settings are saved. A link was mailed to the new address: it replaces the old one once followed.",
    "password": "Your password is changed, and you are logged out everywhere else.",
    "blocked": "The instance is blocked: its communities and people are hidden from your listings.",
    "unblocked": "The instance is unblocked.",
    "imported": "The backup is imported. Its follows, saves and blocks are being added now.",
}


def _message(exc: LemmyError) -> str:
    return PAGE_MESSAGES.get(exc.error) or message_for(exc)


def _values_of(mine: MyUser) -> dict[str, Any]:
    user, person = mine.viewer.local_user, mine.viewer.person
    values: dict[str, Any] = {
        "display_name": person.display_name or "",
        "bio": person.bio or "",
        "email": user.email or "",
        "matrix_user_id": person.matrix_user_id or "",
        "default_sort_type": user.default_sort_type,
        "default_listing_type": user.default_listing_type,
        "theme": user.theme,
        "interface_language": user.interface_language,
        "discussion_languages": [i for i in mine.discussion_languages if i != UNDETERMINED],
    }
    for key in SWITCHES:
        values[key] = bool(getattr(person if key == "bot_account" else user, key))
    return values


async def _page(
    web: Web,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    """The page; `values`: the settings form as typed (else as stored), `errors`: by section, `typed`: the other
    forms' fields as typed."""
    viewer = web.require_viewer()
    async with web.db.read() as session:
        mine = await get_my_user(session, viewer)
    shown = _values_of(mine)
    if values is not None:
        shown.update(values)
    interface = [lang for lang in LANGUAGES if lang.id != UNDETERMINED]
    return web.render(
        "settings.html",
        status=400 if errors else 200,
        title="Settings",
        values=shown,
        errors=errors or {},
        typed=typed or {},
        notice=notice,
        sorts=SORT_LABELS,
        listings=FRONT_LISTINGS,
        themes=THEME_LABELS,
        switches=SWITCHES,
        languages=interface,
        interface_known={lang.code for lang in interface} | {"browser"},
        instance_blocks=mine.instance_blocks,
        person_blocks=mine.person_blocks,
        community_blocks=mine.community_blocks,
    )


@router.get("/settings")
async def settings_page(saved: str | None = None, done: str | None = None, web: Web = Depends(web_context)) -> Response:
    key = done or ("verify" if saved == "verify" else "saved" if saved else None)
    return await _page(web, notice=NOTICES.get(key or ""))


def _changes(form: Form) -> dict[str, object]:
    """What the settings form changes: only the fields it sent (a checkbox sends its hidden 0 first, then 1 when
    ticked), so a partial post leaves the rest as it is."""
    changes: dict[str, object] = {}
    for key in TEXTS:
        if key in form.values:
            changes[key] = form.text(key)
    for key in SWITCHES:
        if key in form.values:
            changes[key] = form.flag(key)
    for key, enum in (("default_sort_type", SortType), ("default_listing_type", ListingType)):
        raw = form.optional(key)
        if raw is not None:
            try:
                changes[key] = enum(raw).value
            except ValueError:
                raise LemmyError("unknown", f"{key}: not one of the choices") from None
    theme = form.optional("theme")
    if theme is not None:
        changes["theme"] = theme if theme in THEME_LABELS else "browser"
    interface = form.optional("interface_language")
    if interface is not None:
        changes["interface_language"] = interface[: accounts.INTERFACE_LANGUAGE_MAX]
    if form.flag("discussion_languages_sent"):
        chosen = [validation.as_id(raw) for raw in form.all("discussion_languages")]
        changes["discussion_languages"] = [i for i in chosen if i is not None]
    return changes


def _typed(form: Form) -> dict[str, Any]:
    """The settings form as typed, to show it again."""
    values: dict[str, Any] = {key: form.text(key) for key in (*TEXTS, "default_sort_type", "default_listing_type")}
    values.update({key: form.flag(key) for key in SWITCHES if key in form.values})
    for key in ("theme", "interface_language"):
        if key in form.values:
            values[key] = form.text(key)
    if form.flag("discussion_languages_sent"):
        values["discussion_languages"] = [validation.as_id(raw) for raw in form.all("discussion_languages")]
    return {key: value for key, value in values.items() if key in form.values or key == "discussion_languages"}


@router.post("/settings")
async def save_settings(request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    verify = False
    try:
        changes = _changes(form)
        # An avatar or banner chosen in the form is uploaded first; the replaced one goes (save_user_settings).
        for key in ("avatar", "banner"):
            url = await uploaded_url(web, form, key)
            if url:
                changes[key] = url
        async with web.db.write() as session:
            user, person = await accounts.own_account(session, viewer)
            await accounts.save_user_settings(session, user, person, changes, settings=web.settings)
            # A new address on a site that verifies them waits for its link: the stored one has not changed.
            email = changes.get("email")
            verify = isinstance(email, str) and bool(email.strip()) and user.email != _normalized(email)
    except LemmyError as exc:
        return await _page(web, values=_typed(form), errors={"settings": _message(exc)})
    return web.redirect("/settings?saved=verify" if verify else "/settings?saved=1")


def _normalized(email: str) -> str:
    try:
        return validation.normalize_email(email)
    except LemmyError:
        return email


@router.post("/settings/password")
async def change_password(request: Request, web: Web = Depends(web_context)) -> Response:
    """Lemmy's /user/change_password through the same action: every other login ends, this one gets a new token."""
    viewer = web.require_viewer()
    form = posted_form(request)
    try:
        async with web.db.write() as session:
            user = await accounts.own_user(session, viewer)
            token = await accounts.change_password(
                session,
                web.settings,
                user,
                form.text("old_password"),
                form.text("new_password"),
                form.text("new_password_verify"),
            )
    except LemmyError as exc:
        return await _page(web, errors={"password": _message(exc)})
    web.cookies[AUTH_COOKIE] = token
    return web.redirect("/settings?done=password#password")


@router.post("/settings/block_instance")
async def block_instance(request: Request, web: Web = Depends(web_context)) -> Response:
    """Block an instance by its domain (one this server knows), or unblock one of the list by its id: the action
    of the API's /site/block."""
    viewer = web.require_viewer()
    form = posted_form(request)
    domain = form.text("domain").strip().lower()
    block = form.flag("block")
    try:
        async with web.db.write() as session:
            loaded = await load_local_site(session)
            if loaded is None:
                raise LemmyError("couldnt_find_object", status=404)
            instance_id = form.integer("instance_id") if not domain else await find_instance_id(session, domain)
            if instance_id is None:
                raise LemmyError("couldnt_find_object", status=404)
            await account_lifecycle.block_instance(
                session, viewer.person_id, loaded.site.instance_id, instance_id, block
            )
    except LemmyError as exc:
        return await _page(web, errors={"blocks": _message(exc)}, typed={"domain": form.text("domain")})
    return web.redirect(f"/settings?done={'blocked' if block else 'unblocked'}#blocks")


# The parts of a backup the import reads, with the bounds of the API's form (api/lemmy_v3/settings_backup.py).
_PROFILE_TEXT = {"display_name": 255, "bio": 200_000, "matrix_id": 255}
_SETTING_TEXT = {"theme": 100, "interface_language": 20}
_SETTING_CHOICES: dict[str, Any] = {
    "default_sort_type": SortType,
    "default_listing_type": ListingType,
    "post_listing_mode": PostListingMode,
}
_LISTS = (*ID_LISTS, "blocked_instances")


def _refuse(what: str) -> LemmyError:
    return LemmyError("unknown", f"The backup's {what} is not what a settings backup holds.")


def _section(data: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> dict[str, Any] | None:
    """A backup's `settings` or `vote_display_mode_settings`: the fields the import reads, checked like the API's
    form (nulls left out)."""
    raw = data.get(key)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _refuse(key)
    out: dict[str, Any] = {}
    for name in allowed:
        value = raw.get(name)
        if value is None:
            continue
        if name in _SETTING_TEXT:
            ok = isinstance(value, str) and len(value) <= _SETTING_TEXT[name]
        elif name in _SETTING_CHOICES:
            ok = isinstance(value, str) and value in _SETTING_CHOICES[name].__members__.values()
        else:
            ok = isinstance(value, bool)
        if not ok:
            raise _refuse(f"{key}.{name}")
        out[name] = value
    return out


def read_backup(text: str) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None, dict[str, list[str]]]:
    """A pasted backup: its profile fields (only those it has), settings, vote display switches and lists."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise LemmyError("unknown", "That is not a settings backup (not JSON).") from None
    if not isinstance(data, dict):
        raise LemmyError("unknown", "That is not a settings backup (not a JSON object).")
    profile: dict[str, Any] = {}
    for key, limit in _PROFILE_TEXT.items():
        if key in data:
            value = data[key]
            if value is not None and not (isinstance(value, str) and len(value) <= limit):
                raise _refuse(key)
            profile[key] = value
    if "bot_account" in data:
        if data["bot_account"] is not None and not isinstance(data["bot_account"], bool):
            raise _refuse("bot_account")
        profile["bot_account"] = data["bot_account"]
    lists: dict[str, list[str]] = {}
    for name in _LISTS:
        raw = data.get(name) or []
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise _refuse(name)
        if len(raw) > settings_backup.MAX_IMPORT_ITEMS:
            raise LemmyError("too_many_items")
        lists[name] = raw
    settings = _section(data, "settings", settings_backup.IMPORTED_SETTINGS)
    votes = _section(data, "vote_display_mode_settings", tuple(settings_backup.IMPORTED_VOTE_DISPLAY))
    return profile, settings, votes, lists


@router.post("/settings/import")
async def import_settings(request: Request, web: Web = Depends(web_context)) -> Response:
    """The API's /user/import_settings from a pasted backup: the profile and settings now, the follows, saves and
    blocks after the answer (federation/settings_import.py), in the `import_user_settings` rate limit."""
    viewer = web.require_viewer()
    form = posted_form(request)
    try:
        profile, settings, votes, lists = read_backup(form.text("backup"))
        settings_backup.check_item_count(sum(map(len, lists.values())))
        async with web.db.write() as session:
            user, person = await accounts.own_account(session, viewer)
            await settings_backup.import_profile(session, user, person, profile, settings, votes)
    except LemmyError as exc:
        return await _page(web, errors={"backup": _message(exc)}, typed={"backup": form.text("backup")})
    response = web.redirect("/settings?done=imported#backup")
    instances = lists.pop("blocked_instances")
    if any(lists.values()) or instances:
        response.background = BackgroundTask(
            import_lists, web.db, web.settings, viewer.local_user.id, viewer.token, lists, instances
        )
    return response
