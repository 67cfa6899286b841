"""Migration 0033 orders feed_items' unique period key (tenant, insight, period, customer): the items stored
before it stay, the key still refuses a second item for one customer, insight and period, the other
indexes stay; its downgrade restores the former order."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from server.store.migrate import alembic_config, upgrade
from tests.support.sql import execute_sql

AT = dt.datetime(2025, 3, 4, 10, 30, tzinfo=dt.UTC)
INSERT = ("INSERT INTO feed_items (tenant_id, feed_item_id, customer_id, insight_name, period, created_at, "
          "expires_at, payload) VALUES ('bank', :id, :customer, 'LOW_BALANCE_WARNING', :period, :at, :at, '{}')")
INDEXES = {"ix_feed_items_tenant_customer_created", "ix_feed_items_tenant_created"}


async def _period_key_and_indexes(url: str) -> tuple[list[list[str]], set[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: (
                [key["column_names"] for key in inspect(sync).get_unique_constraints("feed_items")
                 if key["name"] == "uq_feed_items_period"],
                {index["name"] for index in inspect(sync).get_indexes("feed_items")} - {"uq_feed_items_period"}))
    finally:
        await engine.dispose()


async def test_items_stay_and_a_period_keeps_one_item(database_url: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0032")
    assert await _period_key_and_indexes(database_url) == (
        [["tenant_id", "customer_id", "insight_name", "period"]], INDEXES)
    for item, customer, period in (("i1", "c1", "2025-03-04:a1"), ("i2", "c1", "2025-03-05:a1"),
                                   ("i3", "c2", "2025-03-04:a2")):
        await execute_sql(database_url, INSERT, {"id": item, "customer": customer, "period": period, "at": AT})

    await asyncio.to_thread(upgrade, database_url)
    assert await _period_key_and_indexes(database_url) == (
        [["tenant_id", "insight_name", "period", "customer_id"]], INDEXES)
    assert sorted(await execute_sql(database_url, "SELECT feed_item_id, customer_id, period FROM feed_items")) == [
        ("i1", "c1", "2025-03-04:a1"), ("i2", "c1", "2025-03-05:a1"), ("i3", "c2", "2025-03-04:a2")]
    with pytest.raises(IntegrityError):  # the same customer's warning of the same day and account again
        await execute_sql(database_url, INSERT, {"id": "i4", "customer": "c1", "period": "2025-03-04:a1", "at": AT})

    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0032")
    assert await _period_key_and_indexes(database_url) == (
        [["tenant_id", "customer_id", "insight_name", "period"]], INDEXES)
    assert len(await execute_sql(database_url, "SELECT feed_item_id FROM feed_items")) == 3
    await asyncio.to_thread(upgrade, database_url)
