"""Pure SSRF guards for outbound requests: host normalisation, public-address test, URL checks (R4, R12)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import httpx
import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"https": 443, "http": 80}

# Ranges refused on top of `is_global`: Python versions disagree on several of them (CVE-2026-33693 was
# exactly a list that missed 0.0.0.0/8, broadcast and documentation ranges), so they are spelled out.
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches localhost on Linux
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata endpoints
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes 255.255.255.255 broadcast
    )
)
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, includes Teredo
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique-local
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local, still `is_global` on some Pythons
        "ff00::/8",  # multicast
    )
)
# IPv6 prefixes that carry an IPv4 address in their low 32 bits: the embedded address decides.
_EMBEDDING_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::ffff:0:0/96",  # v4-mapped
        "::/96",  # deprecated v4-compatible
        "::ffff:0:0:0/96",  # SIIT v4-translated
        "64:ff9b::/96",  # well-known NAT64
    )
)
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_LDH_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_FORBIDDEN_URL_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


class UnsafeTarget(ValueError):
    """A URL or host that an outbound request must not reach; `reason` is a short stable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedTarget:
    """A checked URL: normalised ASCII host (IPv6 without brackets), effective port, path with query."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host_header}{self.path}"

    def same_origin(self, other: ParsedTarget) -> bool:
        return (self.scheme, self.host, self.port) == (other.scheme, other.host, other.port)


def parse_ip(text: str) -> IPAddress | None:
    """An IP literal (brackets and an IPv6 zone allowed), or None when `text` is a name."""
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        return None


def normalise_host(host: str) -> str:
    """Lowercase, strip one trailing dot, IDNA-encode; IP literals come back in canonical form."""
    ip = parse_ip(host)
    if ip is not None:
        return str(ip)
    name = host.lower()
    name = name.removesuffix(".")
    if not name or len(name) > 253:
        raise UnsafeTarget("invalid host", repr(host))
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise UnsafeTarget("invalid host", repr(host)) from exc
    labels = ascii_name.split(".")
    if not all(_LDH_LABEL.match(label) for label in labels) or len(ascii_name) > 253:
        raise UnsafeTarget("invalid host", repr(host))
    # A numeric last label makes URL parsers read the host as an IPv4 address ("127.1", "0x7f.1").
    if _NUMERIC_LABEL.match(labels[-1]):
        raise UnsafeTarget("invalid host", repr(host))
    return ascii_name


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _EMBEDDING_V6) and ip not in _BLOCKED_V6:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True only for a globally routable unicast address, looking through IPv6 forms that embed IPv4."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip.is_global and not any(ip in net for net in _BLOCKED_V4)
    if any(ip in net for net in _BLOCKED_V6):
        return False
    embedded = _embedded_v4(ip)
    if embedded is not None and not is_public_address(embedded):
        return False
    if ip.ipv4_mapped is not None:
        return True  # the embedded address is public; `is_global` of mapped forms varies by Python version
    return ip.is_global and not ip.is_multicast


def _parse(url: str) -> httpx.URL:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget("invalid url", "too long")
    # Whitespace, control characters and backslashes are where URL parsers disagree with each other.
    if _FORBIDDEN_URL_CHARS.search(url):
        raise UnsafeTarget("invalid url", "forbidden character")
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise UnsafeTarget("invalid url", str(exc)) from exc


def _authority(url: str) -> str:
    rest = url.split("//", 1)[1] if "//" in url else ""
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def _explicit_port(parsed: httpx.URL) -> bool:
    # httpx drops a port equal to the scheme default; any other one is explicit.
    return parsed.port is not None and parsed.port != DEFAULT_PORTS.get(parsed.scheme)


def check_url(url: str, allow_insecure: bool) -> ParsedTarget:
    """Check an outbound URL: https only, no userinfo, no explicit port (unless allow_insecure).

    The fragment is dropped: it is never sent."""
    parsed = _parse(url)
    schemes = ("https", "http") if allow_insecure else ("https",)
    if parsed.scheme not in schemes:
        raise UnsafeTarget("insecure scheme", parsed.scheme or "(none)")
    if parsed.userinfo or "@" in _authority(url):
        raise UnsafeTarget("userinfo", "credentials in URL")
    if _explicit_port(parsed) and not allow_insecure:
        raise UnsafeTarget("port", str(parsed.port))
    try:
        decoded_host = parsed.host
    except ValueError as exc:
        # httpx decodes an IDNA A-label only when asked: a malformed one (`xn--localhost-`) raises here.
        raise UnsafeTarget("invalid host", repr(parsed.raw_host.decode("ascii", "replace"))) from exc
    if not decoded_host:
        raise UnsafeTarget("invalid host", "empty")
    host = normalise_host(decoded_host)
    port = parsed.port if parsed.port is not None else DEFAULT_PORTS[parsed.scheme]
    path = parsed.raw_path.decode("ascii") or "/"
    return ParsedTarget(scheme=parsed.scheme, host=host, port=port, path=path)


# --- test and lab setups (MOOT_FEDERATION_HOSTS, MOOT_FEDERATION_ALLOW_ADDRESSES) -----------------------

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
HostMap = tuple[tuple[str, tuple[IPAddress, ...]], ...]


def parse_host_map(text: str, setting: str = "MOOT_FEDERATION_HOSTS") -> HostMap:
    """`name=address,name=address`: a fixed table used instead of DNS for those names (a name may repeat)."""
    table: dict[str, list[IPAddress]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, address = item.partition("=")
        ip = parse_ip(address.strip())
        if not sep or ip is None or parse_ip(name.strip()) is not None:
            raise ValueError(f"{setting}: expected name=address, got {item!r}")
        try:
            host = normalise_host(name.strip())
        except UnsafeTarget as exc:
            raise ValueError(f"{setting}: {exc}") from exc
        table.setdefault(host, []).append(ip)
    return tuple((host, tuple(ips)) for host, ips in table.items())


def parse_networks(text: str, setting: str = "MOOT_FEDERATION_ALLOW_ADDRESSES") -> tuple[IPNetwork, ...]:
    """`address or network,...` (`127.0.1.0/24,::1`): an explicit list of addresses the guard lets through."""
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=True))
        except ValueError as exc:
            raise ValueError(f"{setting}: {exc}") from exc
    return tuple(networks)


def is_allowed_address(ip: IPAddress, allowed: tuple[IPNetwork, ...]) -> bool:
    """A public address, or one on the explicit allowlist (its networks compared in the address's own family)."""
    return is_public_address(ip) or any(ip.version == net.version and ip in net for net in allowed)
