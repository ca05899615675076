"""One typed settings object, read from MOOT_* environment variables and an optional file."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from moot.domain.passwords import DEFAULT_PROFILE, PROFILES

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, not {raw!r}")


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting Moot reads. The README's settings table lists each one (a test keeps it honest)."""

    data_dir: Path = Path("./moot-data")
    database_url: str = ""
    hostname: str = "localhost:8536"
    # Unset, it follows the host name (load_settings): off for a local one (localhost, a loopback or private
    # address, a one-label name), on for a public one. The default host name is local, so the default is off.
    tls_enabled: bool = False
    setup_admin_username: str = ""
    setup_admin_password: str = ""
    setup_site_name: str = "Moot"
    # Background jobs (rank refresh, active-user counts) run inside `moot serve` unless turned off.
    run_jobs: bool = True
    rank_interval_seconds: int = 600
    # Behind a reverse proxy, take the client address (for rate limits) from X-Forwarded-For: the entry the
    # outermost of `trusted_proxy_count` proxies appended (counted from the right; the left is the client's).
    trusted_proxy_headers: bool = False
    trusted_proxy_count: int = 1
    # Rate-limit buckets shared by every process through this Redis (empty: each process's own memory), under
    # this key prefix.
    redis_url: str = ""
    redis_key_prefix: str = "moot"
    db_pool_size: int = 10
    # Federation. Delivery runs inside `moot serve` unless turned off (then run `moot worker` processes).
    run_delivery: bool = True
    # Test mode only: allows http://, explicit ports and loopback/private addresses for outbound requests,
    # and makes the delivery loop eager. Never on unless MOOT_FEDERATION_DEBUG=true is set explicitly.
    federation_debug: bool = False
    # Anonymous reads of the public API are answered from memory for this many seconds (0: off).
    anon_cache_seconds: float = 3.0
    # A link's joined thread reads the comments of a cross-post this server does not receive from its origin, and
    # keeps them this long before reading them again (federation/remote_threads.py).
    remote_thread_seconds: float = 600.0
    # `moot serve` serves HTTPS itself with this certificate chain and key (both PEM files), when both are set.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # A PEM bundle of extra certificate authorities trusted for outbound federation requests, on top of certifi's.
    federation_ca_file: str = ""
    # Test and lab setups only, both empty by default. `name=address,...`: addresses used instead of DNS for these
    # host names. `address or network,...`: addresses that pass the SSRF guard although they are not public (every
    # other rule, https only and no explicit port, stays on). Neither has any effect on a production setup.
    federation_hosts: str = ""
    federation_allow_addresses: str = ""
    # What `moot serve` lets one connection take (moot/http_guard.py): the request line and headers must arrive
    # within `http_header_timeout_seconds` and fit in `http_max_header_bytes`; a body must arrive within
    # `http_body_timeout_seconds` of its headers; past `http_max_connections` open connections in a process,
    # requests are answered 503.
    http_header_timeout_seconds: float = 10.0
    http_body_timeout_seconds: float = 30.0
    http_max_header_bytes: int = 32 * 1024
    http_max_connections: int = 1000
    # Outgoing mail (jobs/mail.py): `smtp://user:pass@host:587?starttls=true`, `smtps://host:465` (TLS from the
    # first byte) or `smtp://host:25` (no TLS: a relay on this machine). Empty: no mail, and the features that
    # need it say so. The sender address, and the first wait before a failed mail is tried again (it doubles).
    smtp_url: str = ""
    email_from: str = ""
    email_retry_seconds: float = 60.0
    # Uploaded images (moot/media): the folder they live in (empty: `{data_dir}/media`), the largest upload in
    # bytes (refused before it is read whole), and the caps on a decoded image: pixels, width or height, frames.
    media_dir: str = ""
    image_max_bytes: int = 10 * 1024 * 1024
    image_max_pixels: int = 50_000_000
    image_max_dimension: int = 12_000
    image_max_frames: int = 300
    # Lemmy's image_mode: `ProxyAllImages` (remote images in content are served through /api/v3/image_proxy),
    # `StoreLinkPreviews` (link previews' thumbnails copied into Moot's storage, other images linked directly),
    # `None` (remote images linked directly). Link previews of local posts are stored in both of the first two.
    image_mode: str = "ProxyAllImages"
    # How costly a password hash is made (argon2id): one of moot.domain.passwords.PROFILES. Hashes already stored
    # keep verifying at the cost they were made with.
    password_hash_profile: str = DEFAULT_PROFILE

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "moot.sqlite3"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.sqlite_path}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def scheme(self) -> str:
        return "https" if self.tls_enabled else "http"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.hostname}"

    @property
    def media_path(self) -> Path:
        """Where uploaded images and their thumbnails are stored (MOOT_MEDIA_DIR, else `{data_dir}/media`)."""
        return Path(self.media_dir) if self.media_dir.strip() else self.data_dir / "media"

    @property
    def mail_enabled(self) -> bool:
        """Whether Moot can send mail (MOOT_SMTP_URL is set)."""
        return bool(self.smtp_url.strip())

    @property
    def domain(self) -> str:
        """The host as it appears in `name@host` (with its port if it has one, as Lemmy's test cluster does)."""
        return self.hostname.lower()


ENV_NAMES: dict[str, str] = {
    "data_dir": "MOOT_DATA_DIR",
    "database_url": "MOOT_DATABASE_URL",
    "hostname": "MOOT_HOSTNAME",
    "tls_enabled": "MOOT_TLS_ENABLED",
    "setup_admin_username": "MOOT_SETUP_ADMIN_USERNAME",
    "setup_admin_password": "MOOT_SETUP_ADMIN_PASSWORD",
    "setup_site_name": "MOOT_SETUP_SITE_NAME",
    "run_jobs": "MOOT_RUN_JOBS",
    "rank_interval_seconds": "MOOT_RANK_INTERVAL_SECONDS",
    "trusted_proxy_headers": "MOOT_TRUSTED_PROXY_HEADERS",
    "trusted_proxy_count": "MOOT_TRUSTED_PROXY_COUNT",
    "redis_url": "MOOT_REDIS_URL",
    "redis_key_prefix": "MOOT_REDIS_KEY_PREFIX",
    "db_pool_size": "MOOT_DB_POOL_SIZE",
    "run_delivery": "MOOT_RUN_DELIVERY",
    "federation_debug": "MOOT_FEDERATION_DEBUG",
    "anon_cache_seconds": "MOOT_ANON_CACHE_SECONDS",
    "remote_thread_seconds": "MOOT_REMOTE_THREAD_SECONDS",
    "tls_cert_file": "MOOT_TLS_CERT_FILE",
    "tls_key_file": "MOOT_TLS_KEY_FILE",
    "federation_ca_file": "MOOT_FEDERATION_CA_FILE",
    "federation_hosts": "MOOT_FEDERATION_HOSTS",
    "federation_allow_addresses": "MOOT_FEDERATION_ALLOW_ADDRESSES",
    "http_header_timeout_seconds": "MOOT_HTTP_HEADER_TIMEOUT_SECONDS",
    "http_body_timeout_seconds": "MOOT_HTTP_BODY_TIMEOUT_SECONDS",
    "http_max_header_bytes": "MOOT_HTTP_MAX_HEADER_BYTES",
    "http_max_connections": "MOOT_HTTP_MAX_CONNECTIONS",
    "smtp_url": "MOOT_SMTP_URL",
    "email_from": "MOOT_EMAIL_FROM",
    "email_retry_seconds": "MOOT_EMAIL_RETRY_SECONDS",
    "media_dir": "MOOT_MEDIA_DIR",
    "image_max_bytes": "MOOT_IMAGE_MAX_BYTES",
    "image_max_pixels": "MOOT_IMAGE_MAX_PIXELS",
    "image_max_dimension": "MOOT_IMAGE_MAX_DIMENSION",
    "image_max_frames": "MOOT_IMAGE_MAX_FRAMES",
    "image_mode": "MOOT_IMAGE_MODE",
    "password_hash_profile": "MOOT_PASSWORD_HASH_PROFILE",
}
SETTINGS_FILE_ENV = "MOOT_SETTINGS_FILE"
IMAGE_MODES = ("None", "StoreLinkPreviews", "ProxyAllImages")


def _read_file(path: Path) -> dict[str, str]:
    """A settings file holds `MOOT_NAME=value` lines; `#` starts a comment. The environment wins over it."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path}: expected NAME=value, got {line!r}")
        values[key.strip()] = value.strip().strip('"')
    return values


def is_local_hostname(hostname: str) -> bool:
    """Whether a host name can only be reached from this machine or its network, so that no certificate
    authority would certify it: `localhost` and `*.localhost`, a name of one label (`lemmy-alpha`), a loopback,
    private or link-local address. Its ids are http:// unless MOOT_TLS_ENABLED says otherwise."""
    try:
        host = (urlsplit(f"//{hostname.strip()}").hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if not host or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return "." not in host


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    file_name = env.get(SETTINGS_FILE_ENV)
    source = {**_read_file(Path(file_name)), **env} if file_name else env
    kwargs: dict[str, object] = {}
    for f in fields(Settings):
        name = ENV_NAMES.get(f.name)
        if name is None or name not in source:
            continue
        raw = source[name]
        if f.type in ("bool", bool):
            kwargs[f.name] = _parse_bool(name, raw)
        elif f.type in ("int", int):
            kwargs[f.name] = int(raw)
        elif f.type in ("float", float):
            kwargs[f.name] = float(raw)
        elif f.name == "data_dir":
            kwargs[f.name] = Path(raw)
        else:
            kwargs[f.name] = raw
    if str(kwargs.get("image_mode", "ProxyAllImages")) not in IMAGE_MODES:
        raise ValueError(f"MOOT_IMAGE_MODE must be one of {', '.join(IMAGE_MODES)}")
    if str(kwargs.get("password_hash_profile", DEFAULT_PROFILE)) not in PROFILES:
        raise ValueError(f"MOOT_PASSWORD_HASH_PROFILE must be one of {', '.join(PROFILES)}")
    if "tls_enabled" not in kwargs:
        # Local by default, safe in production: https exactly when the configured host is a public name.
        kwargs["tls_enabled"] = not is_local_hostname(str(kwargs.get("hostname", Settings().hostname)))
    return Settings(**kwargs)  # type: ignore[arg-type]
