"""What people type: the composer's limits, its server-rendered preview, errors that name the limit, and a comment
kept when its form expired or was refused, so nothing typed is ever lost or silently cut."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from moot.domain.errors import LemmyError
from moot.domain.validation import COMMENT_MAX, POST_BODY_MAX, TITLE_MAX, TITLE_MIN, utf16_length
from moot.queries.comments import get_comment_view
from moot.queries.posts import get_post_view
from moot.web.context import Web, web_context
from moot.web.routing import Form, error_response, keep_text_on_expiry, message_for, posted_form
from moot.web.security import safe_next

EXPIRED = "This form expired before it was sent, so nothing was posted. Your text is kept below: send it again."


def count(text: str) -> int:
    """Length as the limits count it (UTF-16 units, as Lemmy and the browser's counter do)."""
    return utf16_length(text)


def title_message(exc: LemmyError, title: str) -> str | None:
    if exc.error != "invalid_post_title":
        return None
    length = len(title.strip())
    if length > TITLE_MAX:
        return f"The title is too long: {length:,} characters, and a title is {TITLE_MAX} at most. Shorten it."
    if "\n" in title:
        return "A title is one line."
    return f"A title is {TITLE_MIN} to {TITLE_MAX} characters long."


def body_message(exc: LemmyError, text: str, limit: int, what: str) -> str | None:
    """`invalid_body_field` said which limit: too long (with both numbers) or empty."""
    if exc.error != "invalid_body_field":
        return None
    length = count(text)
    if length > limit:
        return f"The {what} is too long: {length:,} characters, and {limit:,} is the most it may have. Shorten it."
    return f"The {what} is empty."


def post_message(exc: LemmyError, title: str, body: str) -> str:
    return title_message(exc, title) or body_message(exc, body, POST_BODY_MAX, "text") or message_for(exc)


def comment_message(exc: LemmyError, content: str) -> str:
    return body_message(exc, content, COMMENT_MAX, "comment") or message_for(exc)


def previewing(request: Request, form: Form) -> bool:
    """The Preview button posts to `?preview=1` (so the rate limit counts it as a read, routing.page_bucket); such a
    request only ever previews, whatever its form says, so the address cannot be used to post around the limit."""
    return request.query_params.get("preview") == "1" or form.flag("preview")


def preview(text: str) -> str:
    """The text to show as it will read once posted ("" for none): the template renders it with the pages' own
    `md` filter (sanitised, remote images through the proxy when the site says so)."""
    return text if text.strip() else ""


@dataclass(slots=True)
class CommentDraft:
    """A comment being written: a new one on a post (with `parent_id`, a reply), or an edit of `editing`."""

    post_id: int
    content: str
    parent_id: int | None = None
    editing: int | None = None
    next: str = ""

    @classmethod
    def new(cls, form: Form, post_id: int) -> CommentDraft:
        return cls(post_id, form.text("content"), form.integer("parent_id"), None, _next(form))

    @classmethod
    def edit(cls, form: Form, comment_id: int, post_id: int) -> CommentDraft:
        return cls(post_id, form.text("content"), None, comment_id, _next(form))

    @property
    def action(self) -> str:
        return f"/comment/{self.editing}/edit" if self.editing else f"/post/{self.post_id}/comment"


def _next(form: Form) -> str:
    return safe_next(form.optional("next"), "")


async def comment_page(
    web: Web,
    draft: CommentDraft,
    *,
    error: str | None = None,
    notice: str | None = None,
    shown: str = "",
    status: int = 200,
) -> Response:
    """The comment box on a page of its own: the preview, an error or a notice, and the text as typed."""
    async with web.db.read() as session:
        post = (await get_post_view(session, draft.post_id, web.viewer)).post
        replying_to = await get_comment_view(session, draft.parent_id, web.viewer) if draft.parent_id else None
    return web.render(
        "comment_compose.html",
        status=status,
        title="Edit your comment" if draft.editing else "Reply" if replying_to else "Add a comment",
        post=post,
        replying_to=replying_to,
        draft=draft,
        error=error,
        notice=notice,
        shown=shown,
    )


async def comment_preview(web: Web, draft: CommentDraft) -> Response:
    """Preview=1: our script gets the rendered HTML; a browser without it gets the preview over its text."""
    shown = preview(draft.content)
    if web.wants_json:
        html = web.fragment("preview_fragment.html", text=shown) if shown else ""
        return web.json({"preview": html, "length": count(draft.content), "limit": COMMENT_MAX})
    return await comment_page(web, draft, shown=shown)


async def refused_comment(web: Web, draft: CommentDraft, exc: LemmyError) -> Response:
    """A comment the action refused: the reason, naming the limit, and the text kept to fix."""
    message = comment_message(exc, draft.content)
    status = exc.status if exc.status >= 400 else 400
    if web.wants_json:
        return web.json({"error": exc.error, "message": message}, status=status)
    return await comment_page(web, draft, error=message, status=status)


async def _expired_comment(request: Request, draft: CommentDraft) -> Response:
    web = await web_context(request)
    if web.wants_json:
        # Our script keeps the text in its box; it takes the fresh token and asks for one more press.
        return web.json({"error": "expired", "message": EXPIRED, "csrf_token": web.csrf}, status=403)
    if web.viewer is None:
        return web.redirect(web.login_url())
    return await comment_page(web, draft, error=EXPIRED, status=403)


@keep_text_on_expiry("/post/{post_id}/comment")
async def expired_new_comment(request: Request) -> Response:
    try:
        draft = CommentDraft.new(posted_form(request), int(request.path_params["post_id"]))
        return await _expired_comment(request, draft)
    except LemmyError as exc:
        return await error_response(request, 404, "Not found", message_for(exc))


@keep_text_on_expiry("/comment/{comment_id}/edit")
async def expired_comment_edit(request: Request) -> Response:
    web = await web_context(request)
    comment_id = int(request.path_params["comment_id"])
    try:
        async with web.db.read() as session:
            post_id = (await get_comment_view(session, comment_id, web.viewer)).comment.post_id
        return await _expired_comment(request, CommentDraft.edit(posted_form(request), comment_id, post_id))
    except LemmyError as exc:
        return await error_response(request, 404, "Not found", message_for(exc))
