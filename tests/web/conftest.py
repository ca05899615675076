"""Web-only fixtures: an app with the pages installed over the suite's database, and cookie-keeping browsers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conftest import Api, unique
from moot.app import create_app
from moot.demo.load import DemoSummary, load_demo
from moot.settings import Settings

BASE_URL = "http://moot.test:8536"
PASSWORD = "password-1234"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
async def web_app(settings: Settings, admin: Api) -> AsyncIterator[Any]:
    """Its own app instance: middleware cannot be added to the suite's app once it has served requests.
    Depends on `admin` so the raised rate limits are in the database before this app reads them."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@dataclass
class Browser:
    """A browser without JavaScript: keeps cookies, reads the CSRF token from the last page, posts forms."""

    client: httpx.AsyncClient
    name: str | None = None
    last_html: str = ""

    async def get(self, path: str, **params: Any) -> httpx.Response:
        response = await self.client.get(path, params=params or None)
        if response.headers.get("content-type", "").startswith("text/html"):
            self.last_html = response.text
        return response

    def token(self) -> str:
        found = _TOKEN.search(self.last_html)
        assert found, "no CSRF token on the last page"
        return found.group(1)

    async def post(
        self, path: str, data: dict[str, Any], *, token: str | None = None, **headers: str
    ) -> httpx.Response:
        body = {"csrf_token": token if token is not None else self.token(), **data}
        response = await self.client.post(path, data=body, headers=headers or None)
        if response.headers.get("content-type", "").startswith("text/html"):
            self.last_html = response.text
        return response

    async def submit(self, page: str, action: str, data: dict[str, Any]) -> httpx.Response:
        """Open `page`, then post the form to `action` as a browser would: expects the 303 of success."""
        await self.get(page)
        response = await self.post(action, data)
        assert response.status_code == 303, (action, response.status_code, response.text[:2000])
        return response

    async def follow(self, response: httpx.Response) -> httpx.Response:
        return await self.get(response.headers["location"])

    async def signup(self, name: str | None = None) -> Browser:
        self.name = name or unique("w")
        await self.submit(
            "/signup", "/signup", {"username": self.name, "password": PASSWORD, "password_verify": PASSWORD}
        )
        return self

    async def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/login")
        return await self.post("/login", {"username_or_email": name, "password": password})

    async def close(self) -> None:
        await self.client.aclose()


def new_browser(app: Any) -> Browser:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40001))
    return Browser(client=httpx.AsyncClient(transport=transport, base_url=BASE_URL))


@pytest.fixture
async def browser(web_app: Any) -> AsyncIterator[Browser]:
    b = new_browser(web_app)
    yield b
    await b.close()


@pytest.fixture
async def member(web_app: Any) -> AsyncIterator[Browser]:
    """A browser logged in as a fresh account made through the sign-up form."""
    b = new_browser(web_app)
    await b.signup()
    yield b
    await b.close()


@pytest.fixture(scope="session")
async def demo(settings: Settings, web_app: Any) -> DemoSummary:
    """The example thread in the suite's database (loading is idempotent; the id is the same either way)."""
    return await load_demo(settings)
