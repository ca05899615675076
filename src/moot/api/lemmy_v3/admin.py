"""People and administration: community and site bans, the banned list, moderators, community transfer, admins,
purges. The rules are in actions/people.py; this module reads forms and answers views."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import Field

from moot.actions import people
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.community import community_languages
from moot.api.lemmy_v3.context import Ctx, context, ok
from moot.api.lemmy_v3.forms import Flag, Form, Id, Int64
from moot.api.lemmy_v3.site import get_site_json
from moot.api.openapi import API_PREFIX, v3
from moot.domain.errors import LemmyError
from moot.queries.communities import get_community_view, moderators
from moot.queries.persons import admins, get_person_view
from moot.queries.viewer import Viewer

router = APIRouter(prefix=API_PREFIX)

# An outer bound against absurd bodies; the action refuses a reason over Lemmy's 10,000 (`invalid_body_field`).
_REASON = 200_000
# chrono's range of unix times (about ±262,000 years): beyond it Lemmy answers `invalid_unix_time`.
_CHRONO_MAX = 8_210_298_412_799
_CHRONO_MIN = -8_334_632_851_200


def expiry(expires: int | None) -> datetime | None:
    """A ban's `expires` (unix seconds, as Lemmy 0.19's forms) as a time. Past Python's years (9999) but within
    chrono's, a time far ahead is a permanent ban to Lemmy and one far back is in the past: the action decides
    both from the largest or smallest time Python has."""
    if expires is None:
        return None
    if not _CHRONO_MIN <= expires <= _CHRONO_MAX:
        raise LemmyError("invalid_unix_time")
    try:
        return datetime.fromtimestamp(expires, UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.max.replace(tzinfo=UTC) if expires > 0 else datetime.min.replace(tzinfo=UTC)


class BanFromCommunity(Form):
    community_id: Id
    person_id: Id
    ban: Flag
    remove_data: Flag | None = None
    reason: str | None = Field(default=None, max_length=_REASON)
    expires: Int64 | None = None


class BanPerson(Form):
    person_id: Id
    ban: Flag
    remove_data: Flag | None = None
    reason: str | None = Field(default=None, max_length=_REASON)
    expires: Int64 | None = None


class AddModToCommunity(Form):
    community_id: Id
    person_id: Id
    added: Flag


class TransferCommunity(Form):
    community_id: Id
    person_id: Id


class AddAdmin(Form):
    person_id: Id
    added: Flag


class PurgePerson(Form):
    person_id: Id
    reason: str | None = Field(default=None, max_length=_REASON)


class PurgeCommunity(Form):
    community_id: Id
    reason: str | None = Field(default=None, max_length=_REASON)


class PurgePost(Form):
    post_id: Id
    reason: str | None = Field(default=None, max_length=_REASON)


class PurgeComment(Form):
    comment_id: Id
    reason: str | None = Field(default=None, max_length=_REASON)


async def _person_view(c: Ctx, person_id: int) -> dict[str, Any]:
    async with c.db.read() as session:
        return convert.person_view(await get_person_view(session, person_id))


async def _moderators(c: Ctx, community_id: int) -> list[dict[str, Any]]:
    async with c.db.read() as session:
        return [convert.moderator_view(com, p) for com, p in await moderators(session, community_id)]


@router.post("/community/ban_user", **v3("banFromCommunity", "BanFromCommunityResponse", login=True, not_found=True))
async def ban_from_community(form: BanFromCommunity, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    expires = expiry(form.expires)
    async with c.db.write() as session:
        await people.ban_from_community(
            session, viewer, form.community_id, form.person_id, form.ban, form.reason, expires, bool(form.remove_data)
        )
    return ok({"person_view": await _person_view(c, form.person_id), "banned": form.ban}, viewer)


@router.post("/user/ban", **v3("banPerson", "BanPersonResponse", login=True, not_found=True))
async def ban_person(form: BanPerson, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    expires = expiry(form.expires)
    async with c.db.write() as session:
        await people.ban_from_site(
            session, viewer, form.person_id, form.ban, form.reason, expires, bool(form.remove_data)
        )
    return ok({"person_view": await _person_view(c, form.person_id), "banned": form.ban}, viewer)


@router.get("/user/banned", **v3("getBannedPersons", "BannedPersonsResponse", login=True))
async def banned_persons(c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        banned = await people.list_banned(session, viewer)
    return ok({"banned": [convert.person_view(v) for v in banned]}, viewer)


@router.post("/community/mod", **v3("addModToCommunity", "AddModToCommunityResponse", login=True, not_found=True))
async def add_mod(form: AddModToCommunity, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await people.add_moderator(session, viewer, form.community_id, form.person_id, form.added)
    return ok({"moderators": await _moderators(c, form.community_id)}, viewer)


@router.post("/community/transfer", **v3("transferCommunity", "GetCommunityResponse", login=True, not_found=True))
async def transfer(form: TransferCommunity, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await people.transfer_community(session, viewer, form.community_id, form.person_id)
    async with c.db.read() as session:
        view = await get_community_view(session, form.community_id, viewer)
        mods = await moderators(session, form.community_id)
        languages = await community_languages(session, form.community_id)
    body = {
        "community_view": convert.community_view(view),
        "moderators": [convert.moderator_view(com, p) for com, p in mods],
        "discussion_languages": languages,
    }
    return ok(body, viewer)


async def _admins(c: Ctx) -> list[dict[str, Any]]:
    async with c.db.read() as session:
        return [convert.person_view(a) for a in await admins(session)]


@router.post("/admin/add", **v3("addAdmin", "AddAdminResponse", login=True, not_found=True))
async def add_admin(form: AddAdmin, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await people.add_admin(session, viewer, form.person_id, form.added)
    return ok({"admins": await _admins(c)}, viewer)


@router.post("/user/leave_admin", **v3("leaveAdmin", "GetSiteResponse", login=True))
async def leave_admin(c: Ctx = Depends(context)) -> JSONResponse:
    viewer: Viewer = c.require_viewer()
    async with c.db.write() as session:
        await people.leave_admin(session, viewer)
    async with c.db.read() as session:
        # As Lemmy: the site and its admins, without `my_user`.
        return ok(await get_site_json(session, None), viewer)


def _success(viewer: Viewer) -> JSONResponse:
    return ok({"success": True}, viewer)


@router.post("/admin/purge/person", **v3("purgePerson", "SuccessResponse", login=True, not_found=True))
async def purge_person(form: PurgePerson, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await people.purge_person(session, viewer, form.person_id, form.reason)
    return _success(viewer)


@router.post("/admin/purge/community", **v3("purgeCommunity", "SuccessResponse", login=True, not_found=True))
async def purge_community(form: PurgeCommunity, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await people.purge_community(session, viewer, form.community_id, form.reason)
    return _success(viewer)


@router.post("/admin/purge/post", **v3("purgePost", "SuccessResponse", login=True, not_found=True))
async def purge_post(form: PurgePost, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await people.purge_post(session, viewer, form.post_id, form.reason)
    return _success(viewer)


@router.post("/admin/purge/comment", **v3("purgeComment", "SuccessResponse", login=True, not_found=True))
async def purge_comment(form: PurgeComment, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await people.purge_comment(session, viewer, form.comment_id, form.reason)
    return _success(viewer)
