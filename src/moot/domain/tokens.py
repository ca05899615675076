"""Login JWTs as Lemmy 0.19 makes them: HS256, `sub` = local user id as a string, `iss` = host, no expiry."""

from __future__ import annotations

import secrets

import jwt

from moot.domain.timefmt import utcnow


def encode_login(local_user_id: int, hostname: str, secret: str) -> str:
    # `jti` keeps two logins in the same second apart: each login is its own row, ended on its own.
    claims = {
        "sub": str(local_user_id),
        "iss": hostname,
        "iat": int(utcnow().timestamp()),
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_login(token: str, secret: str) -> int | None:
    """The local user id, or None for anything that is not a token we signed (anonymous, never an error).

    Decoding is a pure function of the token and the secret, and it was a tenth of a logged-in listing
    request (PyJWT): answers are remembered per process. Whether the login still exists is not: the caller
    checks its row every time."""
    key = (token, secret)
    if key in _decoded:
        return _decoded[key]
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub"], "verify_exp": False})
        user_id: int | None = int(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        user_id = None
    if len(_decoded) >= _DECODED_MAX:
        _decoded.clear()
    _decoded[key] = user_id
    return user_id


_decoded: dict[tuple[str, str], int | None] = {}
_DECODED_MAX = 10_000
