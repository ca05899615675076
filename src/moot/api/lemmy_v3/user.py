"""Accounts and a person's own things: register, login, settings, details, inbox, blocks."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from moot.actions import accounts, blocks, captcha, comments, messages
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok, query_form
from moot.api.lemmy_v3.forms import (
    BlockPerson,
    ChangePassword,
    GetPersonDetails,
    Login,
    MarkMentionRead,
    Paged,
    Register,
    SaveUserSettings,
)
from moot.api.lemmy_v3.remote import person_id_by_name
from moot.api.openapi import API_PREFIX, v3
from moot.domain.enums import CommentSortType, SortType
from moot.domain.errors import LemmyError
from moot.http.shared_reads import reads_share_a_session
from moot.queries import inbox
from moot.queries.comments import CommentQuery, get_comment_view, list_comments
from moot.queries.communities import moderated_by
from moot.queries.persons import get_person_view
from moot.queries.posts import PostQuery, list_posts
from moot.queries.site import site_of_instance

router = APIRouter(prefix=API_PREFIX)


def _login_response(
    jwt: str | None, registration_created: bool = False, verify_email_sent: bool = False
) -> dict[str, object]:
    body: dict[str, object] = {"registration_created": registration_created, "verify_email_sent": verify_email_sent}
    if jwt is not None:
        body["jwt"] = jwt
    return body


@router.post("/user/register", **v3("register", "LoginResponse"))
async def register(form: Register, request: Request, c: Ctx = Depends(context)) -> JSONResponse:
    registration = accounts.Registration(
        username=form.username,
        password=form.password,
        password_verify=form.password_verify,
        email=form.email or None,
        show_nsfw=form.show_nsfw,
        honeypot=form.honeypot,
        answer=form.answer,
        accept_language=request.headers.get("accept-language"),
        captcha_passed=await _redeem_captcha(c, form.captcha_uuid, form.captcha_answer),
    )
    async with c.db.write() as session:
        done = await accounts.register_account(session, c.settings, registration, c.address, c.user_agent)
    # No login while the account waits for an admin (its application) or for its address to be verified.
    return ok(_login_response(done.jwt, done.registration_created, done.verify_email_sent))


async def _redeem_captcha(c: Ctx, key: str | None, answer: str | None) -> bool:
    """Its own transaction: a captcha is used up even when the registration is then refused."""
    if not key:
        return False
    async with c.db.write() as session:
        return await captcha.redeem(session, key, answer)


@router.post("/user/login", **v3("login", "LoginResponse", incorrect_login=True))
async def login(form: Login, c: Ctx = Depends(context)) -> JSONResponse:
    async with c.db.write() as session:
        jwt = await accounts.login(
            session,
            c.settings,
            form.username_or_email,
            form.password,
            c.address,
            c.user_agent,
            totp_2fa_token=form.totp_2fa_token,
        )
    return ok(_login_response(jwt))


@router.post("/user/logout", **v3("logout", "SuccessResponse", login=True))
async def logout(c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await accounts.logout(session, viewer.token)
    response = ok({"success": True}, viewer)
    response.delete_cookie("jwt")
    return response


@router.get("/user/validate_auth", **v3("validateAuth", "SuccessResponse"))
async def validate_auth(c: Ctx = Depends(context)) -> JSONResponse:
    # The one endpoint that reports a bad token; Lemmy answers it with a plain 400, not the 401 of a login.
    if c.viewer is None:
        raise LemmyError("not_logged_in")
    return ok({"success": True}, c.viewer)


@router.put("/user/change_password", **v3("changePassword", "LoginResponse", login=True, incorrect_login=True))
async def change_password(form: ChangePassword, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        user = await accounts.own_user(session, viewer)
        jwt = await accounts.change_password(
            session, c.settings, user, form.old_password, form.new_password, form.new_password_verify
        )
    return ok(_login_response(jwt), viewer)


@router.put("/user/save_user_settings", **v3("saveUserSettings", "SuccessResponse", login=True))
async def save_user_settings(form: SaveUserSettings, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        user, person = await accounts.own_account(session, viewer)
        await accounts.save_user_settings(
            session, user, person, form.model_dump(exclude_none=True, mode="json"), settings=c.settings
        )
    return ok({"success": True}, viewer)


@router.get("/user", **v3("getPersonDetails", "GetPersonDetailsResponse", not_found=True))
@reads_share_a_session
async def person_details(
    form: GetPersonDetails = Depends(query_form(GetPersonDetails)), c: Ctx = Depends(context)
) -> JSONResponse:
    if form.person_id is not None:
        person_id = form.person_id
    elif form.username:
        person_id = await person_id_by_name(c, form.username)
    else:
        raise LemmyError("no_id_given")
    # The person's posts and comments, newest first (the default), filtered by creator: PostgreSQL planned the
    # comment list anew on every request (1.3 ms; its custom plans looked cheaper than the generic one, which is
    # the same walk of the creator's index). Other sorts keep custom plans: the best one depends on how many
    # comments the person has (queries/comments.py `_reads_its_candidates`), which a generic plan cannot know (it read
    # and sorted all 107,918 comments of the most active person, Hot: 740 ms, where walking ix_comment_hot
    # takes 3 ms).
    sort = form.sort or SortType.NEW
    async with c.db.read(generic_plans=sort in (SortType.NEW, SortType.OLD)) as session:
        view = await get_person_view(session, person_id)
        saved_only = bool(form.saved_only) and c.viewer is not None and c.viewer.person_id == person_id
        posts, _ = await list_posts(
            session,
            PostQuery(
                sort=sort,
                creator_id=None if saved_only else person_id,
                community_id=form.community_id,
                saved_only=saved_only,
                show_hidden=True,
                show_read=True,
                show_nsfw=True,
                page=form.page,
                limit=form.limit,
            ),
            c.viewer,
        )
        comment_views = await list_comments(
            session,
            CommentQuery(
                creator_id=None if saved_only else person_id,
                community_id=form.community_id,
                saved_only=saved_only,
                sort=_comment_sort(form.sort),
                page=form.page,
                limit=form.limit,
            ),
            c.viewer,
        )
        moderates = await moderated_by(session, person_id, c.viewer)
        site = await site_of_instance(session, view.person.instance_id)
    body: dict[str, object] = {
        "person_view": convert.person_view(view),
        "comments": convert.comment_views(comment_views),
        "posts": [convert.post_view(v) for v in posts],
        "moderates": [convert.moderator_view(com, p) for com, p in moderates],
    }
    if site is not None:
        body["site"] = convert.site(site)
    return ok(body, c.viewer)


def _comment_sort(sort: SortType | None) -> CommentSortType:
    if sort == SortType.OLD:
        return CommentSortType.OLD
    if sort is not None and sort.value.startswith("Top"):
        return CommentSortType.TOP
    if sort in (SortType.HOT, SortType.ACTIVE, SortType.SCALED):
        return CommentSortType.HOT
    if sort == SortType.CONTROVERSIAL:
        return CommentSortType.CONTROVERSIAL
    return CommentSortType.NEW


@router.get("/user/replies", **v3("getReplies", "GetRepliesResponse", login=True))
@reads_share_a_session
async def get_replies(form: Paged = Depends(query_form(Paged)), c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        rows = await inbox.replies(session, viewer, form.sort, bool(form.unread_only), form.page, form.limit)
    return ok({"replies": [convert.comment_reply_view(r, v, viewer.person) for r, v in rows]}, viewer)


@router.get("/user/mention", **v3("getPersonMentions", "GetPersonMentionsResponse", login=True))
@reads_share_a_session
async def get_mentions(form: Paged = Depends(query_form(Paged)), c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        rows = await inbox.mentions(session, viewer, form.sort, bool(form.unread_only), form.page, form.limit)
    return ok({"mentions": [convert.person_mention_view(m, v, viewer.person) for m, v in rows]}, viewer)


@router.post(
    "/user/mention/mark_as_read",
    **v3("markPersonMentionAsRead", "PersonMentionResponse", login=True, not_found=True),
)
async def mark_mention_read(form: MarkMentionRead, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        mention = await comments.mark_mention_read(session, viewer, form.person_mention_id, form.read)
    async with c.db.read() as session:
        view = await get_comment_view(session, mention.comment_id, viewer)
    return ok({"person_mention_view": convert.person_mention_view(mention, view, viewer.person)}, viewer)


@router.post("/user/mark_all_as_read", **v3("markAllAsRead", "GetRepliesResponse", login=True))
async def mark_all_read(c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await comments.mark_all_read(session, viewer)
        await messages.mark_all_private_messages_read(session, viewer)
    return ok({"replies": []}, viewer)


@router.get("/user/unread_count", **v3("getUnreadCount", "GetUnreadCountResponse", login=True))
@reads_share_a_session
async def unread_count(c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        replies, mentions, private_messages = await inbox.unread_counts_with_messages(session, viewer)
    return ok({"replies": replies, "mentions": mentions, "private_messages": private_messages}, viewer)


@router.post("/user/block", **v3("blockPerson", "BlockPersonResponse", login=True, not_found=True))
async def block_person(form: BlockPerson, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await blocks.block_person(session, viewer, form.person_id, form.block)
    async with c.db.read() as session:
        view = await get_person_view(session, form.person_id)
    return ok({"person_view": convert.person_view(view), "blocked": form.block}, viewer)
