"""Schema upgrades through Alembic, callable from the CLI and at server start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from moot.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", settings.effective_database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings) -> None:
    """Create the data folder and bring the schema to the newest revision (idempotent)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), "head")


async def upgrade_async(settings: Settings) -> None:
    # Alembic's env runs its own event loop, so it goes to a thread when called from async code.
    await asyncio.to_thread(upgrade, settings)
