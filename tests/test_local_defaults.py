"""Local defaults that work locally, production ones that are safe: MOOT_TLS_ENABLED follows MOOT_HOSTNAME when
it is not set, and `moot serve` says at start which mode it runs in."""

from __future__ import annotations

import pytest

from moot.cli import describe_mode
from moot.settings import is_local_hostname, load_settings


@pytest.mark.parametrize(
    ("hostname", "local"),
    [
        (None, True),  # unset: localhost:8536
        ("localhost:8536", True),
        ("127.0.0.1:8536", True),
        ("127.5.6.7", True),
        ("[::1]:8536", True),
        ("192.168.1.5:8536", True),  # a LAN address
        ("10.0.0.2", True),
        ("moot.localhost", True),
        ("lemmy-alpha:8541", True),  # one label: no certificate authority signs it
        ("moot.example.org", False),
        ("Moot.Example.org.", False),
        ("alpha.test", False),
        ("203.0.113.0", True),  # documentation range, not global
        ("8.8.8.8", False),
    ],
)
def test_tls_follows_the_host_name_unless_set(hostname: str | None, local: bool) -> None:
    env = {} if hostname is None else {"MOOT_HOSTNAME": hostname}
    settings = load_settings(env)
    assert settings.tls_enabled is not local
    assert settings.base_url.startswith("http://" if local else "https://")
    assert is_local_hostname(settings.hostname) is local
    # Set explicitly, the setting wins either way.
    assert load_settings({**env, "MOOT_TLS_ENABLED": "true"}).tls_enabled is True
    assert load_settings({**env, "MOOT_TLS_ENABLED": "false"}).tls_enabled is False


def test_the_defaults_make_http_localhost_ids() -> None:
    settings = load_settings({})
    assert settings.base_url == "http://localhost:8536"


def test_the_start_line_names_the_mode() -> None:
    local = describe_mode(load_settings({}))
    assert local.startswith("local mode: ids and links are http://localhost:8536")
    production = describe_mode(load_settings({"MOOT_HOSTNAME": "moot.example.org"}))
    assert production.startswith("production mode: ids and links are https://moot.example.org")
    plain = describe_mode(load_settings({"MOOT_HOSTNAME": "moot.example.org", "MOOT_TLS_ENABLED": "false"}))
    assert plain.startswith("development mode: ids and links are http://moot.example.org")
