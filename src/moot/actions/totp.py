"""Two-factor authentication with TOTP codes (RFC 6238), as Lemmy 0.19 does it.

`generate_secret` stores a new secret (2FA not enabled yet) and answers its otpauth:// URL; `update` enables or
disables 2FA, each only with a valid code from the secret; `check_code` is asked at login once 2FA is enabled.
Codes are Lemmy's: SHA-1, 6 digits, 30-second steps, the previous and next step accepted too (clock skew)."""

from __future__ import annotations

import time

import pyotp

from moot.db.person import LocalUser, Person
from moot.domain.errors import LemmyError

# One step either side, as Lemmy's `TOTP::new(.., skew = 1, ..)`.
VALID_WINDOW = 1


def secret_url(secret: str, username: str, issuer: str) -> str:
    """The otpauth:// URL an authenticator app reads (also drawn as the settings page's QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def check_code(user: LocalUser, token: str | None) -> None:
    """Lemmy's check_totp_2fa_valid: `missing_totp_token`, `missing_totp_secret`, `incorrect_totp_token`."""
    if token is None:
        raise LemmyError("missing_totp_token")
    if not user.totp_2fa_secret:
        raise LemmyError("missing_totp_secret")
    code = token.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        raise LemmyError("incorrect_totp_token")
    totp = pyotp.TOTP(user.totp_2fa_secret)
    now = time.time()
    step = next(
        (
            totp.timecode(now + offset * totp.interval)
            for offset in range(-VALID_WINDOW, VALID_WINDOW + 1)
            if totp.verify(code, for_time=now + offset * totp.interval)
        ),
        None,
    )
    # A code is good once: a step at or before the last one used is refused (a code seen over a shoulder, or
    # replayed within its 90 seconds, logs nobody in).
    if step is None or (user.totp_2fa_last_step is not None and step <= user.totp_2fa_last_step):
        raise LemmyError("incorrect_totp_token")
    user.totp_2fa_last_step = step


def check_login(user: LocalUser, token: str | None) -> None:
    """Asked by the login after the password: a code only when 2FA is enabled."""
    if user.totp_2fa_enabled:
        check_code(user, token)


def generate_secret(user: LocalUser, person: Person, issuer: str) -> str:
    """A new secret, stored but not enabled until `update` sees a code made from it; refused while 2FA is on
    (`totp_already_enabled`): turning it off needs a code from the current secret first."""
    if user.totp_2fa_enabled:
        raise LemmyError("totp_already_enabled")
    secret = pyotp.random_base32()
    user.totp_2fa_secret = secret
    user.totp_2fa_last_step = None
    return secret_url(secret, person.name, issuer)


def update(user: LocalUser, token: str, enabled: bool) -> bool:
    """Enable or disable 2FA with a valid code. Disabling forgets the secret (a new one is generated next time)."""
    check_code(user, token)
    user.totp_2fa_enabled = enabled
    if not enabled:
        user.totp_2fa_secret = None
    return enabled
