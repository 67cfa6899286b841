"""What kind of fault an exception is, when it is not a domain error: the store unreachable, a
statement that took too long, a lock not granted, memory run out. One classification, for the gRPC
interceptor (which answers each kind with its own status and reason) and for the workers; anything
it does not name is a fault of ours (INTERNAL).

Exceptions reach us wrapped (SQLAlchemy's error around the driver adapter's around asyncpg's around
the socket's), so the classification looks down the chain; a bare TimeoutError or OSError counts only
when it was raised inside the database libraries, not anywhere in the server."""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterator
from types import TracebackType

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc


class Fault(enum.Enum):
    """Each value is the stable reason put in the answer's ErrorInfo."""

    # The database cannot be reached or is not accepting work: refused, reset, closed, a connect or a
    # pool checkout that timed out, a server shutting down or starting up, too many connections, a
    # read-only server (a failover in progress).
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    # A statement ran past its bound (the database cancelled it, or the driver gave up waiting).
    STORE_TIMEOUT = "STORE_TIMEOUT"
    # A lock was not granted in time (SQLite's "database is locked" after its busy timeout).
    STORE_BUSY = "STORE_BUSY"
    # The database aborted the transaction for a conflict with another (deadlock, serialization).
    STORE_CONFLICT = "STORE_CONFLICT"
    # This process ran out of memory for the request.
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    # Redis (the job queue) cannot be reached. Calls hand work to the queue only after their commit,
    # and the relay sweeps hand over what did not reach it, so few calls can meet this.
    QUEUE_UNAVAILABLE = "QUEUE_UNAVAILABLE"

    @property
    def retry_after_seconds(self) -> float | None:
        """How long a caller should wait before trying again; None: retrying will not help soon."""
        return _RETRY_AFTER_SECONDS.get(self)


_RETRY_AFTER_SECONDS = {Fault.STORE_UNAVAILABLE: 1.0, Fault.STORE_TIMEOUT: 2.0, Fault.STORE_BUSY: 1.0,
                        Fault.STORE_CONFLICT: 0.1, Fault.QUEUE_UNAVAILABLE: 1.0}

# PostgreSQL's SQLSTATE codes (exact, then by class: the first two characters).
_SQLSTATES = {
    "57014": Fault.STORE_TIMEOUT,  # query_canceled: statement_timeout (or the driver's cancel)
    "55P03": Fault.STORE_BUSY,  # lock_not_available
    "40001": Fault.STORE_CONFLICT,  # serialization_failure
    "40P01": Fault.STORE_CONFLICT,  # deadlock_detected
    "57P01": Fault.STORE_UNAVAILABLE,  # admin_shutdown
    "57P02": Fault.STORE_UNAVAILABLE,  # crash_shutdown
    "57P03": Fault.STORE_UNAVAILABLE,  # cannot_connect_now (starting up, in recovery)
    "25006": Fault.STORE_UNAVAILABLE,  # read_only_sql_transaction (a standby, during a failover)
}
_SQLSTATE_CLASSES = {
    "08": Fault.STORE_UNAVAILABLE,  # connection exception (asyncpg's ConnectionDoesNotExistError is 08003)
    "53": Fault.STORE_UNAVAILABLE,  # insufficient resources: too many connections, disk full, out of memory
}
_SQLITE_CODES = {
    sqlite3.SQLITE_BUSY: Fault.STORE_BUSY,
    sqlite3.SQLITE_LOCKED: Fault.STORE_BUSY,
    sqlite3.SQLITE_CANTOPEN: Fault.STORE_UNAVAILABLE,
    sqlite3.SQLITE_IOERR: Fault.STORE_UNAVAILABLE,
    sqlite3.SQLITE_FULL: Fault.STORE_UNAVAILABLE,
}
# Where a TimeoutError or OSError must have been raised to be the store's.
_STORE_MODULES = ("asyncpg", "sqlalchemy", "aiosqlite", "sqlite3", "server.store")
_CHAIN_LIMIT = 8


def fault_of(error: BaseException) -> Fault | None:
    """The kind of fault `error` is, or None for one that no kind covers (a bug of ours)."""
    for seen in _chain(error):
        found = _own_fault(seen)
        if found is not None:
            return found
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, then what it wraps: SQLAlchemy's `orig`, the cause, the context."""
    seen: list[BaseException] = []
    pending: list[BaseException] = [error]
    while pending and len(seen) < _CHAIN_LIMIT:
        current = pending.pop(0)
        if any(current is known for known in seen):
            continue
        seen.append(current)
        yield current
        for inner in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(inner, BaseException):
                pending.append(inner)


def _own_fault(error: BaseException) -> Fault | None:
    if isinstance(error, MemoryError):
        return Fault.OUT_OF_MEMORY
    if isinstance(error, RedisConnectionError | RedisTimeoutError):
        return Fault.QUEUE_UNAVAILABLE
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return Fault.STORE_UNAVAILABLE  # no pooled connection came free in time; a pooled one was dead
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return Fault.STORE_UNAVAILABLE
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return _SQLSTATES.get(sqlstate) or _SQLSTATE_CLASSES.get(sqlstate[:2])
    if isinstance(error, sqlite3.Error):
        return _SQLITE_CODES.get(getattr(error, "sqlite_errorcode", None))  # type: ignore[arg-type]
    if type(error).__name__ == "InterfaceError" and "connection is closed" in str(error):
        return Fault.STORE_UNAVAILABLE  # asyncpg's, on a connection lost earlier
    if isinstance(error, TimeoutError) and _raised_in(error.__traceback__, _STORE_MODULES):
        # Opening a connection that timed out means the store is unreachable; a statement, that it is slow
        # or gone silent.
        if _connecting(error.__traceback__):
            return Fault.STORE_UNAVAILABLE
        return Fault.STORE_TIMEOUT
    if isinstance(error, OSError) and _raised_in(error.__traceback__, _STORE_MODULES):
        return Fault.STORE_UNAVAILABLE  # refused, reset, unreachable, a name that does not resolve
    return None


def _frames(traceback: TracebackType | None) -> Iterator[tuple[str, str]]:
    """(module, function) of each frame the error passed through, outermost first."""
    while traceback is not None:
        yield str(traceback.tb_frame.f_globals.get("__name__", "")), traceback.tb_frame.f_code.co_name
        traceback = traceback.tb_next


def _raised_in(traceback: TracebackType | None, modules: tuple[str, ...]) -> bool:
    """Whether the traceback passes through one of the modules (or their submodules)."""
    return any(name == module or name.startswith(module + ".") for name, _ in _frames(traceback) for module in modules)


def _connecting(traceback: TracebackType | None) -> bool:
    """Whether the error came from opening a connection (or handing one out of the pool, or back)."""
    return any(name.startswith("sqlalchemy.pool") or name == "asyncpg.connect_utils"
               or (name == "asyncpg.connection" and function == "connect") for name, function in _frames(traceback))
