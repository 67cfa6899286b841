"""The ingestion hot path: insert a batch of transactions in as few round trips as the database
allows, skipping ids already stored. PostgreSQL: one statement with a column per array (unnest).
SQLite: multi-row INSERT ... RETURNING (in-process, so cheap)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.ingest.model import IncomingTransaction
from server.store.array_literals import integer_array, text_array
from server.store.types import sqlite_datetime_text

_COLUMNS = ("tenant_id, transaction_id, account_id, signed_amount, direction, currency, posted_at, description, "
            "category, running_balance, ingested_at")

_POSTGRES = f"""
INSERT INTO transactions ({_COLUMNS})
SELECT $1, t.transaction_id, t.account_id, t.signed_amount, t.direction, t.currency, t.posted_at, t.description,
       t.category, t.running_balance, $2
FROM unnest($3::text::text[], $4::text::text[], $5::text::bigint[], $6::text::text[], $7::text::text[],
            $8::timestamptz[], $9::text::text[], $10::text::text[], $11::text::bigint[])
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
    # One array per column (valid rows: amount is an int, direction and posted_at are set), the times a list and
    # the others literals (server.store.array_literals).
    columns = (
        text_array([t.transaction_id for t in transactions]), text_array([t.account_id for t in transactions]),
        integer_array([t.signed_amount for t in transactions]),
        text_array([t.direction.value for t in transactions]),  # type: ignore[union-attr]
        text_array([t.currency for t in transactions]), [t.posted_at for t in transactions],
        text_array([t.description for t in transactions]), text_array([t.category for t in transactions]),
        integer_array([t.running_balance for t in transactions]))
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
