"""The physical ceiling: the same transaction rows bulk-loaded straight into the same schema, with
no gRPC, validation, duplicate check or balance update. COPY on PostgreSQL; one transaction of
executemany on SQLite, with the pragmas the server uses."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg

from server.store.types import sqlite_datetime_text
from tests.bench.databases import BenchDatabase
from tests.bench.workload import CURRENCY, Workload

COLUMNS = ("tenant_id", "transaction_id", "account_id", "signed_amount", "direction", "currency", "posted_at",
           "description", "category", "running_balance", "ingested_at")


def _rows(workload: Workload, tenant_id: str,
          stored_time: Callable[[dt.datetime], object]) -> list[tuple[object, ...]]:
    ingested_at = stored_time(dt.datetime.now(dt.UTC))
    return [(tenant_id, s.transaction_id, s.account_id, s.signed_scaled, s.direction, CURRENCY,
             stored_time(s.posted_at), s.description, s.category, None, ingested_at) for s in workload.specs()]


async def bare_load(database: BenchDatabase, workload: Workload, tenant_id: str) -> float:
    """Loads every transaction of the workload; returns the seconds the load and its commit took
    (building the rows in memory is not timed)."""
    if database.backend == "postgresql":
        return await _copy_postgres(database.postgres_dsn, _rows(workload, tenant_id, lambda value: value))
    assert database.sqlite_path is not None
    return await asyncio.to_thread(_executemany_sqlite, database.sqlite_path,
                                   _rows(workload, tenant_id, sqlite_datetime_text))


async def _copy_postgres(dsn: str, rows: list[tuple[object, ...]]) -> float:
    connection = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        async with connection.transaction():
            await connection.copy_records_to_table("transactions", records=rows, columns=list(COLUMNS))
        return time.perf_counter() - started
    finally:
        await connection.close()


def _executemany_sqlite(path: Path, rows: list[tuple[object, ...]]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            connection.execute(f"PRAGMA {pragma}")
        placeholders = ", ".join("?" for _ in COLUMNS)
        started = time.perf_counter()
        connection.execute("BEGIN")
        connection.executemany(f"INSERT INTO transactions ({', '.join(COLUMNS)}) VALUES ({placeholders})", rows)
        connection.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        connection.close()
