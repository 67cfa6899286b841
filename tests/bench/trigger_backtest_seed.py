"""A backtest's history for many customers, fast: customers and accounts through the ORM, their
transactions by PostgreSQL's COPY, a chunk of accounts at a time (memory holds one chunk). Each account a
salary of 2,000 on the 1st and zero to two debits of 5-120 a day (about 290 postings a year), running
balances stored; their accounts' month bounds (account_balance_months) filled after, as the migration fills them."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import insert

from server.store.db import open_database
from server.store.models import AccountRow, CustomerRow
from server.store.repositories.balance_months import fill_statement

ACCOUNTS_PER_CHUNK = 2_000
SCALE = 10_000  # server.store.types.ScaledAmount: whole ten-thousandths
SALARY = 2_000
COLUMNS = ("tenant_id", "transaction_id", "account_id", "signed_amount", "direction", "currency", "posted_at",
           "description", "category", "running_balance", "ingested_at")


def _transactions(tenant_id: str, number: int, first: dt.date, days: int, rng: random.Random,
                  now: dt.datetime) -> tuple[list[tuple[Any, ...]], int]:
    """The account's rows and its final balance (whole units)."""
    account_id = f"ba{number:07d}"
    balance = 0
    rows = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        amounts = [SALARY] if day.day == 1 else []
        amounts += [-rng.randint(5, 120) for _ in range(rng.choice((0, 0, 1, 2)))]
        for index, amount in enumerate(amounts):
            balance += amount
            rows.append((tenant_id, f"bt{number:07d}-{offset:04d}-{index}", account_id, amount * SCALE,
                         "CREDIT" if amount > 0 else "DEBIT", "EUR",
                         dt.datetime.combine(day, dt.time(9 + index), tzinfo=dt.UTC), "", "", balance * SCALE, now))
    return rows, balance


async def copy_history(dsn: str, database_url: str, tenant_id: str, *, accounts: int, first: dt.date,
                       end: dt.date, seed: int = 7) -> int:
    """`accounts` customers (bc...) with one deposit account (ba...) each, postings from `first` to `end`;
    returns the transactions written."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    days = (end - first).days + 1
    written = 0
    store = open_database(database_url, pool_size=1)
    connection = await asyncpg.connect(dsn)
    try:
        for chunk_start in range(0, accounts, ACCOUNTS_PER_CHUNK):
            numbers = range(chunk_start, min(accounts, chunk_start + ACCOUNTS_PER_CHUNK))
            rows: list[tuple[Any, ...]] = []
            customers, account_rows = [], []
            for number in numbers:
                found, balance = _transactions(tenant_id, number, first, days, rng, now)
                rows += found
                customers.append({"tenant_id": tenant_id, "customer_id": f"bc{number:07d}", "attributes": {},
                                  "created_at": now, "updated_at": now})
                account_rows.append({"tenant_id": tenant_id, "account_id": f"ba{number:07d}",
                                     "customer_id": f"bc{number:07d}", "authorized_customer_ids": [],
                                     "account_type": "CHECKING", "container": "BANK", "currency": "EUR",
                                     "current_balance": Decimal(balance), "available_balance": Decimal(balance),
                                     "attributes": {}, "created_at": now, "updated_at": now})
            async with store.sessions() as session:
                await session.execute(insert(CustomerRow), customers)
                await session.execute(insert(AccountRow), account_rows)
                await session.commit()
            await connection.copy_records_to_table("transactions", records=rows, columns=COLUMNS)
            written += len(rows)
        # The month bounds the app keeps with every write of transactions (COPY writes none), as the migration
        # fills them.
        await connection.execute(fill_statement("postgresql"))
        await connection.execute("ANALYZE transactions; ANALYZE accounts; ANALYZE customers; "
                                 "ANALYZE account_balance_months")
    finally:
        await connection.close()
        await store.dispose()
    return written
