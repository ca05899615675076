"""Wiring: the fetch policy, the inbox and the delivery manager for one process, from its settings."""

from __future__ import annotations

import functools
import logging

from moot import __version__
from moot.db.engine import Database
from moot.federation.delivery import DeliveryManager, DeliveryTiming
from moot.federation.fetch import FetchPolicy
from moot.federation.inbox import Inbox
from moot.federation.netguard import parse_host_map, parse_networks
from moot.federation.send import ActivitySender, KeyStore
from moot.federation.software import fetch_software
from moot.settings import Settings

log = logging.getLogger(__name__)


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        allow_insecure_and_private=settings.federation_debug,
        user_agent=f"Moot/{__version__} (+{settings.base_url})",
        ca_file=settings.federation_ca_file,
        static_hosts=_host_map(settings.federation_hosts),
        allowed_networks=_networks(settings.federation_allow_addresses),
    )


# Parsed once per value: the policy is built per request by the search endpoint.
_host_map = functools.cache(parse_host_map)
_networks = functools.cache(parse_networks)


def make_inbox(db: Database, settings: Settings) -> Inbox:
    if settings.federation_debug:
        log.warning("MOOT_FEDERATION_DEBUG is on: outbound requests may use http, ports and private addresses")
    if settings.federation_hosts or settings.federation_allow_addresses:
        log.warning(
            "test setup: MOOT_FEDERATION_HOSTS=%r replaces DNS for its names, MOOT_FEDERATION_ALLOW_ADDRESSES=%r "
            "lets those addresses past the guard",
            settings.federation_hosts,
            settings.federation_allow_addresses,
        )
    return Inbox(db, settings, fetch_policy(settings))


def make_delivery(db: Database, settings: Settings, shard: int = 0, shards: int = 1) -> DeliveryManager:
    timing = DeliveryTiming.fast() if settings.federation_debug else DeliveryTiming()
    policy = fetch_policy(settings)
    sender = ActivitySender(KeyStore(db), policy)
    return DeliveryManager(
        db, sender, timing, shard=shard, shards=shards, lookup=functools.partial(fetch_software, policy=policy)
    )
