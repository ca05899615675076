"""Issue 13: the v3 upload flow driven by real Lemmy clients against a real `moot serve` process:
lemmy-js-client 0.19's uploadImage / deleteImage / listMedia (tests/js/images.mjs) and pythorhead's image.upload
and image.delete (the `jwt` cookie, as pythorhead sends it)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pythorhead import Lemmy
from pythorhead.requestor import Request

import image_samples as samples
from conftest import ADMIN_NAME, ADMIN_PASSWORD, ServerProcess, unique
from lemmy_shapes import assert_shape

JS_DIR = Path(__file__).parent / "js"
NODE = shutil.which("node")


@pytest.mark.skipif(
    NODE is None or not (JS_DIR / "node_modules" / "lemmy-js-client").is_dir(),
    reason="node and lemmy-js-client (npm ci in tests/js) are needed",
)
def test_lemmy_js_client_uploads_lists_and_deletes(live_server: ServerProcess, tmp_path: Path) -> None:
    assert NODE is not None
    png, html, big = tmp_path / "a.png", tmp_path / "a.html", tmp_path / "big.jpg"
    png.write_bytes(samples.png(size=(50, 40)))
    html.write_bytes(samples.HTML)
    big.write_bytes(b"\xff\xd8\xff" + bytes(30 * 1024 * 1024))
    done = subprocess.run(
        [NODE, "images.mjs", live_server.base_url, ADMIN_NAME, ADMIN_PASSWORD, str(png), str(html), str(big)],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    steps = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    failed = [f"{s['step']}: {s['detail']}" for s in steps if not s["ok"]]
    assert not failed and done.returncode == 0, "\n".join(failed) + done.stderr[-2000:]
    by_name = {s["step"]: s["value"] for s in steps}
    assert len(by_name) == 8, list(by_name)
    served = by_name["the url serves the image"]
    assert served == {"type": "image/png", "nosniff": "nosniff"}
    assert_shape(by_name["listMedia lists it"], "ListMediaResponse")
    assert by_name["uploadImage of an HTML file is refused"]["msg"] == "invalid_image"


def test_pythorhead_uploads_and_deletes(live_server: ServerProcess) -> None:
    admin = Lemmy(live_server.base_url, raise_exceptions=True, request_timeout=10)
    assert admin.log_in(ADMIN_NAME, ADMIN_PASSWORD)
    assert admin.site.edit(rate_limit_image=100_000, rate_limit_image_per_second=1, rate_limit_register=100_000)
    name = unique("pyimg")
    lemmy = Lemmy(live_server.base_url, raise_exceptions=True, request_timeout=10)
    registered = lemmy._requestor.api(
        Request.POST,
        "/user/register",
        json={"username": name, "password": "pythorhead-img-1", "password_verify": "pythorhead-img-1"},
    )
    assert registered is not None
    assert lemmy.log_in(name, "pythorhead-img-1")
    image = Image.new("RGB", (70, 30), (1, 150, 40))
    files = lemmy.image.upload(image)  # pythorhead sends a PIL image as WebP, with the jwt cookie
    assert files is not None and len(files) == 1
    url, delete_url = files[0]["image_url"], files[0]["delete_url"]
    served = httpx.get(url, timeout=10)
    assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
    assert served.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert lemmy.image.delete(delete_url)
    assert httpx.get(url, timeout=10).status_code == 404
