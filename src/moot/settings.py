"""One typed settings object, read from MOOT_* environment variables and an optional file."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

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
    tls_enabled: bool = True
    setup_admin_username: str = ""
    setup_admin_password: str = ""
    setup_site_name: str = "Moot"
    # Background jobs (rank refresh, active-user counts) run inside `moot serve` unless turned off.
    run_jobs: bool = True
    rank_interval_seconds: int = 600
    # Behind a reverse proxy, take the client address (for rate limits) from X-Forwarded-For.
    trusted_proxy_headers: bool = False
    db_pool_size: int = 10
    # Federation. Delivery runs inside `moot serve` unless turned off (then run `moot worker` processes).
    run_delivery: bool = True
    # Test mode only: allows http://, explicit ports and loopback/private addresses for outbound requests,
    # and makes the delivery loop eager. Never on unless MOOT_FEDERATION_DEBUG=true is set explicitly.
    federation_debug: bool = False
    # Anonymous reads of the public API are answered from memory for this many seconds (0: off).
    anon_cache_seconds: float = 3.0

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
    "db_pool_size": "MOOT_DB_POOL_SIZE",
    "run_delivery": "MOOT_RUN_DELIVERY",
    "federation_debug": "MOOT_FEDERATION_DEBUG",
    "anon_cache_seconds": "MOOT_ANON_CACHE_SECONDS",
}
SETTINGS_FILE_ENV = "MOOT_SETTINGS_FILE"


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
    return Settings(**kwargs)  # type: ignore[arg-type]
