"""Images made by the tests themselves (Pillow), good and hostile, for the upload tests."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_MARK = "Canon-GPS-Marker"


def png(size: tuple[int, int] = (64, 48), color: tuple[int, int, int, int] = (200, 30, 30, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, format="PNG")
    return out.getvalue()


def jpeg_with_gps(size: tuple[int, int] = (80, 40), orientation: int = 6) -> bytes:
    """A JPEG whose EXIF carries a camera make, GPS coordinates and an orientation (rotate 90°)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = GPS_MARK
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 29.0)
    gps[3] = "E"
    gps[4] = (2.0, 17.0, 40.0)
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format="JPEG", exif=exif.tobytes(), quality=95)
    return out.getvalue()


def gif(frames: int = 4, size: tuple[int, int] = (24, 24)) -> bytes:
    images = [Image.new("RGB", size, (i * 50 % 256, 80, 160)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=80, loop=0)
    return out.getvalue()


def webp(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 200, 90)).save(out, format="WEBP")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A small PNG whose header claims `width` x `height` pixels (ten billion by default)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + _chunk(b"IEND", b"")
    )


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def truncated_jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((400, 300), 64).convert("RGB").save(out, format="JPEG", quality=90)
    data = out.getvalue()
    return data[: len(data) // 2]
