"""account_balance_months (server.store.repositories.balance_months) bounds every stored posting's balance values
(its running balance after it and the balance before it) in its account's month and marks the months
with a posting without a running balance: kept so by ingestion's batches, and filled so by migration 0035 from the
transactions stored before it."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import Counter
from typing import Any

from alembic import command
from google.protobuf import timestamp_pb2
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as pb
from server.store.migrate import alembic_config, upgrade
from server.store.models import AccountBalanceMonthRow, TransactionRow
from server.store.types import sqlite_datetime_text
from tests.support.builders import seed_accounts, stream

SCALE = 10_000  # whole ten-thousandths, as transactions stores money


async def _violations(database_url: str) -> tuple[int, list[str]]:
    """How many postings are stored, and each one its month's row does not cover (with why)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            t = TransactionRow.__table__.c
            postings = (await connection.execute(select(
                t.tenant_id, t.account_id, t.transaction_id, t.posted_at, t.signed_amount, t.running_balance))).all()
            months = {(row.tenant_id, row.account_id, row.month): row for row in (await connection.execute(
                select(AccountBalanceMonthRow.__table__))).all()}
    finally:
        await engine.dispose()
    found = []
    uncovered: Counter[tuple[str, str, dt.date]] = Counter()
    for tenant_id, account_id, transaction_id, posted_at, signed_amount, running_balance in postings:
        signed = int(signed_amount * SCALE)  # read as Decimals (ScaledAmount); the months keep the stored units
        running = None if running_balance is None else int(running_balance * SCALE)
        at = posted_at if posted_at.tzinfo is None else posted_at.astimezone(dt.UTC)
        key = (tenant_id, account_id, dt.date(at.year, at.month, 1))
        month = months.get(key)
        if month is None:
            found.append(f"{transaction_id}: no row for {key}")
        elif running is None:
            uncovered[key] += 1
        elif not month.low <= min(running, running - signed) <= max(running, running - signed) <= month.high:
            found.append(f"{transaction_id}: {running - signed}..{running} outside {month.low}..{month.high}")
    found += [f"{key}: {count} without a running balance, not marked" for key, count in uncovered.items()
              if months[key].uncovered != 1]
    return len(postings), found


def _posting(rng: random.Random, transaction_id: str, account_id: str, balance: int) -> tuple[pb.Transaction, int]:
    cents = rng.choice([-90_000, -20_000, -3_000, -500, 1_000, 9_000, 40_000, 150_000])
    posted = timestamp_pb2.Timestamp()
    # Days around month ends, in no order: a batch's postings of one account fall in several months.
    posted.FromDatetime(dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        days=rng.randrange(0, 200), hours=rng.randrange(0, 24), microseconds=rng.randrange(0, 10**6)))
    balance += cents
    fields: dict[str, Any] = {}
    running = rng.choice(["stored", "stored", "stored", "none", "off"])
    if running != "none":
        fields["running_balance"] = money(str((balance + (700 if running == "off" else 0)) / 100), "EUR")
    return pb.Transaction(transaction_id=transaction_id, account_id=account_id,
                          amount=money(str(abs(cents) / 100), "EUR"),
                          direction=pb.Direction.Value("DIRECTION_CREDIT" if cents > 0 else "DIRECTION_DEBIT"),
                          post_time=posted, **fields), balance


async def test_ingested_postings_stay_within_their_months_bounds(service_stubs: Any, settings: Any) -> None:
    rng = random.Random(35)
    accounts = ["a1", "a2", "a3"]
    await seed_accounts(service_stubs, "c1", *accounts)
    balances = dict.fromkeys(accounts, 0)
    batches = []
    for b in range(6):
        batch = []
        for n in range(60):
            account_id = rng.choice(accounts)
            posting, balances[account_id] = _posting(rng, f"t{b}-{n}", account_id, balances[account_id])
            batch.append(posting)
        # A row of an unknown account is refused; the others of its batch are stored.
        batch.append(_posting(rng, f"t{b}-x", "nobody", 0)[0])
        batches.append(batch)
    # Two streams, the second sending some rows again (duplicates) among new ones.
    await service_stubs.ingest.IngestTransactions(stream(*batches[:4]))
    await service_stubs.ingest.IngestTransactions(stream(batches[1][:20] + batches[4], batches[5]))
    stored, violations = await _violations(settings.database_url)
    assert stored == 6 * 60
    assert violations == []


async def test_migration_0035_fills_the_months_of_the_transactions_stored(database_url: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0034")
    now = dt.datetime(2024, 5, 2, 13, tzinfo=dt.UTC)
    rows = [("t1", "a1", -100, 500, dt.datetime(2024, 4, 30, 23, 59, tzinfo=dt.UTC)),
            ("t2", "a1", 300, 800, dt.datetime(2024, 4, 3, tzinfo=dt.UTC)),
            ("t3", "a1", 50, None, dt.datetime(2024, 5, 1, tzinfo=dt.UTC)),
            ("t4", "a1", -20, 780, dt.datetime(2024, 5, 2, tzinfo=dt.UTC)),
            ("t5", "a2", -5, -5, dt.datetime(2024, 5, 31, 12, tzinfo=dt.UTC))]
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            for transaction_id, account_id, amount, running, posted in rows:
                await connection.execute(text(
                    "INSERT INTO transactions (tenant_id, transaction_id, account_id, signed_amount, direction, "
                    "currency, posted_at, description, category, running_balance, ingested_at) VALUES ('bank', :id, "
                    ":account, :amount, 'DEBIT', 'EUR', :posted, '', '', :running, :now)"),
                    {"id": transaction_id, "account": account_id, "amount": amount * SCALE, "now": now,
                     "running": None if running is None else running * SCALE,
                     "posted": posted if database_url.startswith("postgresql") else sqlite_datetime_text(posted)})
    finally:
        await engine.dispose()
    await asyncio.to_thread(upgrade, database_url)

    assert await _violations(database_url) == (5, [])
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            months = sorted(tuple(row) for row in (await connection.execute(select(
                AccountBalanceMonthRow.account_id, AccountBalanceMonthRow.month, AccountBalanceMonthRow.low,
                AccountBalanceMonthRow.high, AccountBalanceMonthRow.uncovered))).all())
    finally:
        await engine.dispose()
    # April: 500 (before 600), 800 (before 500); May: 780 (before 800), and t3 without a running balance counted
    # as 0: a month with one says nothing; a2: -5 (before 0).
    assert [(account, month, low // SCALE, high // SCALE, uncovered)
            for account, month, low, high, uncovered in months] == [
        ("a1", dt.date(2024, 4, 1), 500, 800, 0), ("a1", dt.date(2024, 5, 1), 0, 800, 1),
        ("a2", dt.date(2024, 5, 1), -5, 0, 0)]
