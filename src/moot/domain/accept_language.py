"""An Accept-Language header read the way Lemmy 0.19 reads it at registration (the accept-language 3.1 crate)."""

from __future__ import annotations

import functools
import math
import re
import struct

# Rust's f32::from_str: a sign, then digits with an optional point and exponent, or inf/infinity/nan.
_RUST_FLOAT = re.compile(r"[+-]?(?:inf|infinity|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)", re.IGNORECASE)


def _visible_ascii(header: str) -> bool:
    """What http's HeaderValue::to_str accepts; Lemmy reads any other header as empty."""
    return all(ch == "\t" or " " <= ch <= "~" for ch in header)


def _f32(raw: str) -> float:
    """The quality as the crate parses it: an f32, and 0 when it does not parse."""
    if not _RUST_FLOAT.fullmatch(raw):
        return 0.0
    value = float(raw)
    try:
        # Rounded to single precision, so that qualities the crate sees as equal keep their order here too.
        rounded: float = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)
    return rounded


def _quality(params: str) -> float:
    parts = params.split("=")
    return _f32(parts[1]) if len(parts) == 2 else 0.0


def _best_first(a: tuple[str, float], b: tuple[str, float]) -> int:
    # The crate's Ord: higher quality first, anything else (equal, NaN) keeps the header's order.
    return -1 if a[1] > b[1] else 1 if a[1] < b[1] else 0


def language_tags(header: str | None) -> list[str]:
    """The header's languages, best first, each cut at its first '-' ("fr-CH" -> "fr"), case kept.

    As the crate does: spaces removed, entries split on ',', the quality read from the first parameter
    after the tag (`q=0.8`; a missing value is 1, a malformed one 0), a stable sort by quality, empty tags
    dropped. Lemmy then keeps what precedes the region; `*` and unknown codes stay in the list."""
    if not header or not _visible_ascii(header):
        return []
    entries = []
    for entry in header.replace(" ", "").split(","):
        tag, *params = entry.split(";")
        entries.append((tag, _quality(params[0]) if params else 1.0))
    entries.sort(key=functools.cmp_to_key(_best_first))
    return [tag.split("-")[0] for tag, _ in entries if tag]
