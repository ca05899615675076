"""Images over ActivityPub: an image post goes out as Lemmy 0.19 sends it (an Image attachment with its media type
and alt text as `name`, the thumbnail as `image`), and is read back from Lemmy, PieFed, Mbin and Mastodon shapes.
The last test runs two real servers: the image post federates with its thumbnail and alt text, and the receiving
server shows the remote image through its own proxy, never copying it."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from PIL import Image

from conftest import Api, drop_database, free_port, make_community, make_database, start_server, stop_server
from moot.federation.parse import parse_post
from test_federation import FED_ENV, Node, eventually, follow, person

AP = "application/activity+json"
COMMUNITY = "https://lemmy.example/c/photos"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def page(**extra: Any) -> dict[str, Any]:
    return {
        "type": "Page",
        "id": "https://lemmy.example/post/1",
        "attributedTo": "https://lemmy.example/u/ann",
        "to": [COMMUNITY, "https://www.w3.org/ns/activitystreams#Public"],
        "audience": COMMUNITY,
        "name": "A hedge",
        **extra,
    }


def test_lemmy_image_post_with_alt_text_and_thumbnail() -> None:
    parsed = parse_post(
        page(
            attachment=[{"type": "Image", "url": "https://lemmy.example/pictrs/image/a.png", "name": "A laid hedge"}],
            image={"type": "Image", "url": "https://lemmy.example/pictrs/image/thumb.webp"},
        )
    )
    assert parsed.url == "https://lemmy.example/pictrs/image/a.png"
    assert parsed.alt_text == "A laid hedge"
    assert parsed.thumbnail == "https://lemmy.example/pictrs/image/thumb.webp"


def test_lemmy_link_post_keeps_its_thumbnail() -> None:
    parsed = parse_post(
        page(
            attachment=[{"type": "Link", "href": "https://news.example/story", "mediaType": "text/html"}],
            image={"type": "Image", "url": "https://lemmy.example/pictrs/image/og.jpg"},
        )
    )
    assert (parsed.url, parsed.thumbnail, parsed.alt_text) == (
        "https://news.example/story",
        "https://lemmy.example/pictrs/image/og.jpg",
        None,
    )


def test_mastodon_document_and_mbin_image_shapes() -> None:
    mastodon = parse_post(
        page(
            type="Note",
            attachment=[
                {"type": "Document", "mediaType": "image/jpeg", "url": "https://m.example/f/1.jpg", "name": "Snow"}
            ],
        )
    )
    assert (mastodon.url, mastodon.alt_text) == ("https://m.example/f/1.jpg", "Snow")
    # Mbin gives the thumbnail as a bare URL string sometimes, and an over-long alt text is cut to Lemmy's limit.
    mbin = parse_post(
        page(
            attachment=[{"type": "Image", "url": "https://mbin.example/i.png", "name": "x" * 5000}],
            image="https://mbin.example/thumb.png",
        )
    )
    assert mbin.thumbnail == "https://mbin.example/thumb.png"
    assert mbin.alt_text is not None and len(mbin.alt_text) == 1500


async def upload(api: Api, client: httpx.AsyncClient) -> str:
    r = await client.post(
        "/pictrs/image",
        files={"images[]": ("a.png", png(), "image/png")},
        headers={"Authorization": f"Bearer {api.jwt}"},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["files"][0]["file"])


async def test_an_image_post_goes_out_as_lemmy_sends_it(admin: Api, http: httpx.AsyncClient) -> None:
    await admin.ok_put("/site", {"rate_limit_image": 100_000, "rate_limit_image_per_second": 1})
    community = await make_community(admin)
    url = f"http://moot.test:8536/pictrs/image/{await upload(admin, http)}"
    data = await admin.ok_post(
        "/post", {"name": "An image", "community_id": community["id"], "url": url, "alt_text": "Blue"}
    )
    post = data["post_view"]["post"]
    # One of our own uploads is its own thumbnail at once, with its type: no fetch needed.
    assert (post["thumbnail_url"], post["url_content_type"]) == (url, "image/png")
    served = (await http.get(f"/post/{post['id']}", headers={"Accept": AP})).json()
    assert served["attachment"] == [{"type": "Image", "url": url, "mediaType": "image/png", "name": "Blue"}]
    assert served["image"] == {"type": "Image", "url": url}
    # A link post: a Link attachment (its type unknown until its page is read), no thumbnail yet.
    data = await admin.ok_post(
        "/post", {"name": "A link", "community_id": community["id"], "url": "https://news.example/story"}
    )
    served = (await http.get(f"/post/{data['post_view']['post']['id']}", headers={"Accept": AP})).json()
    assert served["attachment"] == [{"type": "Link", "href": "https://news.example/story"}]
    assert "image" not in served


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    started: dict[str, Node] = {}
    try:
        for name, host in (("alpha", "127.0.0.6"), ("beta", "127.0.0.7")):
            db = make_database(tmp_path_factory.mktemp(name))
            port = free_port()
            started[name] = Node(name, host, port, db, start_server(db, port, FED_ENV, host=host))
        yield started
    finally:
        for node in started.values():
            if node.server.process.poll() is None:
                stop_server(node.server)
            drop_database(node.db)


async def test_an_image_post_federates_with_its_thumbnail_and_alt_text(pair: dict[str, Node]) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alice, bob = await person(alpha), await person(beta)
    name = f"pics{alice.name[-6:]}"
    await alice.post("/community", {"name": name, "title": "Pictures"})
    beta_community = await follow(bob, name, alpha)
    jwt = alice.http.headers["Authorization"]
    async with httpx.AsyncClient(base_url=alpha.base) as raw:
        r = await raw.post(
            "/pictrs/image", files={"images[]": ("a.png", png(), "image/png")}, headers={"Authorization": jwt}
        )
    assert r.status_code == 200, r.text
    url = f"{alpha.base}/pictrs/image/{r.json()['files'][0]['file']}"
    community_id = (await alice.get("/community", name=name))["community_view"]["community"]["id"]
    created = await alice.post(
        "/post", {"name": "A blue square", "community_id": community_id, "url": url, "alt_text": "Blue square"}
    )
    ap_id = created["post_view"]["post"]["ap_id"]

    async def arrived() -> dict[str, Any] | None:
        listed = await bob.get("/post/list", community_id=beta_community, sort="New")
        return next((v["post"] for v in listed["posts"] if v["post"]["ap_id"] == ap_id), None)

    post = await eventually(arrived)
    assert post["url"] == url and post["alt_text"] == "Blue square"
    proxied = f"{beta.base}/api/v3/image_proxy?url={quote(url, safe='')}"
    assert post["thumbnail_url"] == proxied
    # Beta serves alpha's image through its proxy (recorded when the post was stored), never a copy of its own.
    async with httpx.AsyncClient() as raw:
        served = await raw.get(proxied)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).size == (64, 48)
    # Beta's pages show it through the proxy too: the listing's thumbnail and the post page's image.
    async with httpx.AsyncClient(base_url=beta.base) as pages:
        listing = (await pages.get("/", params={"type": "All", "sort": "New"})).text
        page = (await pages.get(f"/post/{post['id']}")).text
    images = re.findall(r'<img[^>]* src="([^"]+)"', page) + re.findall(r'<img[^>]* src="([^"]+)"', listing)
    assert proxied.replace("&", "&amp;") in images, images
    assert not [src for src in images if src.startswith(alpha.base)], images
