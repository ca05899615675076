"""Issue 13, images: uploads through pict-rs's API as Lemmy exposes it (POST /pictrs/image), served with safe
headers, thumbnails and conversions made once, hostile files refused with nothing stored, the delete token,
list_media, the `image` rate-limit bucket, and the rows and files removed with what uses them."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageCms
from sqlalchemy import func, select

import image_samples as samples
from conftest import Api, make_community, make_post, register
from moot.actions import images as image_actions
from moot.db.image import LocalImage
from moot.domain.timefmt import utcnow
from moot.http.csrf import csrf_token
from moot.media.storage import media_storage, original_key
from moot.settings import Settings


@pytest.fixture(scope="module", autouse=True)
async def image_limits(admin: Api) -> AsyncIterator[None]:
    """The image bucket raised for this module (Lemmy's default is 6 an hour); the rate-limit test lowers it."""
    await admin.ok_put("/site", {"rate_limit_image": 100_000, "rate_limit_image_per_second": 1})
    yield


async def upload(
    api: Api, data: bytes, filename: str = "image.jpg", content_type: str = "image/jpeg", *, cookie: bool = False
) -> httpx.Response:
    headers = {"Cookie": f"jwt={api.jwt}"} if cookie else {"Authorization": f"Bearer {api.jwt}"}
    return await api.client.post("/pictrs/image", files={"images[]": (filename, data, content_type)}, headers=headers)


async def uploaded(api: Api, data: bytes, **kw: Any) -> dict[str, str]:
    r = await upload(api, data, **kw)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["msg"] == "ok" and len(body["files"]) == 1, body
    file: dict[str, str] = body["files"][0]
    return file


async def count_rows(app: Any) -> int:
    async with app.state.moot.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(LocalImage)) or 0)


def stored_files(settings: Settings) -> set[Path]:
    root = media_storage(settings).root
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


@pytest.mark.parametrize(
    ("make", "content_type", "size"),
    [
        (samples.png, "image/png", (64, 48)),
        (samples.gif, "image/gif", (24, 24)),
        (samples.webp, "image/webp", (40, 30)),
    ],
)
async def test_good_images_are_stored_and_served_with_safe_headers(
    user: Api, http: httpx.AsyncClient, make: Any, content_type: str, size: tuple[int, int]
) -> None:
    file = await uploaded(user, make(), filename="whatever.bin", content_type="application/octet-stream")
    assert file["file"].endswith("." + content_type.split("/")[1]) and file["delete_token"]
    r = await http.get(f"/pictrs/image/{file['file']}")
    assert r.status_code == 200
    assert r.headers["content-type"] == content_type
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert "max-age=31536000" in r.headers["cache-control"] and "public" in r.headers["cache-control"]
    assert decode(r.content).size == size
    # The ETag answers a revalidation with 304, and HEAD gives the headers without the body.
    again = await http.get(f"/pictrs/image/{file['file']}", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = await http.head(f"/pictrs/image/{file['file']}")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(r.content))


async def test_an_animated_gif_keeps_its_frames(user: Api, http: httpx.AsyncClient) -> None:
    file = await uploaded(user, samples.gif(frames=5), filename="a.gif", content_type="image/gif")
    im = decode((await http.get(f"/pictrs/image/{file['file']}")).content)
    assert im.format == "GIF" and getattr(im, "n_frames", 1) == 5


async def test_a_jpeg_loses_its_gps_exif_and_is_turned_upright(user: Api, http: httpx.AsyncClient) -> None:
    original = samples.jpeg_with_gps(size=(80, 40), orientation=6)
    assert samples.GPS_MARK.encode() in original and decode(original).getexif().get_ifd(0x8825)
    file = await uploaded(user, original)
    r = await http.get(f"/pictrs/image/{file['file']}")
    assert r.headers["content-type"] == "image/jpeg"
    assert samples.GPS_MARK.encode() not in r.content and b"Exif" not in r.content
    served = decode(r.content)
    assert not served.getexif() and not served.getexif().get_ifd(0x8825)
    # Orientation 6 (rotate 90°) applied to the pixels: 80x40 becomes 40x80.
    assert served.size == (40, 80)


async def test_thumbnails_and_conversions_are_made_once(user: Api, http: httpx.AsyncClient, settings: Settings) -> None:
    file = await uploaded(user, samples.png(size=(1000, 500)), filename="big.png", content_type="image/png")
    alias = file["file"]
    r = await http.get(f"/pictrs/image/{alias}", params={"thumbnail": "256", "format": "webp"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
    assert decode(r.content).size == (256, 128)
    derived = media_storage(settings).root / "derived" / alias
    files = list(derived.iterdir())
    assert [f.name for f in files] == ["t256.webp"]
    made = files[0].stat().st_mtime_ns
    r2 = await http.get(f"/pictrs/image/{alias}", params={"thumbnail": "256", "format": "webp"})
    assert r2.content == r.content and files[0].stat().st_mtime_ns == made
    jpg = await http.get(f"/pictrs/image/{alias}", params={"format": "jpg"})
    assert jpg.headers["content-type"] == "image/jpeg" and decode(jpg.content).size == (1000, 500)
    bad = await http.get(f"/pictrs/image/{alias}", params={"format": "svg"})
    assert bad.status_code == 400 and bad.json()["msg"] == "invalid_format"
    bad = await http.get(f"/pictrs/image/{alias}", params={"thumbnail": "-3"})
    assert bad.status_code == 400 and bad.json()["msg"] == "invalid_thumbnail"


@pytest.mark.parametrize(
    ("name", "data", "filename", "content_type", "status", "reason"),
    [
        ("png bomb", samples.png_bomb(), "bomb.png", "image/png", 400, "too_many_pixels"),
        ("svg with script", samples.SVG_WITH_SCRIPT, "x.svg", "image/svg+xml", 400, "invalid_image"),
        ("html named .jpg", samples.HTML, "photo.jpg", "image/jpeg", 400, "invalid_image"),
        ("truncated jpeg", samples.truncated_jpeg(), "cut.jpg", "image/jpeg", 400, "truncated"),
        ("30 MB", b"\xff\xd8\xff" + bytes(30 * 1024 * 1024), "huge.jpg", "image/jpeg", 413, "too_large"),
    ],
)
async def test_hostile_files_are_refused_and_nothing_is_stored(
    user: Api,
    app: Any,
    settings: Settings,
    name: str,
    data: bytes,
    filename: str,
    content_type: str,
    status: int,
    reason: str,
) -> None:
    rows, files = await count_rows(app), stored_files(settings)
    r = await upload(user, data, filename=filename, content_type=content_type)
    assert r.status_code == status, (name, r.text)
    assert r.json()["msg"] == reason, (name, r.text)
    assert await count_rows(app) == rows, name
    assert stored_files(settings) == files, name


async def test_upload_needs_a_login_and_takes_the_cookie(user: Api, http: httpx.AsyncClient, app: Any) -> None:
    r = await http.post("/pictrs/image", files={"images[]": ("a.png", samples.png(), "image/png")})
    assert r.status_code == 401 and r.json()["error"] == "not_logged_in"
    # The cookie alone: as Lemmy, for a client that is not a browser (pythorhead uploads so); a browser's request
    # (Origin, Sec-Fetch-Site) needs the page's CSRF token, since another site's multipart form carries the cookie.
    cookie = {"Cookie": f"jwt={user.jwt}; moot_csrf=nonce"}
    one = {"images[]": ("a.png", samples.png(), "image/png")}
    for browser in ({"Origin": "https://elsewhere.example"}, {"Sec-Fetch-Site": "same-site"}):
        refused = await http.post("/pictrs/image", files=one, headers={**cookie, **browser})
        assert refused.status_code == 403 and refused.json()["msg"] == "csrf_refused", refused.text
    token = csrf_token(app.state.moot.jwt_secret, "nonce", user.jwt)
    r = await http.post(
        "/pictrs/image",
        files={"images[]": ("a.png", samples.png(), "image/png")},
        headers={**cookie, "Origin": "http://moot.test:8536", "X-CSRF-Token": token},
    )
    assert r.status_code == 200, r.text
    assert (await http.post("/pictrs/image", files=one, headers=cookie)).status_code == 200
    file = r.json()["files"][0]
    assert (await http.get(f"/pictrs/image/{file['file']}")).status_code == 200
    missing = await http.post(
        "/pictrs/image", files={"other": ("a.png", samples.png(), "image/png")}, headers=_auth(user)
    )
    assert missing.status_code == 400 and missing.json()["msg"] == "no_image"


def _auth(api: Api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.jwt}"}


async def test_the_delete_token_removes_row_and_files(
    user: Api, http: httpx.AsyncClient, app: Any, settings: Settings
) -> None:
    file = await uploaded(user, samples.png(size=(300, 300)))
    alias, token = file["file"], file["delete_token"]
    assert (await http.get(f"/pictrs/image/{alias}", params={"thumbnail": "64"})).status_code == 200
    storage = media_storage(settings)
    assert storage.path(original_key(alias)).is_file() and (storage.root / "derived" / alias).is_dir()
    other = token[:-1] + ("A" if token[-1] != "A" else "B")  # a token one character off, never the token itself
    wrong = await http.get(f"/pictrs/image/delete/{other}/{alias}")
    assert wrong.status_code == 404
    assert (await http.get(f"/pictrs/image/{alias}")).status_code == 200
    r = await http.get(f"/pictrs/image/delete/{token}/{alias}")
    assert r.status_code == 204
    assert (await http.get(f"/pictrs/image/{alias}")).status_code == 404
    assert not storage.path(original_key(alias)).exists() and not (storage.root / "derived" / alias).exists()
    assert (await http.get(f"/pictrs/image/delete/{token}/{alias}")).status_code == 404
    # Paths that are not one of our keys never reach the disk.
    assert (await http.get("/pictrs/image/..%2F..%2Fmoot.sqlite3")).status_code == 404


async def test_list_media_lists_own_uploads_and_admins_see_all(admin: Api, http: httpx.AsyncClient) -> None:
    alice, bob = await register(http), await register(http)
    a1 = await uploaded(alice, samples.png())
    a2 = await uploaded(alice, samples.webp())
    b1 = await uploaded(bob, samples.gif())
    mine = await alice.ok_get("/account/list_media")
    assert [i["local_image"]["pictrs_alias"] for i in mine["images"]] == [a2["file"], a1["file"]]
    first = mine["images"][0]
    assert first["local_image"]["pictrs_delete_token"] == a2["delete_token"]
    assert first["person"]["id"] == alice.person_id and "published" in first["local_image"]
    assert (await alice.ok_get("/account/list_media", limit=1))["images"][0]["local_image"]["pictrs_alias"] == a2[
        "file"
    ]
    status, body = await alice.get("/admin/list_all_media")
    assert status == 403 or (status == 400 and body["error"] == "not_an_admin"), (status, body)
    everyone = await admin.ok_get("/admin/list_all_media", limit=50)
    aliases = {i["local_image"]["pictrs_alias"] for i in everyone["images"]}
    assert {a1["file"], a2["file"], b1["file"]} <= aliases
    status, body = await Api(client=http).get("/account/list_media")
    assert status == 401 and body["error"] == "not_logged_in"


async def test_uploads_draw_from_the_image_bucket(admin: Api, user: Api) -> None:
    await admin.ok_put("/site", {"rate_limit_image": 2, "rate_limit_image_per_second": 3600})
    try:
        statuses = [(await upload(user, samples.png())).status_code for _ in range(3)]
        assert statuses[:2] == [200, 200] and statuses[2] == 400, statuses
        refused = await upload(user, samples.png())
        assert refused.json() == {"error": "rate_limit_error"} and int(refused.headers["retry-after"]) > 0
    finally:
        await admin.ok_put("/site", {"rate_limit_image": 100_000, "rate_limit_image_per_second": 1})


async def test_a_replaced_avatar_and_a_deleted_post_remove_their_uploads(
    user: Api, http: httpx.AsyncClient, settings: Settings
) -> None:
    base = settings.base_url
    first = await uploaded(user, samples.png())
    await user.ok_put("/user/save_user_settings", {"avatar": f"{base}/pictrs/image/{first['file']}"})
    second = await uploaded(user, samples.webp())
    await user.ok_put("/user/save_user_settings", {"avatar": f"{base}/pictrs/image/{second['file']}"})
    assert (await http.get(f"/pictrs/image/{first['file']}")).status_code == 404
    assert (await http.get(f"/pictrs/image/{second['file']}")).status_code == 200

    community = await make_community(user)
    picture = await uploaded(user, samples.png(size=(200, 100)))
    first_picture = await uploaded(user, samples.webp())
    post = await make_post(user, community["id"], url=f"{base}/pictrs/image/{first_picture['file']}")
    # An edit that changes the image: the old upload goes, the new one stays.
    await user.ok_put("/post", {"post_id": post["id"], "url": f"{base}/pictrs/image/{picture['file']}"})
    assert (await http.get(f"/pictrs/image/{first_picture['file']}")).status_code == 404
    assert (await http.get(f"/pictrs/image/{picture['file']}")).status_code == 200
    await user.ok_post("/post/delete", {"post_id": post["id"], "deleted": True})
    assert (await http.get(f"/pictrs/image/{picture['file']}")).status_code == 404


async def test_purging_a_person_removes_their_uploads(admin: Api, http: httpx.AsyncClient) -> None:
    victim = await register(http)
    file = await uploaded(victim, samples.png())
    await admin.ok_post("/admin/purge/person", {"person_id": victim.person_id})
    assert (await http.get(f"/pictrs/image/{file['file']}")).status_code == 404


async def test_the_orphan_rule_keeps_what_is_used(user: Api, app: Any, settings: Settings) -> None:
    used = await uploaded(user, samples.png())
    unused = await uploaded(user, samples.webp())
    community = await make_community(user)
    await make_post(user, community["id"], body=f"look ![x]({settings.base_url}/pictrs/image/{used['file']})")
    later = utcnow() + timedelta(days=2)
    async with app.state.moot.db.read() as session:
        orphans = {
            i.pictrs_alias
            for i in await image_actions.orphan_images(session, now=later, rule=image_actions.OrphanRule(batch=100_000))
        }
        fresh = await image_actions.orphan_images(session)
    assert unused["file"] in orphans and used["file"] not in orphans
    assert unused["file"] not in {i.pictrs_alias for i in fresh}  # younger than a day: kept


async def test_the_image_job_removes_orphans_and_stray_files(
    user: Api, http: httpx.AsyncClient, app: Any, settings: Settings
) -> None:
    from moot.jobs.images import clean_images

    storage = media_storage(settings)
    used = await uploaded(user, samples.png())
    unused = await uploaded(user, samples.webp())
    await user.ok_put("/user/save_user_settings", {"banner": f"{settings.base_url}/pictrs/image/{used['file']}"})
    # A file whose row is gone (a replaced avatar: its row is deleted at once, its file by the job).
    first = await uploaded(user, samples.gif())
    await user.ok_put("/user/save_user_settings", {"avatar": f"{settings.base_url}/pictrs/image/{first['file']}"})
    await user.ok_put("/user/save_user_settings", {"avatar": ""})
    assert (await http.get(f"/pictrs/image/{first['file']}")).status_code == 404
    assert storage.path(original_key(first["file"])).is_file()
    # Run now: nothing is old enough yet.
    assert await clean_images(app.state.moot.db, settings) == (0, 0)
    assert storage.path(original_key(unused["file"])).is_file()
    later = utcnow() + timedelta(days=2)
    orphans, strays = await clean_images(app.state.moot.db, settings, now=later)
    assert orphans >= 1 and strays >= 1
    assert not storage.path(original_key(unused["file"])).exists()
    assert not storage.path(original_key(first["file"])).exists()
    assert (await http.get(f"/pictrs/image/{unused['file']}")).status_code == 404
    assert storage.path(original_key(used["file"])).is_file()
    assert (await http.get(f"/pictrs/image/{used['file']}")).status_code == 200


async def test_a_private_instance_serves_images_to_members_only(admin: Api, user: Api, http: httpx.AsyncClient) -> None:
    file = await uploaded(user, samples.png())
    await admin.ok_put("/site", {"private_instance": True})
    try:
        anonymous = await http.get(f"/pictrs/image/{file['file']}")
        assert anonymous.status_code == 400 and anonymous.json() == {"error": "instance_is_private"}
        member = await http.get(f"/pictrs/image/{file['file']}", headers=_auth(user))
        assert member.status_code == 200 and member.headers["cache-control"].startswith("private")
    finally:
        await admin.ok_put("/site", {"private_instance": False})


def test_metadata_of_every_format_is_gone() -> None:
    """PNG text and XMP chunks, a GIF comment, WebP EXIF and XMP, a JPEG comment and ICC profile: none survives."""
    from PIL import PngImagePlugin

    from moot.media.images import ImageLimits, process_image

    mark = b"SECRET-METADATA-42"
    exif = Image.Exif()
    exif[0x010F] = mark.decode()
    made: dict[str, bytes] = {}
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", mark.decode())
    info.add_itxt("XML:com.adobe.xmp", mark.decode())
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (9, 9, 9)).save(out, format="PNG", pnginfo=info, exif=exif.tobytes())
    made["png"] = out.getvalue()
    out = io.BytesIO()
    Image.new("P", (20, 20), 3).save(out, format="GIF", comment=mark)
    made["gif"] = out.getvalue()
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (9, 9, 9)).save(out, format="WEBP", exif=exif.tobytes(), xmp=mark)
    made["webp"] = out.getvalue()
    out = io.BytesIO()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (20, 20), (9, 9, 9)).save(out, format="JPEG", comment=mark, icc_profile=srgb, exif=exif.tobytes())
    made["jpeg"] = out.getvalue()
    assert b"ICC_PROFILE" in made["jpeg"] and b"EXIF" in made["webp"]
    for kind, data in made.items():
        assert mark in data, kind
        cleaned = process_image(data, ImageLimits())
        assert mark not in cleaned.data, kind
        assert b"Exif" not in cleaned.data and b"EXIF" not in cleaned.data, kind
        assert b"ICC_PROFILE" not in cleaned.data, kind
        assert decode(cleaned.data).size == (20, 20), kind
