"""Engine and session factory: created by whoever runs (server, worker, CLI), never at import."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def normalise_database_url(url: str) -> str:
    """Accepts the usual postgres:// and postgresql:// forms and picks the async drivers."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://"):]
    return url


def _tune_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while a batch commits; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# A pooled PostgreSQL connection back from use within this many seconds is taken as alive; one idle for
# longer is pinged before it is handed out. SQLAlchemy's pool_pre_ping pings on every checkout, which
# with asyncpg costs three round trips (BEGIN, the ping, ROLLBACK), as much as a small request's own
# work. A database restart within the window fails the requests that were using the pool at that moment
# (their connections are then replaced); later ones get fresh connections.
IDLE_SECONDS_BEFORE_PING = 5.0


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    def stamp(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at <= idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool drops this connection and hands out another
            raise DisconnectionError(f"a pooled connection failed its ping: {exc!r}") from exc

    event.listen(engine.sync_engine, "checkin", stamp)
    event.listen(engine.sync_engine, "checkout", ping_if_idle)


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def dispose(self) -> None:
        await self.engine.dispose()


def open_database(url: str, *, pool_size: int = 20,
                  idle_seconds_before_ping: float = IDLE_SECONDS_BEFORE_PING) -> Database:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
    else:
        # No overflow: SQLAlchemy closes an overflow connection as soon as it is back, so under a steady
        # load above the pool size every request opened (TLS, authentication, type set-up) and closed a
        # connection of its own. Requests beyond the pool wait their turn for one instead.
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=0)
        _ping_when_idle(engine, idle_seconds_before_ping)
    return Database(engine, async_sessionmaker(engine, expire_on_commit=False))
