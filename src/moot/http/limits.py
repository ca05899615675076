"""Request size and JSON depth limits at the edge, before anything parses the body."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 1024 * 1024
MAX_JSON_DEPTH = 32


def json_depth_ok(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Checks nesting without recursion, so a hostile body cannot exhaust the stack."""
    depth = 0
    in_string = False
    escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


class BodyLimits:
    """Refuses bodies over 1 MiB (413) and JSON nested deeper than 32 levels (400), in Lemmy's error shape."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, upload_max: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body
        # multipart/form-data (image uploads: /pictrs/image and the pages' file fields) may be this large.
        self.upload_max = max(upload_max, max_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        content_type = headers.get(b"content-type", b"").lower()
        limit = self.upload_max if content_type.startswith(b"multipart/form-data") else self.max_body
        # pict-rs's answer to an upload that is too large, which lemmy-js-client reads (413 {"msg":"too_large"}).
        too_large = (
            {"msg": "too_large"}
            if scope["path"] == "/pictrs/image"
            else {"error": "unknown", "message": "request body too large"}
        )
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, too_large)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, 413, too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        # Every body but an HTML form's is depth-checked, whatever its Content-Type claims: handlers may parse
        # it as JSON anyway (the inbox does).
        is_form = content_type.startswith((b"application/x-www-form-urlencoded", b"multipart/form-data"))
        if not is_form and not json_depth_ok(body):
            await _refuse(send, 400, {"error": "unknown", "message": "JSON nested too deeply"})
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _refuse(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
