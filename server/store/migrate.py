"""Alembic, driven from code: `engagectl db upgrade`, `make run`, the tests and the health check."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from server.store.db import normalise_database_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_database_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Synchronous: alembic's env.py runs its own event loop (call it from a thread when inside one)."""
    command.upgrade(alembic_config(database_url), revision)


@functools.cache
def head_revision() -> str | None:
    # Read once: the readiness check asks every few seconds, and each reading loaded and compiled every
    # migration file again (about 1% of a busy server's CPU). A process's migrations do not change.
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
