"""The ingestion hot path: store a batch of transactions and move the balances of the accounts they
touch, in as few round trips as the database allows. PostgreSQL: one statement (arrays through
unnest, the balance update in a data-modifying CTE on exactly the rows inserted). SQLite: one
multi-row INSERT ... RETURNING, then one executemany UPDATE (in-process, so cheap)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.ingest.model import Transaction
from server.domain.money import to_scaled

_COLUMNS = ("tenant_id, transaction_id, account_id, signed_amount, direction, currency, posted_at, description, "
            "category, running_balance, ingested_at")

_POSTGRES = f"""
WITH inserted AS (
    INSERT INTO transactions ({_COLUMNS})
    SELECT $1, t.transaction_id, t.account_id, t.signed_amount, t.direction, t.currency, t.posted_at, t.description,
           t.category, t.running_balance, $2
    FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::timestamptz[], $9::text[],
                $10::text[], $11::bigint[])
         AS t(transaction_id, account_id, signed_amount, direction, currency, posted_at, description, category,
              running_balance)
    ON CONFLICT (tenant_id, transaction_id) DO NOTHING
    RETURNING transaction_id, account_id, signed_amount
), moved AS (
    UPDATE accounts AS a
    SET current_balance = a.current_balance + d.delta, available_balance = a.available_balance + d.delta,
        updated_at = $2
    FROM (SELECT account_id, sum(signed_amount) AS delta FROM inserted GROUP BY account_id) AS d
    WHERE a.tenant_id = $1 AND a.account_id = d.account_id
)
SELECT transaction_id FROM inserted
"""

_SQLITE_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_SQLITE_UPDATE = ("UPDATE accounts SET current_balance = current_balance + ?, "
                  "available_balance = available_balance + ?, updated_at = ? WHERE tenant_id = ? AND account_id = ?")
# SQLite allows 32,766 parameters in one statement: 11 a row.
_SQLITE_ROWS_PER_STATEMENT = 2000


def _sqlite_time(value: dt.datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime writes, so that comparisons in SQL stay consistent."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _scaled_or_none(value: Any) -> int | None:
    return None if value is None else to_scaled(value)


async def insert_moving_balances(connection: AsyncConnection, tenant_id: str, transactions: list[Transaction],
                                 now: dt.datetime) -> set[str]:
    """Inserts the transactions whose id is new for the tenant, adds their signed amounts to their
    accounts' current and available balances, and returns the ids inserted."""
    if not transactions:
        return set()
    if connection.dialect.name == "postgresql":
        return await _postgres(connection, tenant_id, transactions, now)
    return await _sqlite(connection, tenant_id, transactions, now)


async def _postgres(connection: AsyncConnection, tenant_id: str, transactions: list[Transaction],
                    now: dt.datetime) -> set[str]:
    columns: list[list[Any]] = [[] for _ in range(9)]
    for t in transactions:
        for column, value in zip(columns, (
                t.transaction_id, t.account_id, to_scaled(t.signed_amount), t.direction.value, t.currency,
                t.posted_at, t.description, t.category, _scaled_or_none(t.running_balance)), strict=True):
            column.append(value)
    result = await connection.exec_driver_sql(_POSTGRES, (tenant_id, now, *columns))
    return {row[0] for row in result}


async def _sqlite(connection: AsyncConnection, tenant_id: str, transactions: list[Transaction],
                  now: dt.datetime) -> set[str]:
    stamp = _sqlite_time(now)
    inserted: set[str] = set()
    for start in range(0, len(transactions), _SQLITE_ROWS_PER_STATEMENT):
        part = transactions[start:start + _SQLITE_ROWS_PER_STATEMENT]
        sql = (f"INSERT INTO transactions ({_COLUMNS}) VALUES {', '.join([_SQLITE_ROW] * len(part))} "
               "ON CONFLICT (tenant_id, transaction_id) DO NOTHING RETURNING transaction_id")
        parameters: list[Any] = []
        for t in part:
            parameters += [tenant_id, t.transaction_id, t.account_id, to_scaled(t.signed_amount), t.direction.value,
                           t.currency, _sqlite_time(t.posted_at), t.description, t.category,
                           _scaled_or_none(t.running_balance), stamp]
        result = await connection.exec_driver_sql(sql, tuple(parameters))
        inserted.update(row[0] for row in result)
    deltas: dict[str, int] = defaultdict(int)
    for t in transactions:
        if t.transaction_id in inserted:
            deltas[t.account_id] += to_scaled(t.signed_amount)
    if deltas:
        await connection.exec_driver_sql(_SQLITE_UPDATE,
                                         [(d, d, stamp, tenant_id, a) for a, d in sorted(deltas.items())])
    return inserted
