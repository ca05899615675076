"""Private message pages: the conversations (from the inbox), one conversation with its reply form, and the
forms that send, delete and mark read. They call actions/messages.py and queries/messages.py, as the API does;
the access gate decides. No JavaScript needed."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response

from moot.actions import messages as message_actions
from moot.domain.errors import LemmyError
from moot.queries.messages import PrivateMessageQuery, list_conversations, list_private_messages
from moot.queries.persons import get_person_view
from moot.web.context import Web, web_context
from moot.web.params import PAGE_SIZE, page_number
from moot.web.routing import message_for, posted_form, web_router

router = web_router()


@router.get("/messages")
async def conversations_page(page: str | None = None, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    number = page_number(page)
    async with web.db.read() as session:
        conversations = await list_conversations(session, viewer, number, PAGE_SIZE)
    return web.render(
        "messages.html",
        title="Private messages",
        conversations=conversations,
        page=number,
        has_more=len(conversations) == PAGE_SIZE,
    )


async def _conversation(
    web: Web, person_id: int, number: int, *, error: str | None = None, draft: str = "", status: int = 200
) -> Response:
    viewer = web.require_viewer()
    async with web.db.read() as session:
        person = await get_person_view(session, person_id)
        views = await list_private_messages(
            session, viewer, PrivateMessageQuery(creator_id=person_id, page=number, limit=PAGE_SIZE)
        )
    return web.render(
        "conversation.html",
        status=status,
        title=f"Messages with {person.person.name}",
        person=person.person,
        views=list(reversed(views)),  # oldest first, as a conversation reads
        page=number,
        has_more=len(views) == PAGE_SIZE,
        error=error,
        draft=draft,
    )


@router.get("/messages/{person_id}")
async def conversation_page(person_id: int, page: str | None = None, web: Web = Depends(web_context)) -> Response:
    return await _conversation(web, person_id, page_number(page))


@router.post("/messages/{person_id}")
async def send_message(person_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    content = posted_form(request).text("content")
    try:
        async with web.db.write() as session:
            await message_actions.create_private_message(session, web.settings, viewer, person_id, content)
    except LemmyError as exc:
        # Shown beside the form, with what was written kept in it.
        return await _conversation(web, person_id, 1, error=message_for(exc), draft=content, status=400)
    return web.redirect(f"/messages/{person_id}")


@router.post("/messages/{person_id}/{message_id}/delete")
async def delete_message(
    person_id: int, message_id: int, request: Request, web: Web = Depends(web_context)
) -> Response:
    viewer = web.require_viewer()
    deleted = posted_form(request).flag("deleted")
    async with web.db.write() as session:
        await message_actions.delete_private_message(session, viewer, message_id, deleted)
    return web.redirect(f"/messages/{person_id}")


@router.post("/messages/{person_id}/{message_id}/read")
async def mark_message_read(
    person_id: int, message_id: int, request: Request, web: Web = Depends(web_context)
) -> Response:
    viewer = web.require_viewer()
    read = posted_form(request).flag("read")
    async with web.db.write() as session:
        await message_actions.mark_private_message_read(session, viewer, message_id, read)
    return web.redirect(f"/messages/{person_id}")
