"""Instance identity and the admin's allow and block lists: the one rule every federation path asks.

An instance row is keyed by the host as it appears in ids (`lemmy-beta:8551`, with the port when there is one).
The admin's lists hold host names as Lemmy stores them (`lemmy-beta`, without the port), so both sides are
compared by host alone: an allowlist of `lemmy-beta` admits `lemmy-beta:8551`. Delivery, the inbox and every
outbound fetch call `InstanceLists.permits`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


def instance_host(domain_or_url: str) -> str:
    """The host of `lemmy-beta:8551`, `https://lemmy-beta:8551/u/x` or `[::1]:80`, lowercased, without port."""
    value = domain_or_url.strip()
    if "://" not in value:
        value = f"//{value}"
    try:
        host = urlsplit(value).hostname
    except ValueError:
        return ""
    return (host or "").rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class InstanceLists:
    blocked: frozenset[str]  # hosts, without ports
    allowed: frozenset[str]  # hosts, without ports; empty: every instance not blocked is allowed
    # The admin's `federation_enabled`: off, no instance is permitted (Lemmy's check_apub_id_valid).
    federation_enabled: bool = True

    @classmethod
    def of(cls, blocked: list[str], allowed: list[str], federation_enabled: bool = True) -> InstanceLists:
        return cls(
            blocked=frozenset(filter(None, map(instance_host, blocked))),
            allowed=frozenset(filter(None, map(instance_host, allowed))),
            federation_enabled=federation_enabled,
        )

    def permits(self, domain_or_url: str) -> bool:
        """Whether we may talk to the instance of this domain or URL: federation on, not blocked, and allowed
        when there is an allowlist."""
        host = instance_host(domain_or_url)
        if not self.federation_enabled or not host or host in self.blocked:
            return False
        return not self.allowed or host in self.allowed
