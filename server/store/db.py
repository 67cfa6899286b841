"""Engine and session factory: created by whoever runs (server, worker, CLI), never at import."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from server.store.statistics import PlannerStatistics


def normalise_database_url(url: str) -> str:
    """Accepts the usual postgres:// and postgresql:// forms and picks the async drivers."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://"):]
    return url


def _tune_sqlite(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
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
        if record.driver_connection is not None and record.driver_connection.is_closed():
            # Closed under the pool (the server went away, or reset it): known without a round trip.
            raise DisconnectionError("a pooled connection was closed")
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at <= idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool drops this connection and hands out another
            if record.driver_connection is not None:
                record.driver_connection.terminate()  # at once, not after an orderly close's 2 s
            raise DisconnectionError(f"a pooled connection failed its ping: {exc!r}") from exc

    event.listen(engine.sync_engine, "checkin", stamp)
    event.listen(engine.sync_engine, "checkout", ping_if_idle)


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Which of its tables have planner statistics, remembered for the life of the process.
    planner_statistics: PlannerStatistics = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.planner_statistics = PlannerStatistics(self)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def has_spare_connection(self) -> bool:
        """Whether the pool would hand out one more connection now, without waiting for one to come back (a
        pool without a bound always would). A task that could use a second connection asks first, so it
        never holds one while it waits for another."""
        pool = self.engine.pool
        if not isinstance(pool, QueuePool):
            return True
        return pool.checkedout() < pool.size()  # open_database allows no overflow

    async def dispose(self) -> None:
        await self.engine.dispose()


# The driver waits this much longer than PostgreSQL's own statement_timeout before it gives up on a
# statement: a database that is up cancels the statement itself (and the connection stays usable); the
# driver's timeout is for one that does not answer at all (a dropped network).
DRIVER_TIMEOUT_MARGIN_SECONDS = 1.0


def _postgres_bounds(connect_timeout: float | None, statement_timeout: float | None,
                     driver_margin: float) -> dict[str, Any]:
    """asyncpg's connect arguments bounding how long opening a connection and each statement may take."""
    arguments: dict[str, Any] = {}
    if connect_timeout is not None:
        arguments["timeout"] = connect_timeout
    if statement_timeout is not None:
        # A startup parameter rather than a SET on each new connection: no extra round trip.
        arguments["server_settings"] = {"statement_timeout": str(max(1, round(statement_timeout * 1000)))}
        # Also bounds asyncpg's cancel request and its close, so that no step of a failed call hangs.
        arguments["command_timeout"] = statement_timeout + driver_margin
    return arguments


def _drop_connection_after_driver_timeout(context: ExceptionContext) -> None:
    """A statement the driver gave up on (the database stopped answering: its own statement_timeout ends
    first) leaves the connection mid-cancel; a rollback on it would wait as long again, and SQLAlchemy's
    orderly close of an invalidated connection 2 s more. The connection is dropped at once instead, and
    the pool replaces its connections (they most likely share its fate)."""
    if not isinstance(context.original_exception, TimeoutError):
        return
    context.is_disconnect = True
    if context.connection is not None and not context.connection.invalidated:
        driver_connection = context.connection.connection.driver_connection
        if driver_connection is not None:
            driver_connection.terminate()


def json_text(value: Any) -> str:
    """JSON columns through orjson: the outbox writes a batch's postings (5,000 rows) on the ingestion hot
    path, where the standard library took ten times as long. Datetimes are written in ISO 8601."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def open_database(url: str, *, pool_size: int = 20,
                  idle_seconds_before_ping: float = IDLE_SECONDS_BEFORE_PING,
                  connect_timeout: float | None = None, pool_timeout: float | None = None,
                  statement_timeout: float | None = None,
                  driver_margin: float = DRIVER_TIMEOUT_MARGIN_SECONDS) -> Database:
    """`connect_timeout`, `pool_timeout` (waiting for a pooled connection) and `statement_timeout` bound
    PostgreSQL's calls in seconds (None: the libraries' defaults, 60 s, 30 s and none); the driver gives
    up on a statement `driver_margin` seconds after PostgreSQL would have cancelled it."""
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, json_serializer=json_text, json_deserializer=orjson.loads)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
    else:
        # No overflow: SQLAlchemy closes an overflow connection as soon as it is back, so under a steady
        # load above the pool size every request opened (TLS, authentication, type set-up) and closed a
        # connection of its own. Requests beyond the pool wait their turn for one instead.
        pool_arguments: dict[str, Any] = {} if pool_timeout is None else {"pool_timeout": pool_timeout}
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, **pool_arguments,
                                     json_serializer=json_text, json_deserializer=orjson.loads,
                                     connect_args=_postgres_bounds(connect_timeout, statement_timeout,
                                                                   driver_margin))
        _ping_when_idle(engine, idle_seconds_before_ping)
        event.listen(engine.sync_engine, "handle_error", _drop_connection_after_driver_timeout)
    return Database(engine, async_sessionmaker(engine, expire_on_commit=False))
