"""Migration 0027 indexes a campaign's steps, (tenant_id, campaign_id, occurred_at, step_id), for the event
history's campaign filter; its downgrade drops the index and keeps the steps."""

from __future__ import annotations

import asyncio
import datetime as dt

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from server.store.migrate import alembic_config, upgrade

INDEX = "ix_campaign_steps_tenant_campaign"


async def _indexes_and_steps(url: str) -> tuple[dict[str, list[str | None]], int]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            indexes = await connection.run_sync(lambda sync: {
                index["name"]: index["column_names"] for index in inspect(sync).get_indexes("campaign_steps")})
            steps = (await connection.execute(text("SELECT count(*) FROM campaign_steps"))).scalar_one()
    finally:
        await engine.dispose()
    return indexes, steps


async def test_a_campaigns_steps_are_indexed_in_the_event_historys_order(database_url: str) -> None:
    indexes, _ = await _indexes_and_steps(database_url)
    assert indexes[INDEX] == ["tenant_id", "campaign_id", "occurred_at", "step_id"]

    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO campaign_steps (tenant_id, step_id, campaign_id, state, previous_state, actor, reason, "
                "occurred_at) VALUES ('bank', 's1', 'k1', 'SCHEDULED', '', 'lisa', '', :at)"),
                {"at": dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)})
    finally:
        await engine.dispose()
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0026")
    indexes, steps = await _indexes_and_steps(database_url)
    assert INDEX not in indexes and "ix_campaign_steps_tenant_occurred" in indexes
    assert steps == 1

    await asyncio.to_thread(upgrade, database_url)
    indexes, steps = await _indexes_and_steps(database_url)
    assert (indexes[INDEX], steps) == (["tenant_id", "campaign_id", "occurred_at", "step_id"], 1)
