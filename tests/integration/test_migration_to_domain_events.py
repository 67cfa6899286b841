"""Migration 0009 replaces ingest_events with domain_events: an event a worker had not processed yet is
carried over under its id (a job queued before the upgrade still finds it), as a TransactionsPosted with
the facts consumers read until then; processed ones are history and go."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal

from alembic import command
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from server.domain.events import TransactionsPosted
from server.store.event_payloads import decode
from server.store.migrate import alembic_config, upgrade
from server.store.models import DomainEventRow

POSTED = dt.datetime(2024, 5, 2, 12, 30, tzinfo=dt.UTC)


async def _execute(url: str, *statements: tuple[str, dict[str, object]]) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for sql, parameters in statements:
                await connection.execute(text(sql), parameters)
    finally:
        await engine.dispose()


async def test_pending_ingest_events_are_carried_over_as_transactions_posted(database_url: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0008")
    now = dt.datetime(2024, 5, 2, 13, tzinfo=dt.UTC)
    await _execute(
        database_url,
        ("INSERT INTO tenants (tenant_id, display_name, time_zone, created_at) VALUES ('bank', 'Bank', 'UTC', :now)",
         {"now": now}),
        ("INSERT INTO customers (tenant_id, customer_id, attributes, created_at, updated_at) "
         "VALUES ('bank', 'c1', '{}', :now, :now)", {"now": now}),
        ("INSERT INTO accounts (tenant_id, account_id, customer_id, authorized_customer_ids, account_type, container, "
         "currency, provider_name, account_name, current_balance, available_balance, attributes, created_at, "
         "updated_at) VALUES ('bank', 'a1', 'c1', '[]', 'CHECKING', 'BANK', 'CZK', '', '', 4200000, 4200000, '{}', "
         ":now, :now)", {"now": now}),
        *[("INSERT INTO transactions (tenant_id, transaction_id, account_id, signed_amount, direction, currency, "
           "posted_at, description, category, running_balance, ingested_at) VALUES ('bank', :id, 'a1', :amount, "
           ":direction, 'CZK', :posted, 'ATM', 'VYBER', :running, :now)",
           {"id": txn_id, "amount": amount, "direction": direction, "posted": POSTED, "running": running, "now": now})
          for txn_id, amount, direction, running in (("t1", -1000000, "DEBIT", 5000000),
                                                     ("t2", 2000000, "CREDIT", None))],
        ("INSERT INTO ingest_events (event_id, tenant_id, transaction_ids, created_at, attempts) "
         "VALUES (7, 'bank', '[\"t1\", \"t2\"]', :now, 1)", {"now": now}),
        ("INSERT INTO ingest_events (event_id, tenant_id, transaction_ids, created_at, processed_at, attempts) "
         "VALUES (3, 'bank', '[\"t0\"]', :now, :now, 0)", {"now": now}),
    )
    await asyncio.to_thread(upgrade, database_url)

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            [row] = (await connection.execute(select(DomainEventRow.__table__))).all()
    finally:
        await engine.dispose()
    assert (row.event_id, row.tenant_id, row.kind, row.processed_at) == (7, "bank", "TransactionsPosted", None)
    event = decode(row.kind, row.payload if isinstance(row.payload, dict) else json.loads(row.payload))
    assert isinstance(event, TransactionsPosted)
    first, second = event.postings
    assert (first.transaction_id, first.customer_id, first.amount.amount, first.balance_after.amount) == (
        "t1", "c1", Decimal("-100.0000"), Decimal("500.0000"))  # the bank's running balance
    assert (second.amount.amount, second.balance_after.amount) == (Decimal("200.0000"), Decimal("420.0000"))
    assert (first.posted_at, first.booking_date, first.amount.currency) == (POSTED, POSTED.date(), "CZK")

    # New events go on after the carried-over ids.
    await _execute(database_url, ("INSERT INTO domain_events (tenant_id, kind, payload, created_at, attempts) "
                                  "VALUES ('bank', 'HoldingsChanged', '{\"holdings\": []}', :now, 0)", {"now": now}))
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            ids = list((await connection.execute(select(DomainEventRow.event_id).order_by(DomainEventRow.event_id)))
                       .scalars())
    finally:
        await engine.dispose()
    assert ids == [7, 8]
