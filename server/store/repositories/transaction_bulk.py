"""The ingestion hot path: insert a batch of transactions in as few round trips as the database
allows, skipping ids already stored. PostgreSQL: one statement with a column per array (unnest).
SQLite: multi-row INSERT ... RETURNING (in-process, so cheap)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.ingest.model import IncomingTransaction
from server.store.types import sqlite_datetime_text

_COLUMNS = ("tenant_id, transaction_id, account_id, signed_amount, direction, currency, posted_at, description, "
            "category, running_balance, ingested_at")

_POSTGRES = f"""
INSERT INTO transactions ({_COLUMNS})
SELECT $1, t.transaction_id, t.account_id, t.signed_amount, t.direction, t.currency, t.posted_at, t.description,
       t.category, t.running_balance, $2
FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::timestamptz[], $9::text[],
            $10::text[], $11::bigint[])
     AS t(transaction_id, account_id, signed_amount, direction, currency, posted_at, description, category,
          running_balance)
ON CONFLICT (tenant_id, transaction_id) DO NOTHING
RETURNING transaction_id
"""

_SQLITE_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# SQLite allows 32,766 parameters in one statement: 11 a row.
_SQLITE_ROWS_PER_STATEMENT = 2000


async def insert_new(connection: AsyncConnection, tenant_id: str, transactions: list[IncomingTransaction],
                     now: dt.datetime) -> set[str]:
    """Inserts the transactions whose id is new for the tenant; returns the ids inserted. The rows must
    be valid (server.domain.ingest.validation) and their accounts exist."""
    if not transactions:
        return set()
    if connection.dialect.name == "postgresql":
        return await _postgres(connection, tenant_id, transactions, now)
    return await _sqlite(connection, tenant_id, transactions, now)


async def _postgres(connection: AsyncConnection, tenant_id: str, transactions: list[IncomingTransaction],
                    now: dt.datetime) -> set[str]:
    # One array per column (valid rows: amount is an int, direction and posted_at are set).
    columns = (
        [t.transaction_id for t in transactions], [t.account_id for t in transactions],
        [t.signed_amount for t in transactions], [t.direction.value for t in transactions],  # type: ignore[union-attr]
        [t.currency for t in transactions], [t.posted_at for t in transactions],
        [t.description for t in transactions], [t.category for t in transactions],
        [t.running_balance for t in transactions])
    result = await connection.exec_driver_sql(_POSTGRES, (tenant_id, now, *columns))
    return {row[0] for row in result}


async def _sqlite(connection: AsyncConnection, tenant_id: str, transactions: list[IncomingTransaction],
                  now: dt.datetime) -> set[str]:
    stamp = sqlite_datetime_text(now)
    inserted: set[str] = set()
    for start in range(0, len(transactions), _SQLITE_ROWS_PER_STATEMENT):
        part = transactions[start:start + _SQLITE_ROWS_PER_STATEMENT]
        sql = (f"INSERT INTO transactions ({_COLUMNS}) VALUES {', '.join([_SQLITE_ROW] * len(part))} "
               "ON CONFLICT (tenant_id, transaction_id) DO NOTHING RETURNING transaction_id")
        parameters: list[Any] = []
        for t in part:
            parameters += (tenant_id, t.transaction_id, t.account_id, t.signed_amount, t.direction.value,  # type: ignore[union-attr]
                           t.currency, sqlite_datetime_text(t.posted_at), t.description, t.category,  # type: ignore[arg-type]
                           t.running_balance, stamp)
        result = await connection.exec_driver_sql(sql, tuple(parameters))
        inserted.update(row[0] for row in result)
    return inserted
