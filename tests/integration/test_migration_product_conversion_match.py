"""Migration 0028 gives products an empty conversion match (three NULL columns: only holdings convert their
offers, as before); its downgrade drops the match and keeps the products."""

from __future__ import annotations

import asyncio
import datetime as dt

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from server.store.migrate import alembic_config, upgrade
from tests.support.sql import execute_sql

MATCH = ["conversion_category", "conversion_description", "conversion_direction"]


async def _columns(url: str) -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: [column["name"] for column in inspect(sync).get_columns("products")])
    finally:
        await engine.dispose()


async def test_products_gain_an_empty_match_and_keep_themselves_without_it(database_url: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0027")
    assert not set(MATCH) & set(await _columns(database_url))
    await execute_sql(database_url,
                      "INSERT INTO products (tenant_id, product_id, display_name, description, latest_version, "
                      "created_at, updated_at) VALUES ('bank', 'gold-card', 'Gold card', '', 0, :at, :at)",
                      {"at": dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)})
    await asyncio.to_thread(upgrade, database_url)
    assert await execute_sql(database_url, f"SELECT product_id, {', '.join(MATCH)} FROM products") == [
        ("gold-card", None, None, None)]

    await execute_sql(database_url, "UPDATE products SET conversion_category = 'CARD_FEE'")
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0027")
    assert not set(MATCH) & set(await _columns(database_url))
    products = await execute_sql(database_url, "SELECT product_id, display_name FROM products")
    assert products == [("gold-card", "Gold card")]
    await asyncio.to_thread(upgrade, database_url)
