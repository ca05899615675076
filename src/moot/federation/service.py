"""Wiring: the fetch policy, the inbox and the delivery manager for one process, from its settings."""

from __future__ import annotations

import logging

from moot import __version__
from moot.db.engine import Database
from moot.federation.delivery import DeliveryManager, DeliveryTiming
from moot.federation.fetch import FetchPolicy
from moot.federation.inbox import Inbox
from moot.federation.send import ActivitySender, KeyStore
from moot.settings import Settings

log = logging.getLogger(__name__)


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        allow_insecure_and_private=settings.federation_debug,
        user_agent=f"Moot/{__version__} (+{settings.base_url})",
    )


def make_inbox(db: Database, settings: Settings) -> Inbox:
    if settings.federation_debug:
        log.warning("MOOT_FEDERATION_DEBUG is on: outbound requests may use http, ports and private addresses")
    return Inbox(db, settings, fetch_policy(settings))


def make_delivery(db: Database, settings: Settings, shard: int = 0, shards: int = 1) -> DeliveryManager:
    timing = DeliveryTiming.fast() if settings.federation_debug else DeliveryTiming()
    sender = ActivitySender(KeyStore(db), fetch_policy(settings))
    return DeliveryManager(db, sender, timing, shard=shard, shards=shards)
