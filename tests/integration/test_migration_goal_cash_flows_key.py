"""Migration 0031 keys goal_cash_flows by (tenant, goal, posted_at, transaction) and drops the index that
key makes redundant: the entries stored before it stay, one per goal and transaction; its downgrade
restores the old key and index."""

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

POSTED = dt.datetime(2025, 3, 4, 10, 30, tzinfo=dt.UTC)
INSERT = ("INSERT INTO goal_cash_flows (tenant_id, goal_id, transaction_id, customer_id, account_id, amount, "
          "currency, posted_at, recorded_at) VALUES ('bank', :goal, :tx, 'c1', 'a1', 100, 'EUR', :at, :at)")


async def _key_and_indexes(url: str) -> tuple[list[str], set[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: (
                inspect(sync).get_pk_constraint("goal_cash_flows")["constrained_columns"],
                {index["name"] for index in inspect(sync).get_indexes("goal_cash_flows")}))
    finally:
        await engine.dispose()


async def test_entries_stay_and_a_goal_keeps_one_entry_per_transaction(database_url: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0030")
    assert await _key_and_indexes(database_url) == (
        ["tenant_id", "goal_id", "transaction_id"], {"ix_goal_cash_flows_goal_time"})
    for goal, tx in (("g1", "t1"), ("g1", "t2"), ("g2", "t1")):
        await execute_sql(database_url, INSERT, {"goal": goal, "tx": tx, "at": POSTED})

    await asyncio.to_thread(upgrade, database_url)
    assert await _key_and_indexes(database_url) == (
        ["tenant_id", "goal_id", "posted_at", "transaction_id"], set())
    assert sorted(await execute_sql(database_url, "SELECT goal_id, transaction_id FROM goal_cash_flows")) == [
        ("g1", "t1"), ("g1", "t2"), ("g2", "t1")]
    with pytest.raises(IntegrityError):  # the same posting's entry again
        await execute_sql(database_url, INSERT, {"goal": "g1", "tx": "t1", "at": POSTED})

    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0030")
    assert await _key_and_indexes(database_url) == (
        ["tenant_id", "goal_id", "transaction_id"], {"ix_goal_cash_flows_goal_time"})
    assert len(await execute_sql(database_url, "SELECT goal_id FROM goal_cash_flows")) == 3
    await asyncio.to_thread(upgrade, database_url)
