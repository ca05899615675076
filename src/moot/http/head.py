"""HEAD answered wherever GET is, for the whole app at once: the request runs as a GET and its answer goes out
with the GET's status and headers (Content-Length included) and no body, as HTTP asks (RFC 9110, 9.3.2).

Routes name only GET (FastAPI adds no HEAD), so without this `/`, the pages and the feeds answered HEAD with 405."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
