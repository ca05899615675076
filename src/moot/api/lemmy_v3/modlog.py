"""GET /modlog: Lemmy's 15 lists from the one modlog table (queries/modlog.py), each entry in its Lemmy shape.

Moderators' names: with the site's `hide_modlog_mod_names` on, a reader who is neither an admin nor a moderator of
some community gets no `moderator` (`admin`) in the views and no `mod_person_id` filter, as in Lemmy 0.19. Lemmy
still answers the moderator's id in `mod_person_id` then, which names them all the same; Moot answers 0."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from moot.actions import access
from moot.actions.modlog import ModlogKind
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok, query_form
from moot.api.lemmy_v3.forms import QueryForm, QueryId, QueryInt64
from moot.api.openapi import API_PREFIX, v3
from moot.domain.timefmt import lemmy_time
from moot.queries.defaults import site_switches
from moot.queries.modlog import ModlogQuery, ModlogRow, list_modlog

router = APIRouter(prefix=API_PREFIX)

Json = dict[str, Any]
# Who acted, when the reader may not know it.
HIDDEN_PERSON_ID = 0


class GetModlog(QueryForm):
    mod_person_id: QueryId | None = None
    community_id: QueryId | None = None
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None
    type_: ModlogKind | Literal["All"] | None = None
    other_person_id: QueryId | None = None
    post_id: QueryId | None = None
    comment_id: QueryId | None = None


def _entry(row: ModlogRow, actor_field: str, **fields: Any) -> Json:
    e = row.entry
    acted = e.mod_person_id if row.moderator is not None else HIDDEN_PERSON_ID
    return convert.compact({"id": e.id, actor_field: acted, **fields, "when_": lemmy_time(e.published)})


def _actor(row: ModlogRow, key: str = "moderator") -> Json:
    return {} if row.moderator is None else {key: convert.person(row.moderator)}


def _expires(row: ModlogRow) -> str | None:
    return None if row.entry.expires is None else lemmy_time(row.entry.expires)


def _p(row: ModlogRow) -> Any:
    assert row.post is not None
    return convert.post(row.post)


def _c(row: ModlogRow) -> Any:
    assert row.community is not None
    return convert.community(row.community)


def _person(row: ModlogRow) -> Any:
    assert row.subject is not None
    return convert.person(row.subject)


def _remove_post(r: ModlogRow) -> Json:
    e = r.entry
    entry = _entry(r, "mod_person_id", post_id=r.post.id if r.post else e.post_id, reason=e.reason, removed=e.state)
    return {"mod_remove_post": entry, **_actor(r), "post": _p(r), "community": _c(r)}


def _lock_post(r: ModlogRow) -> Json:
    entry = _entry(r, "mod_person_id", post_id=r.post.id if r.post else r.entry.post_id, locked=r.entry.state)
    return {"mod_lock_post": entry, **_actor(r), "post": _p(r), "community": _c(r)}


def _feature_post(r: ModlogRow) -> Json:
    e = r.entry
    entry = _entry(
        r,
        "mod_person_id",
        post_id=r.post.id if r.post else e.post_id,
        featured=e.state,
        is_featured_community=e.featured_community,
    )
    return {"mod_feature_post": entry, **_actor(r), "post": _p(r), "community": _c(r)}


def _remove_comment(r: ModlogRow) -> Json:
    e = r.entry
    assert r.comment is not None
    entry = _entry(r, "mod_person_id", comment_id=e.comment_id, reason=e.reason, removed=e.state)
    return {
        "mod_remove_comment": entry,
        **_actor(r),
        "comment": convert.comment(r.comment),
        "commenter": _person(r),
        "post": _p(r),
        "community": _c(r),
    }


def _remove_community(r: ModlogRow) -> Json:
    e = r.entry
    entry = _entry(r, "mod_person_id", community_id=_c(r)["id"], reason=e.reason, removed=e.state)
    return {"mod_remove_community": entry, **_actor(r), "community": _c(r)}


def _ban_from_community(r: ModlogRow) -> Json:
    e = r.entry
    entry = _entry(
        r,
        "mod_person_id",
        other_person_id=e.other_person_id,
        community_id=_c(r)["id"],
        reason=e.reason,
        banned=e.state,
        expires=_expires(r),
    )
    return {"mod_ban_from_community": entry, **_actor(r), "community": _c(r), "banned_person": _person(r)}


def _ban(r: ModlogRow) -> Json:
    e = r.entry
    entry = _entry(
        r, "mod_person_id", other_person_id=e.other_person_id, reason=e.reason, banned=e.state, expires=_expires(r)
    )
    return {"mod_ban": entry, **_actor(r), "banned_person": _person(r)}


def _add_community(r: ModlogRow) -> Json:
    e = r.entry
    entry = _entry(r, "mod_person_id", other_person_id=e.other_person_id, community_id=_c(r)["id"], removed=e.state)
    return {"mod_add_community": entry, **_actor(r), "community": _c(r), "modded_person": _person(r)}


def _transfer_community(r: ModlogRow) -> Json:
    entry = _entry(r, "mod_person_id", other_person_id=r.entry.other_person_id, community_id=_c(r)["id"])
    return {"mod_transfer_community": entry, **_actor(r), "community": _c(r), "modded_person": _person(r)}


def _add(r: ModlogRow) -> Json:
    entry = _entry(r, "mod_person_id", other_person_id=r.entry.other_person_id, removed=r.entry.state)
    return {"mod_add": entry, **_actor(r), "modded_person": _person(r)}


def _hide_community(r: ModlogRow) -> Json:
    e = r.entry
    entry = _entry(r, "mod_person_id", community_id=_c(r)["id"], reason=e.reason, hidden=e.state)
    return {"mod_hide_community": entry, **_actor(r, "admin"), "community": _c(r)}


def _purge_person(r: ModlogRow) -> Json:
    return {"admin_purge_person": _entry(r, "admin_person_id", reason=r.entry.reason), **_actor(r, "admin")}


def _purge_community(r: ModlogRow) -> Json:
    return {"admin_purge_community": _entry(r, "admin_person_id", reason=r.entry.reason), **_actor(r, "admin")}


def _purge_post(r: ModlogRow) -> Json:
    entry = _entry(r, "admin_person_id", community_id=_c(r)["id"], reason=r.entry.reason)
    return {"admin_purge_post": entry, **_actor(r, "admin"), "community": _c(r)}


def _purge_comment(r: ModlogRow) -> Json:
    entry = _entry(r, "admin_person_id", post_id=_p(r)["id"], reason=r.entry.reason)
    return {"admin_purge_comment": entry, **_actor(r, "admin"), "post": _p(r)}


# Each kind: its list in GetModlogResponse and its view. The response lists them in Lemmy's order.
VIEWS: dict[str, tuple[str, Callable[[ModlogRow], Json]]] = {
    "ModRemovePost": ("removed_posts", _remove_post),
    "ModLockPost": ("locked_posts", _lock_post),
    "ModFeaturePost": ("featured_posts", _feature_post),
    "ModRemoveComment": ("removed_comments", _remove_comment),
    "ModRemoveCommunity": ("removed_communities", _remove_community),
    "ModBanFromCommunity": ("banned_from_community", _ban_from_community),
    "ModBan": ("banned", _ban),
    "ModAddCommunity": ("added_to_community", _add_community),
    "ModTransferCommunity": ("transferred_to_community", _transfer_community),
    "ModAdd": ("added", _add),
    "AdminPurgePerson": ("admin_purged_persons", _purge_person),
    "AdminPurgeCommunity": ("admin_purged_communities", _purge_community),
    "AdminPurgePost": ("admin_purged_posts", _purge_post),
    "AdminPurgeComment": ("admin_purged_comments", _purge_comment),
    "ModHideCommunity": ("hidden_communities", _hide_community),
}


@router.get("/modlog", **v3("getModlog", "GetModlogResponse"))
async def get_modlog(form: GetModlog = Depends(query_form(GetModlog)), c: Ctx = Depends(context)) -> JSONResponse:
    query = ModlogQuery(
        community_id=form.community_id,
        mod_person_id=form.mod_person_id,
        other_person_id=form.other_person_id,
        type_=form.type_,
        post_id=form.post_id,
        comment_id=form.comment_id,
        page=form.page,
        limit=form.limit,
    )
    async with c.db.read() as session:
        hide = (await site_switches(session)).hide_modlog_mod_names
        show_names = not hide or (c.viewer is not None and await access.is_mod_of_any_or_admin(session, c.viewer))
        rows = await list_modlog(session, query, c.viewer, show_names=show_names)
    body: dict[str, list[Json]] = {name: [] for name, _ in VIEWS.values()}
    for row in rows:
        name, view = VIEWS[row.entry.kind]
        body[name].append(view(row))
    return ok(body, c.viewer)
