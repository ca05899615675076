"""Checking and re-encoding uploaded images (Pillow). Pure: bytes in, bytes out, no I/O.

The rules, in order: the format is sniffed from the bytes only (PNG, JPEG, GIF, WebP; anything else, SVG and HTML
included, is refused); the declared size is checked before any pixel is decoded (width, height, pixels, frames, and
for an animation the pixels of all its frames together), so a decompression bomb costs a header read; a file that
ends early is refused, never padded; every frame is decoded and written anew, so nothing of the original file but
its pixels survives (EXIF with GPS, XMP, comments and text chunks are gone; an ICC profile is applied, converting
to sRGB, then dropped); the EXIF orientation is applied to the pixels first. A still image keeps its format (PNG,
JPEG, GIF, WebP: all safe once re-encoded); an animated GIF or WebP keeps its animation within the frame cap.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image, ImageFile, ImageOps, ImageSequence

if TYPE_CHECKING:
    from moot.settings import Settings

# A truncated file is an error, never an image padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageError(Exception):
    """A refused image. `reason` is a short stable word for the API's answer (`{"msg": reason}`)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_dimension: int = 12_000
    max_frames: int = 300

    @classmethod
    def from_settings(cls, settings: Settings) -> ImageLimits:
        return cls(
            max_bytes=settings.image_max_bytes,
            max_pixels=settings.image_max_pixels,
            max_dimension=settings.image_max_dimension,
            max_frames=settings.image_max_frames,
        )


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    frames: int = 1


# Our format names -> (Pillow's name, content type, file extension).
FORMATS: dict[str, tuple[str, str, str]] = {
    "png": ("PNG", "image/png", "png"),
    "jpeg": ("JPEG", "image/jpeg", "jpg"),
    "gif": ("GIF", "image/gif", "gif"),
    "webp": ("WEBP", "image/webp", "webp"),
}
# What `?format=` accepts (pict-rs's names), mapped to ours.
OUTPUT_FORMATS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp", "gif": "gif"}
CONTENT_TYPES = {ct: name for name, (_, ct, _) in FORMATS.items()}
# Thumbnails are made at one of these sizes (the smallest at least as large as asked, the last for anything
# larger), so that one image never has more than a handful of derived files on disk.
THUMBNAIL_SIZES = (32, 64, 96, 128, 192, 256, 384, 512, 640, 768, 1024, 1280, 1600, 2048)


def sniff(data: bytes) -> str | None:
    """The format the bytes are, from their signature only; None for anything we do not take."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def thumbnail_size(asked: int) -> int:
    """The stored thumbnail size that serves a request for `asked` pixels."""
    for size in THUMBNAIL_SIZES:
        if size >= asked:
            return size
    return THUMBNAIL_SIZES[-1]


def _open(data: bytes, fmt: str, limits: ImageLimits) -> Image.Image:
    """Open (header only) and check the declared dimensions before anything is decoded."""
    if len(data) > limits.max_bytes:
        raise ImageError("too_large", f"more than {limits.max_bytes} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[FORMATS[fmt][0]])
    except Image.DecompressionBombError as exc:
        raise ImageError("too_many_pixels", str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("invalid_image", str(exc)) from exc
    width, height = im.size
    if width < 1 or height < 1:
        raise ImageError("invalid_image", "empty image")
    if width > limits.max_dimension or height > limits.max_dimension:
        raise ImageError("too_many_pixels", f"{width}x{height} is wider or taller than {limits.max_dimension}")
    if width * height > limits.max_pixels:
        raise ImageError("too_many_pixels", f"{width}x{height} is more than {limits.max_pixels} pixels")
    return im


def _frame_count(im: Image.Image, limits: ImageLimits) -> int:
    """Frames of an animation, counted without decoding them; refused past the caps."""
    if not getattr(im, "is_animated", False):
        return 1
    try:
        frames = int(getattr(im, "n_frames", 1))
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("invalid_image", str(exc)) from exc
    if frames > limits.max_frames:
        raise ImageError("too_many_frames", f"{frames} frames, at most {limits.max_frames}")
    width, height = im.size
    if width * height * frames > limits.max_pixels:
        raise ImageError("too_many_pixels", f"{frames} frames of {width}x{height} is more than {limits.max_pixels}")
    return frames


def _srgb(im: Image.Image) -> Image.Image:
    """Apply an embedded ICC profile (to sRGB) so that dropping it keeps the colours; unchanged without one."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return im
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        mode = "RGBA" if im.mode == "RGBA" else "RGB"
        out = ImageCms.profileToProfile(im, src, dst, outputMode=mode)
        return out if out is not None else im
    except Exception:  # a broken profile: the pixels as they are
        return im


def _clean_still(im: Image.Image, fmt: str) -> Image.Image:
    """A fresh image of the pixels only (orientation applied, colours in sRGB), in a mode `fmt` can store."""
    try:
        im.load()
        if "exif" in im.info or fmt in ("jpeg", "webp", "png"):
            im = ImageOps.exif_transpose(im) or im
        im = _srgb(im)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("truncated" if "truncat" in str(exc).lower() else "invalid_image", str(exc)) from exc
    return _for_format(im, fmt)


def _for_format(im: Image.Image, fmt: str) -> Image.Image:
    transparency = im.info.get("transparency")
    if fmt == "jpeg":
        out = im.convert("RGB") if im.mode not in ("RGB", "L") else im.copy()
    elif fmt == "png":
        out = im.copy() if im.mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16") else im.convert("RGBA")
    elif fmt == "gif":
        out = im.copy() if im.mode in ("L", "P") else im.convert("RGBA")
    else:
        out = im.convert("RGBA" if _has_alpha(im) else "RGB") if im.mode not in ("RGB", "RGBA") else im.copy()
    out.info = {}
    if transparency is not None and out.mode in ("P", "L", "RGB"):
        out.info["transparency"] = transparency
    return out


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or (im.mode in ("P", "L", "RGB") and "transparency" in im.info)


def _encode(im: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    options: dict[str, object] = {}
    if fmt == "jpeg":
        options = {"quality": 90, "optimize": True}
    elif fmt == "webp":
        options = {"quality": 90, "method": 4}
    elif fmt == "png":
        options = {"optimize": False}
    transparency = im.info.get("transparency")
    if transparency is not None and fmt in ("png", "gif"):
        options["transparency"] = transparency
    im.save(out, format=FORMATS[fmt][0], **options)
    return out.getvalue()


def _encode_animation(im: Image.Image, fmt: str, frames: int) -> bytes:
    """Every frame decoded (a truncated one refuses the file) and written again with its duration."""
    images: list[Image.Image] = []
    durations: list[int] = []
    loop = int(im.info.get("loop", 0) or 0)
    try:
        for frame in ImageSequence.Iterator(im):
            frame.load()
            durations.append(max(int(frame.info.get("duration", 100) or 100), 20))
            rgba = frame.convert("RGBA")
            rgba.info = {}
            images.append(rgba)
            if len(images) > frames:
                raise ImageError("too_many_frames")
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("truncated" if "truncat" in str(exc).lower() else "invalid_image", str(exc)) from exc
    out = io.BytesIO()
    first, rest = images[0], images[1:]
    if fmt == "gif":
        first.save(out, format="GIF", save_all=True, append_images=rest, duration=durations, loop=loop, disposal=2)
    else:
        first.save(out, format="WEBP", save_all=True, append_images=rest, duration=durations, loop=loop, quality=90)
    return out.getvalue()


def process_image(data: bytes, limits: ImageLimits) -> ProcessedImage:
    """Check and re-encode an upload (the module's rules). Raises ImageError with the reason it was refused."""
    if len(data) > limits.max_bytes:
        raise ImageError("too_large", f"more than {limits.max_bytes} bytes")
    fmt = sniff(data)
    if fmt is None:
        raise ImageError("invalid_image", "not a PNG, JPEG, GIF or WebP image")
    im = _open(data, fmt, limits)
    with im:
        frames = _frame_count(im, limits)
        if frames > 1 and fmt in ("gif", "webp"):
            encoded = _encode_animation(im, fmt, frames)
            width, height = im.size
        else:
            clean = _clean_still(im, fmt)
            encoded = _encode(clean, fmt)
            width, height = clean.size
    _, content_type, extension = FORMATS[fmt]
    return ProcessedImage(encoded, content_type, extension, width, height, frames)


def derive(
    data: bytes, *, thumbnail: int | None = None, output: str | None = None, limits: ImageLimits | None = None
) -> ProcessedImage:
    """A thumbnail (fits in a square of `thumbnail` pixels, never enlarged) and/or a conversion to `output` (a name of
    OUTPUT_FORMATS) of an image we stored. A thumbnail of an animation is its first frame; a conversion of an
    animation to GIF or WebP keeps it animated, to PNG or JPEG takes the first frame."""
    limits = limits or ImageLimits(max_bytes=max(len(data), 1))
    fmt = sniff(data)
    if fmt is None:
        raise ImageError("invalid_image", "not an image")
    target = OUTPUT_FORMATS.get(output, "") if output else fmt
    if not target:
        raise ImageError("invalid_format", f"format must be one of {', '.join(sorted(OUTPUT_FORMATS))}")
    im = _open(data, fmt, limits)
    with im:
        frames = _frame_count(im, limits)
        if frames > 1 and thumbnail is None and target in ("gif", "webp"):
            encoded = _encode_animation(im, target, frames)
            width, height = im.size
        else:
            im.seek(0)
            clean = _clean_still(im, target if target != "gif" else "png")
            if thumbnail is not None:
                clean.thumbnail((thumbnail, thumbnail), Image.Resampling.LANCZOS)
            clean = _for_format(clean, target)
            encoded = _encode(clean, target)
            width, height = clean.size
            frames = 1
    _, content_type, extension = FORMATS[target]
    return ProcessedImage(encoded, content_type, extension, width, height, frames)
