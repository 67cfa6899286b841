"""Bench hook: one trigger backtest timed (server.services.triggers.backtest, no gRPC), over a synthetic
history written straight to the store. For the bench suite to wire (tests/bench/run.py):

    await seed_history(database, tenant_id, accounts=10_000, days=400, end=dt.date(2026, 11, 30))
    figures = await time_backtest(database, tenant_id, start=dt.date(2026, 9, 1), end=dt.date(2026, 11, 30))

The tenant must exist. Each account (one per customer, container BANK) gets a salary on the 1st and a
few debits on random days, so `average_collected_balance(30d) < 1000` crosses now and then (mostly early
in the history, while balances are low)."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import time
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from server.domain.auth import Caller, Role
from server.domain.errors import AlreadyExists
from server.domain.triggers.rules import Audience, BankNotificationAction, RuleDefinition
from server.services.triggers.backtest import TriggerBacktestService
from server.services.triggers.rules import TriggerRulesService
from server.store.db import Database
from server.store.models import AccountRow, CustomerRow, TransactionRow

CONDITION = "average_collected_balance(30d) < 1000"
RULE_ID = "bench_backtest"
INSERT_ROWS = 5_000
SALARY = Decimal("2000.00")


async def _insert(database: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), INSERT_ROWS):
        async with database.sessions() as session:
            await session.execute(insert(table), rows[start:start + INSERT_ROWS])
            await session.commit()


async def seed_history(database: Database, tenant_id: str, *, accounts: int, days: int, end: dt.date,
                       seed: int = 7) -> int:
    """`accounts` customers with one deposit account each and `days` days of postings ending on `end`;
    returns the number of transactions written."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    first = end - dt.timedelta(days=days - 1)
    customers, account_rows, transactions = [], [], []
    for n in range(accounts):
        customer_id, account_id = f"bc{n:07d}", f"ba{n:07d}"
        balance = Decimal(0)
        for offset in range(days):
            day = first + dt.timedelta(days=offset)
            amounts = [SALARY] if day.day == 1 else []
            amounts += [-Decimal(rng.randint(5, 120)) for _ in range(rng.choice((0, 0, 1, 2)))]
            for index, amount in enumerate(amounts):
                balance += amount
                transactions.append({
                    "tenant_id": tenant_id, "transaction_id": f"bt{n:07d}-{offset:04d}-{index}",
                    "account_id": account_id, "signed_amount": amount,
                    "direction": "CREDIT" if amount > 0 else "DEBIT", "currency": "EUR",
                    "posted_at": dt.datetime.combine(day, dt.time(9 + index), tzinfo=dt.UTC),
                    "description": "", "category": "", "running_balance": balance, "ingested_at": now})
        customers.append({"tenant_id": tenant_id, "customer_id": customer_id, "attributes": {},
                          "created_at": now, "updated_at": now})
        account_rows.append({"tenant_id": tenant_id, "account_id": account_id, "customer_id": customer_id,
                             "authorized_customer_ids": [], "account_type": "CHECKING", "container": "BANK",
                             "currency": "EUR", "current_balance": balance, "available_balance": balance,
                             "attributes": {}, "created_at": now, "updated_at": now})
    await _insert(database, CustomerRow, customers)
    await _insert(database, AccountRow, account_rows)
    await _insert(database, TransactionRow, transactions)
    return len(transactions)


async def time_backtest(database: Database, tenant_id: str, *, start: dt.date, end: dt.date,
                        condition: str = CONDITION) -> dict[str, Any]:
    """Creates the rule (once), then times one BacktestTriggerRule of it over [start, end]."""
    admin = Caller(tenant_id=tenant_id, subject="bench-admin", role=Role.BANK_ADMIN)
    with contextlib.suppress(AlreadyExists):
        await TriggerRulesService(database).create_rule(admin, RULE_ID, RuleDefinition(
            display_name="Bench backtest", description="", audience=Audience.everyone(), condition=condition,
            actions=(BankNotificationAction("bench"),)))
    began = time.perf_counter()
    result = await TriggerBacktestService(database).backtest(admin, RULE_ID, start, end)
    seconds = time.perf_counter() - began
    return {"seconds": round(seconds, 3), "days": (end - start).days + 1, "firings": result["firingCount"],
            "customers_fired": result["customerCount"]}

