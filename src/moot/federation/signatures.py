"""HTTP signatures (draft-cavage-12, as Mastodon and Lemmy deploy them): pure sign and fail-closed verify."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

ALGORITHMS = frozenset({"hs2019", "rsa-sha256"})
DEFAULT_MAX_SKEW = timedelta(hours=1)
# Rule 6 of the design notes: refuse toy keys, and cap the size so a huge key cannot burn CPU.
MIN_KEY_BITS = 2048
MAX_KEY_BITS = 8192
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
REQUEST_TARGET = "(request-target)"
CREATED = "(created)"
EXPIRES = "(expires)"

HeaderSource = Mapping[str, str] | Iterable[tuple[str, str]]


class SignatureError(Exception):
    """A signature that is malformed, unsupported or does not verify; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SignatureParams:
    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes
    created: int | None = None
    expires: int | None = None


# ---------------------------------------------------------------- headers


def _collect(headers: HeaderSource) -> dict[str, list[str]]:
    """Lower-cased name -> every value, in order; uses multi_items() (Starlette, httpx) when present."""
    if isinstance(headers, Mapping):
        multi = getattr(headers, "multi_items", None)
        pairs: Iterable[tuple[str, str]] = multi() if callable(multi) else headers.items()
    else:
        pairs = headers
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name.lower(), []).append(value)
    return out


def _joined(collected: Mapping[str, list[str]], name: str) -> str | None:
    values = collected.get(name)
    if values is None:
        return None
    return ", ".join(v.strip(" \t") for v in values)


def digest_header(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


# ---------------------------------------------------------------- signing string


def build_signing_string(
    method: str,
    path_with_query: str,
    headers: HeaderSource,
    signed: Sequence[str],
    created: int | None = None,
    expires: int | None = None,
) -> str:
    """The string a signature covers, from the request as it is (draft-cavage-12 section 2.3)."""
    return _signing_string(method, path_with_query, _collect(headers), signed, created, expires)


def _signing_string(
    method: str,
    path_with_query: str,
    collected: Mapping[str, list[str]],
    signed: Sequence[str],
    created: int | None,
    expires: int | None,
) -> str:
    lines = [_signing_line(name, method, path_with_query, collected, created, expires) for name in signed]
    # A line break inside a value could forge extra lines; real HTTP parsers refuse them, so must we.
    if any("\n" in line or "\r" in line for line in lines):
        raise SignatureError("a signed value contains a line break")
    return "\n".join(lines)


def _signing_line(
    name: str,
    method: str,
    path_with_query: str,
    collected: Mapping[str, list[str]],
    created: int | None,
    expires: int | None,
) -> str:
    if name == REQUEST_TARGET:
        return f"{name}: {method.lower()} {path_with_query}"
    if name in (CREATED, EXPIRES):
        value = created if name == CREATED else expires
        if value is None:
            raise SignatureError(f"{name} is signed but the {name[1:-1]} parameter is missing")
        return f"{name}: {value}"
    joined = _joined(collected, name)
    if joined is None:
        raise SignatureError(f"signed header {name!r} is missing from the request")
    return f"{name}: {joined}"


def _encode(signing_string: str) -> bytes:
    # ASGI servers decode header bytes as Latin-1, so encoding back gives the bytes that were on the wire.
    try:
        return signing_string.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise SignatureError("signed values are not Latin-1 text") from exc


def sign_string(signing_string: str, private_key_pem: str) -> str:
    """Base64 RSASSA-PKCS1-v1_5 over SHA-256 (deterministic, so test vectors match byte for byte)."""
    # Our own stored keys are trusted; the consistency check costs ~100 ms per load, on every delivery.
    key = serialization.load_pem_private_key(
        private_key_pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the signing key is not an RSA private key")
    raw = key.sign(_encode(signing_string), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode("ascii")


# ---------------------------------------------------------------- sign


def http_date(moment: datetime) -> str:
    """RFC 7231 IMF-fixdate, independent of the locale."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _host_of(url: str) -> tuple[str, str]:
    """(Host header, path with query) for an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    # HTTP clients send an IDN host as its ASCII (punycode) form, and that is what the receiver verifies.
    hostname = parts.hostname if parts.hostname.isascii() else parts.hostname.encode("idna").decode("ascii")
    host = f"[{hostname}]" if ":" in hostname else hostname
    default_port = 443 if parts.scheme == "https" else 80
    if parts.port is not None and parts.port != default_port:
        host = f"{host}:{parts.port}"
    path = parts.path or "/"
    return host, f"{path}?{parts.query}" if parts.query else path


def _quoted(value: str) -> str:
    if any(c in value for c in '"\\') or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError(f"cannot quote {value!r} in a Signature header")
    return f'"{value}"'


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """Headers to add to a request (Date, Host, Digest when there is a body, Signature); ours win."""
    host, path_with_query = _host_of(url)
    added = {"Date": http_date(now or datetime.now(UTC)), "Host": host}
    signed = [REQUEST_TARGET, "host", "date"]
    if body or method.upper() in BODY_METHODS:
        added["Digest"] = digest_header(body or b"")
        signed.append("digest")
    content_type = _joined(_collect(headers), "content-type")
    if content_type is not None:
        signed.append("content-type")
    merged = [(k, v) for k, v in headers.items() if k.lower() not in ("date", "host", "digest")]
    merged.extend(added.items())
    signature = sign_string(build_signing_string(method, path_with_query, merged, signed), private_key_pem)
    added["Signature"] = ",".join(
        [
            f"keyId={_quoted(key_id)}",
            'algorithm="hs2019"',
            f"headers={_quoted(' '.join(signed))}",
            f"signature={_quoted(signature)}",
        ]
    )
    return added


# ---------------------------------------------------------------- parse

_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(
    rf"({_TCHARS})[ \t]*=[ \t]*(?:\"((?:[^\"\\\x00-\x08\x0a-\x1f\x7f]|\\[\t\x20-\x7e])*)\"|({_TCHARS}))"
)
_SEPARATOR = re.compile(r"[ \t]*,[ \t]*")
_SCHEME = re.compile(r"signature[ \t]+(?=[^\s=])", re.IGNORECASE)
_QUOTED_PAIR = re.compile(r"\\(.)")
_STRING_PARAMS = ("keyId", "algorithm", "headers", "signature")


def _split_params(value: str) -> list[tuple[str, str, bool]]:
    """[(name, value, was_quoted)]; the whole value must be `param *( "," param )`, nothing else."""
    text = value.strip(" \t")
    scheme = _SCHEME.match(text)
    pos = scheme.end() if scheme else 0
    params: list[tuple[str, str, bool]] = []
    while True:
        match = _PARAM.match(text, pos)
        if match is None:
            raise SignatureError(f"malformed Signature parameter at offset {pos}")
        quoted = match.group(2) is not None
        raw = _QUOTED_PAIR.sub(r"\1", match.group(2)) if quoted else match.group(3)
        params.append((match.group(1), raw, quoted))
        pos = match.end()
        if pos == len(text):
            return params
        sep = _SEPARATOR.match(text, pos)
        if sep is None or sep.end() == len(text):
            raise SignatureError(f"malformed Signature header after parameter {match.group(1)!r}")
        pos = sep.end()


def _unique(params: list[tuple[str, str, bool]]) -> dict[str, tuple[str, bool]]:
    seen: dict[str, tuple[str, bool]] = {}
    lowered: set[str] = set()
    for name, value, quoted in params:
        # Case-folded, so parsers that ignore case cannot read a different keyId than we do.
        if name.lower() in lowered:
            raise SignatureError(f"duplicate Signature parameter {name!r}")
        lowered.add(name.lower())
        seen[name] = (value, quoted)
    return seen


def _string_param(params: Mapping[str, tuple[str, bool]], name: str) -> str | None:
    found = params.get(name)
    if found is None:
        return None
    value, quoted = found
    if not quoted:
        raise SignatureError(f"parameter {name} must be a quoted string")
    return value


def _int_param(params: Mapping[str, tuple[str, bool]], name: str) -> int | None:
    found = params.get(name)
    if found is None:
        return None
    if not found[0].isascii() or not found[0].isdigit():
        raise SignatureError(f"parameter {name} must be an integer Unix timestamp")
    return int(found[0])


def _signed_names(raw: str | None, algorithm: str) -> tuple[str, ...]:
    if raw is None:
        # The draft's default; Mastodon keeps `date` for rsa-sha256 (the appendix C.1 vector relies on it).
        return (CREATED,) if algorithm == "hs2019" else ("date",)
    names = tuple(raw.lower().split())
    if not names:
        raise SignatureError("the headers parameter is empty")
    if len(set(names)) != len(names):
        raise SignatureError("the headers parameter lists a header twice")
    return names


def _decode_signature(raw: str | None) -> bytes:
    if not raw:
        raise SignatureError("the signature parameter is missing or empty")
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise SignatureError("the signature parameter is not valid base64") from exc


@lru_cache(maxsize=256)
def parse_signature_header(value: str) -> SignatureParams:
    """Parse a `Signature` header value, or an `Authorization: Signature ...` value. Remembered for a while (the
    result is frozen): the inbox reads the keyId before it looks anything up, and the verification parses the
    same header again. A refused header raises each time (errors are not remembered)."""
    params = _unique(_split_params(value))
    strings = {name: _string_param(params, name) for name in _STRING_PARAMS}
    key_id = strings["keyId"]
    if not key_id:
        raise SignatureError("the keyId parameter is missing or empty")
    algorithm = (strings["algorithm"] or "hs2019").lower()
    return SignatureParams(
        key_id=key_id,
        algorithm=algorithm,
        headers=_signed_names(strings["headers"], algorithm),
        signature=_decode_signature(strings["signature"]),
        created=_int_param(params, "created"),
        expires=_int_param(params, "expires"),
    )


# ---------------------------------------------------------------- verify


def _signature_value(collected: Mapping[str, list[str]]) -> str:
    signature = _joined(collected, "signature")
    if signature is not None:
        return signature
    authorization = _joined(collected, "authorization")
    if authorization is not None and _SCHEME.match(authorization):
        return authorization
    raise SignatureError("the request has no Signature header")


def _check_policy(params: SignatureParams, method: str, body: bytes) -> None:
    if params.algorithm not in ALGORITHMS:
        raise SignatureError(f"unsupported algorithm {params.algorithm!r} (only hs2019 and rsa-sha256)")
    signed = set(params.headers)
    if params.algorithm != "hs2019" and signed & {CREATED, EXPIRES}:
        raise SignatureError(f"(created) and (expires) cannot be signed with {params.algorithm}")
    if REQUEST_TARGET not in signed:
        raise SignatureError("(request-target) is not signed")
    if "host" not in signed:
        raise SignatureError("the Host header is not signed")
    if "date" not in signed and CREATED not in signed:
        raise SignatureError("neither the Date header nor (created) is signed")
    if (body or method.upper() in BODY_METHODS) and "digest" not in signed:
        raise SignatureError("the Digest header is not signed")


_IMF_FIXDATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT"
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_http_date(value: str) -> datetime:
    """IMF-fixdate only: the form every fediverse server sends."""
    match = _IMF_FIXDATE.fullmatch(value.strip(" \t"))
    if match is None:
        raise SignatureError(f"the Date header is not an RFC 7231 date: {value!r}")
    day, month, year, hour, minute, second = match.groups()
    try:
        return datetime(int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError as exc:
        raise SignatureError(f"the Date header is not a real date: {value!r}") from exc


def _check_moment(label: str, moment: datetime, now: datetime, max_skew: timedelta) -> None:
    if moment < now - max_skew:
        raise SignatureError(f"{label} is too old ({moment.isoformat()})")
    if moment > now + max_skew:
        raise SignatureError(f"{label} is too far in the future ({moment.isoformat()})")


def _from_unix(label: str, value: int) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureError(f"the {label} parameter is out of range") from exc


def _check_time(
    params: SignatureParams, collected: Mapping[str, list[str]], now: datetime, max_skew: timedelta
) -> None:
    # An expiry only ever narrows the window, so it is honoured even when it is not signed.
    if params.expires is not None and now > _from_unix("expires", params.expires) + max_skew:
        raise SignatureError("the signature has expired")
    if "date" in params.headers:
        date = _joined(collected, "date")
        if date is None:
            raise SignatureError("the Date header is signed but missing")
        _check_moment("the Date header", parse_http_date(date), now, max_skew)
    if CREATED in params.headers and params.created is not None:
        _check_moment("the created parameter", _from_unix("created", params.created), now, max_skew)


def _check_digest(params: SignatureParams, collected: Mapping[str, list[str]], body: bytes) -> None:
    if "digest" not in params.headers:
        return
    header = _joined(collected, "digest")
    if header is None:
        raise SignatureError("the Digest header is signed but missing")
    offered = [part.split("=", 1) for part in header.split(",")]
    sha256 = [pair[1].strip() for pair in offered if len(pair) == 2 and pair[0].strip().lower() == "sha-256"]
    if not sha256:
        names = ", ".join(pair[0].strip() for pair in offered)
        raise SignatureError(f"the Digest header offers no SHA-256 (got: {names})")
    actual = hashlib.sha256(body).digest()
    for value in sha256:
        try:
            given = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise SignatureError("the Digest value is not valid base64") from exc
        if not hmac.compare_digest(given, actual):
            raise SignatureError("the Digest does not match the body")


def load_public_key(public_key_pem: str, min_key_bits: int = MIN_KEY_BITS) -> rsa.RSAPublicKey:
    """An RSA public key (SPKI or PKCS#1 PEM) of an acceptable size."""
    key = _parsed_key(public_key_pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the public key is not an RSA key")
    if not min_key_bits <= key.key_size <= MAX_KEY_BITS:
        raise SignatureError(f"the RSA key has {key.key_size} bits (accepted: {min_key_bits}-{MAX_KEY_BITS})")
    return key


@lru_cache(maxsize=4096)
def _parsed_key(public_key_pem: str) -> PublicKeyTypes:
    """The key of a PEM, parsed once per process (keys are immutable; a sender's is the same on every activity it
    signs). A PEM that does not parse raises each time."""
    try:
        return serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise SignatureError("the public key is not a valid PEM key") from exc


def verify_request(
    method: str,
    path_with_query: str,
    headers: HeaderSource,
    body: bytes,
    public_key_pem: str,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    *,
    min_key_bits: int = MIN_KEY_BITS,
) -> SignatureParams:
    """Check a received request's signature, fail-closed; raises SignatureError with the reason.

    `path_with_query` and the headers must be the request as received (raw path, Host with its port).
    The caller still has to check that key_owner(result.key_id) is the activity's actor."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    collected = _collect(headers)
    params = parse_signature_header(_signature_value(collected))
    _check_policy(params, method, body)
    _check_time(params, collected, now, max_skew)
    _check_digest(params, collected, body)
    signing_string = _signing_string(method, path_with_query, collected, params.headers, params.created, params.expires)
    key = load_public_key(public_key_pem, min_key_bits)
    try:
        key.verify(params.signature, _encode(signing_string), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise SignatureError("the signature does not verify") from exc
    return params


def key_owner(key_id: str) -> str:
    """The actor a keyId belongs to: the keyId without its fragment."""
    owner = key_id.split("#", 1)[0]
    parts = urlsplit(owner)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SignatureError(f"the keyId is not an http(s) URL: {key_id!r}")
    return owner
