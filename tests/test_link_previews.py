"""Link previews, site metadata and the image proxy, against a small web site the test serves on loopback.

The app runs with MOOT_FEDERATION_DEBUG (http, ports and loopback allowed, as the other federation tests) and its
jobs on, so the preview fetcher runs as in `moot serve`. The guard's refusals are checked with debug off."""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from PIL import Image

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    Api,
    drop_database,
    make_community,
    make_database,
    make_post,
    register,
    settings_for,
)
from moot.app import create_app
from moot.db.engine import Database
from moot.db.image import LinkPreviewTask
from moot.domain.timefmt import utcnow
from moot.federation.fetch import FetchError
from moot.federation.previews import fetch_site_metadata
from moot.media.linkmeta import link_metadata, read_opengraph
from moot.settings import Settings
from test_federation import eventually


def png(width: int = 40, height: int = 30, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>Plain title</title>
<meta property="og:title" content="The &amp; OpenGraph title">
<meta property="og:description" content="What the page is about.">
<meta name="description" content="meta description">
<meta property="og:image" content="/og.png">
<meta property="og:video" content="https://video.example/embed/1">
<script>alert(1)</script>
</head><body><p>Hello</p></body></html>"""


class Site:
    """A tiny web site on 127.0.0.1: a page with OpenGraph tags, its image, a page that is not doctype html, a
    slow page (held until the test releases it), text served as an image, and a 500."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.slow_started = threading.Event()
        self.hits: dict[str, int] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                site.hits[path] = site.hits.get(path, 0) + 1
                if path == "/page":
                    self._send(200, "text/html; charset=utf-8", PAGE.encode())
                elif path in ("/og.png", "/photo.png"):
                    self._send(200, "image/png", png())
                elif path == "/plain":
                    self._send(200, "text/html", b"<html><title>no doctype</title></html>")
                elif path == "/slow":
                    site.slow_started.set()
                    site.release.wait(30)
                    self._send(200, "text/html", PAGE.encode())
                elif path == "/fake.png":
                    self._send(200, "image/png", b"<html><script>alert(1)</script></html>")
                elif path == "/svg.png":
                    self._send(200, "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>')
                elif path == "/broken":
                    self._send(500, "text/plain", b"down")
                else:
                    self._send(404, "text/plain", b"no")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    s = Site()
    s.thread.start()
    yield s
    s.release.set()
    s.server.shutdown()


@pytest.fixture(scope="module")
def debug_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    db = make_database(tmp_path_factory.mktemp("previews"))
    yield dataclasses.replace(settings_for(db), federation_debug=True, run_jobs=True, run_delivery=False)
    drop_database(db)


@pytest.fixture(scope="module")
async def client(debug_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(debug_settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://moot.test:8536") as http:
            yield http


@pytest.fixture(scope="module")
async def author(client: httpx.AsyncClient) -> Api:
    api = Api(client=client)
    data = await api.ok_post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
    api.jwt = data["jwt"]
    await api.ok_put(
        "/site", {f"rate_limit_{b}": 100_000 for b in ("register", "post", "comment", "search", "message")}
    )
    return await register(client)


@pytest.fixture(scope="module")
async def community(author: Api) -> dict[str, Any]:
    return await make_community(author)


async def post_of(api: Api, post_id: int) -> dict[str, Any]:
    data = await api.ok_get("/post", id=post_id)
    post: dict[str, Any] = data["post_view"]["post"]
    return post


# --- the reader, pure ---------------------------------------------------------------------------------


def test_opengraph_is_read_as_lemmy_reads_it() -> None:
    og = read_opengraph(PAGE.encode(), "https://example.com/a/b")
    assert og.title == "The & OpenGraph title"
    assert og.description == "What the page is about."
    assert og.image == "https://example.com/og.png"
    assert og.embed_video_url == "https://video.example/embed/1"
    # Without OpenGraph, the page's own title and description.
    bare = b"<!doctype html><title> A  page </title><meta name=description content='Short.'>"
    og = read_opengraph(bare, "https://example.com/")
    assert (og.title, og.description, og.image) == ("A page", "Short.", None)


def test_pages_lemmy_cannot_read_give_empty_metadata_with_lemmys_errors() -> None:
    from moot.media.linkmeta import LinkMetaError

    with pytest.raises(LinkMetaError) as not_html:
        read_opengraph(b"<html><title>x</title></html>", "https://example.com/")
    assert not_html.value.error == "site_metadata_page_is_not_doctype_html"
    with pytest.raises(LinkMetaError) as empty:
        read_opengraph(b"   ", "https://example.com/")
    assert empty.value.error == "no_lines_in_html"
    metadata = link_metadata(b"<html><title>x</title></html>", "https://example.com/", "text/html")
    assert metadata.to_json() == {"content_type": "text/html"}
    # An octet stream is sniffed; only http(s) image URLs are kept; a javascript: og:image is dropped.
    assert link_metadata(png(), "https://e.x/f", "application/octet-stream").content_type == "image/png"
    hostile = b'<!DOCTYPE html><meta property="og:image" content="javascript:alert(1)">'
    assert read_opengraph(hostile, "https://example.com/").image is None


def test_a_declared_charset_is_honoured() -> None:
    page = '<!DOCTYPE html><meta charset="iso-8859-1"><title>Caf\xe9</title>'.encode("latin-1")
    assert read_opengraph(page, "https://example.com/").title == "Café"


# --- site_metadata -------------------------------------------------------------------------------------


async def test_site_metadata_needs_a_login_and_reads_the_page(author: Api, site: Site) -> None:
    status, data = await author.as_anonymous().get("/post/site_metadata", url=site.url("/page"))
    assert status == 401 and data["error"] == "not_logged_in"
    data = await author.ok_get("/post/site_metadata", url=site.url("/page"))
    assert data["metadata"] == {
        "title": "The & OpenGraph title",
        "description": "What the page is about.",
        "image": site.url("/og.png"),
        "embed_video_url": "https://video.example/embed/1",
        "content_type": "text/html; charset=utf-8",
    }
    data = await author.ok_get("/post/site_metadata", url=site.url("/plain"))
    assert data["metadata"] == {"content_type": "text/html"}
    status, data = await author.get("/post/site_metadata", url="not a url")
    assert status == 400 and data["error"] == "invalid_url"


async def test_without_debug_mode_the_guard_refuses_private_and_plain_http(
    site: Site, debug_settings: Settings
) -> None:
    production = dataclasses.replace(debug_settings, federation_debug=False)
    hits = dict(site.hits)
    with pytest.raises(FetchError) as loopback:
        await fetch_site_metadata("https://127.0.0.1/page", production)
    assert loopback.value.reason == "private address"
    with pytest.raises(FetchError) as private:
        await fetch_site_metadata("https://10.1.2.3/page", production)
    assert private.value.reason == "private address"
    with pytest.raises(FetchError):
        await fetch_site_metadata(site.url("/page"), production)  # http and a port: refused before any request
    assert site.hits == hits


# --- previews in the background ------------------------------------------------------------------------


async def test_a_link_post_gets_its_preview_and_a_stored_thumbnail(
    author: Api, community: dict[str, Any], site: Site, client: httpx.AsyncClient
) -> None:
    post = await make_post(author, community["id"], url=site.url("/page"))

    async def filled() -> dict[str, Any] | None:
        current = await post_of(author, post["id"])
        return current if current.get("thumbnail_url") else None

    done = await eventually(filled)
    assert done["embed_title"] == "The & OpenGraph title"
    assert done["embed_description"] == "What the page is about."
    assert done["embed_video_url"] == "https://video.example/embed/1"
    assert done["url_content_type"].startswith("text/html")
    thumbnail = done["thumbnail_url"]
    assert thumbnail.startswith("http://moot.test:8536/pictrs/image/"), thumbnail
    served = await client.get(thumbnail.removeprefix("http://moot.test:8536"))
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).size == (40, 30)
    # The page shows the preview card and the thumbnail.
    page = await client.get(f"/post/{post['id']}")
    assert 'class="link-card"' in page.text and "What the page is about." in page.text
    assert thumbnail in page.text


async def test_an_image_link_is_its_own_thumbnail(author: Api, community: dict[str, Any], site: Site) -> None:
    post = await make_post(author, community["id"], url=site.url("/photo.png"), alt_text="A red square")

    async def filled() -> dict[str, Any] | None:
        current = await post_of(author, post["id"])
        return current if current.get("thumbnail_url") else None

    done = await eventually(filled)
    assert done["url_content_type"] == "image/png"
    assert done["thumbnail_url"].startswith("http://moot.test:8536/pictrs/image/")
    assert "embed_title" not in done


async def test_a_custom_thumbnail_is_kept_for_a_page(author: Api, community: dict[str, Any], site: Site) -> None:
    custom = "https://images.example/custom.png"
    post = await make_post(author, community["id"], url=site.url("/page"), custom_thumbnail=custom)
    expected = f"http://moot.test:8536/api/v3/image_proxy?url={quote(custom, safe='')}"
    assert post["thumbnail_url"] == expected

    async def filled() -> dict[str, Any] | None:
        current = await post_of(author, post["id"])
        return current if current.get("embed_title") else None

    done = await eventually(filled)
    assert done["thumbnail_url"] == expected


async def test_a_slow_site_never_holds_up_the_post(author: Api, community: dict[str, Any], site: Site) -> None:
    site.release.clear()
    started = time.monotonic()
    post = await make_post(author, community["id"], url=site.url("/slow"))
    took = time.monotonic() - started
    # The site holds its answer until released, so the post was answered before the page was read.
    assert "embed_title" not in post and took < 5

    async def asked() -> bool:
        return site.slow_started.is_set()

    await eventually(asked)  # the fetcher is waiting on the site now; the post was answered long before
    assert "embed_title" not in await post_of(author, post["id"])
    site.release.set()

    async def filled() -> dict[str, Any] | None:
        current = await post_of(author, post["id"])
        return current if current.get("embed_title") else None

    assert (await eventually(filled))["embed_title"] == "The & OpenGraph title"


async def test_an_edited_url_is_read_again(author: Api, community: dict[str, Any], site: Site) -> None:
    post = await make_post(author, community["id"], url=site.url("/plain"))

    async def typed() -> dict[str, Any] | None:
        current = await post_of(author, post["id"])
        return current if current.get("url_content_type") else None

    first = await eventually(typed)
    assert "embed_title" not in first and "thumbnail_url" not in first
    await author.ok_put("/post", {"post_id": post["id"], "url": site.url("/page")})

    async def filled() -> dict[str, Any] | None:
        current = await post_of(author, post["id"])
        return current if current.get("embed_title") else None

    assert (await eventually(filled))["thumbnail_url"].startswith("http://moot.test:8536/pictrs/image/")


# --- the image proxy -----------------------------------------------------------------------------------


async def test_the_proxy_serves_recorded_images_only(
    author: Api, community: dict[str, Any], site: Site, client: httpx.AsyncClient
) -> None:
    image, fake, svg = site.url("/photo.png"), site.url("/fake.png"), site.url("/svg.png")
    body = f"Look ![a photo]({image}) and ![x]({fake}) and ![y]({svg})"
    post = await make_post(author, community["id"], body=body)
    # The API answers the markdown with other hosts' images through the proxy, as Lemmy's ProxyAllImages.
    assert f"![a photo](http://moot.test:8536/api/v3/image_proxy?url={quote(image, safe='')})" in post["body"]
    served = await client.get("/api/v3/image_proxy", params={"url": image})
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    assert "max-age" in served.headers["cache-control"]
    assert Image.open(io.BytesIO(served.content)).size == (40, 30)
    # Recorded, but not an image by its bytes (HTML claiming image/png, an SVG): refused.
    for bad in (fake, svg):
        refused = await client.get("/api/v3/image_proxy", params={"url": bad})
        assert refused.status_code == 415 and refused.json()["error"] == "not_an_image_type"
    # Never recorded: not fetched at all.
    hits = dict(site.hits)
    unknown = await client.get("/api/v3/image_proxy", params={"url": site.url("/og.png?never")})
    assert unknown.status_code == 404
    assert site.hits == hits
    # The post page loads the remote image through the proxy.
    page = await client.get(f"/post/{post['id']}")
    assert f'src="http://moot.test:8536/api/v3/image_proxy?url={quote(image, safe="")}"' in page.text
    assert f'src="{image}"' not in page.text


async def test_comment_images_are_recorded_for_the_proxy(
    author: Api, community: dict[str, Any], site: Site, client: httpx.AsyncClient
) -> None:
    post = await make_post(author, community["id"])
    link = site.url("/photo.png?comment")
    assert (await client.get("/api/v3/image_proxy", params={"url": link})).status_code == 404
    await author.ok_post("/comment", {"post_id": post["id"], "content": f"![pic]({link})"})
    assert (await client.get("/api/v3/image_proxy", params={"url": link})).status_code == 200


async def test_a_failing_site_is_tried_again_later_not_hammered(
    author: Api, community: dict[str, Any], site: Site, debug_settings: Settings
) -> None:
    post = await make_post(author, community["id"], url=site.url("/broken"))
    db = Database(debug_settings)
    try:

        async def failed_once() -> LinkPreviewTask | None:
            async with db.read() as session:
                task = await session.get(LinkPreviewTask, post["id"])
            return task if task is not None and task.last_error else None

        task = await eventually(failed_once)
        assert task.attempts == 1 and "500" in (task.last_error or "")
        # The next try waits (30 s, doubling): the row is not due, and the site was asked once.
        assert task.next_attempt > utcnow() + timedelta(seconds=20)
        assert site.hits["/broken"] == 1
    finally:
        await db.dispose()
    assert "embed_title" not in await post_of(author, post["id"])


async def test_proxied_image_urls_sent_back_are_stored_as_written(author: Api, community: dict[str, Any]) -> None:
    """A client edits what the API answered (proxy URLs in it): the text is stored, and federated, as written."""
    original = "![cat](https://cats.example/c.png)"
    post = await make_post(author, community["id"], body=original)
    assert "image_proxy" in post["body"]
    await author.ok_put("/post", {"post_id": post["id"], "body": post["body"] + " edited"})
    served = (await author.client.get(f"/post/{post['id']}", headers={"Accept": "application/activity+json"})).json()
    assert served["source"]["content"] == original + " edited"
