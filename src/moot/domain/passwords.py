"""Password hashing with argon2id, at the cost MOOT_PASSWORD_HASH_PROFILE names (one of argon2-cffi's profiles)."""

from __future__ import annotations

import functools

from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's second recommendation (64 MiB, 3 passes, 4 lanes) is argon2-cffi's default and Moot's. The first asks
# 2 GiB per hash; CHEAPEST makes a stolen hash cheap to crack and is there for test suites, which register
# thousands of accounts.
PROFILES: dict[str, Parameters] = {
    "RFC_9106_LOW_MEMORY": profiles.RFC_9106_LOW_MEMORY,
    "RFC_9106_HIGH_MEMORY": profiles.RFC_9106_HIGH_MEMORY,
    "CHEAPEST": profiles.CHEAPEST,
}
DEFAULT_PROFILE = "RFC_9106_LOW_MEMORY"


@functools.cache
def _hasher(profile: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(PROFILES[profile])


def hash_password(password: str, profile: str) -> str:
    return _hasher(profile).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Checked at the cost the hash was made with (its parameters are part of it), whatever the profile now."""
    try:
        return _hasher(DEFAULT_PROFILE).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
