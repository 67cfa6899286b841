"""Migration 0026 dates the milestones goals had reached before it (goal_milestones), by their goal's last
update, and gives channel configurations an empty cost; its downgrade takes both away again."""

from __future__ import annotations

import asyncio
import datetime as dt

from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from server.store.engagement_models import ChannelConfigRow
from server.store.goals_models import GoalMilestoneRow
from server.store.migrate import alembic_config, upgrade

UPDATED = dt.datetime(2025, 3, 4, 10, 30, tzinfo=dt.UTC)


async def _execute(url: str, sql: str, parameters: dict[str, object]) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql), parameters)
    finally:
        await engine.dispose()


async def _columns(url: str) -> dict[str, set[str]]:
    """The channel configurations' and the goal milestones' columns (a table that is not there: none)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: {
                table: {column["name"] for column in inspect(sync).get_columns(table)}
                if inspect(sync).has_table(table) else set() for table in ("channel_configs", "goal_milestones")})
    finally:
        await engine.dispose()


async def test_reached_milestones_are_dated_by_their_goals_last_update(database_url: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0025")
    await _execute(database_url,
                   "INSERT INTO channel_configs (tenant_id, config_id, display_name, channel, provider, settings, "
                   "sealed_secrets, secret_keys, rate_limit_per_second, created_at, updated_at) VALUES ('bank', 'k1', "
                   "'Mail', 'EMAIL', 'smtp', '{}', :sealed, '[]', 0, :at, :at)", {"sealed": b"sealed", "at": UPDATED})
    for goal_id, milestones in (("g1", '["percent:25", "percent:50"]'), ("g2", "[]")):
        await _execute(database_url,
                       "INSERT INTO goals (tenant_id, goal_id, customer_id, account_id, name, category, target, "
                       "currency, priority, status, saved, milestones, created_at, updated_at) VALUES ('bank', :goal, "
                       "'c1', 'a1', 'Car', 'CAR', 10000000, 'EUR', 1, 'ACTIVE', 5000000, :milestones, :at, :at)",
                       {"goal": goal_id, "milestones": milestones, "at": UPDATED})
    await asyncio.to_thread(upgrade, database_url)

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(
                select(GoalMilestoneRow.goal_id, GoalMilestoneRow.milestone, GoalMilestoneRow.reached_at)
                .where(GoalMilestoneRow.tenant_id == "bank").order_by(GoalMilestoneRow.milestone))).all()
            costs = (await connection.execute(select(
                ChannelConfigRow.config_id, ChannelConfigRow.cost_per_message, ChannelConfigRow.cost_currency)
                .where(ChannelConfigRow.tenant_id == "bank"))).all()
    finally:
        await engine.dispose()
    assert [(goal, key, at.astimezone(dt.UTC)) for goal, key, at in rows] == [
        ("g1", "percent:25", UPDATED), ("g1", "percent:50", UPDATED)]
    assert costs == [("k1", None, None)]  # the configuration kept, its cost empty

    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0025")
    after_downgrade = await _columns(database_url)
    assert after_downgrade["goal_milestones"] == set()
    assert not {"cost_per_message", "cost_currency"} & after_downgrade["channel_configs"]
    assert "rate_limit_per_second" in after_downgrade["channel_configs"]
    await asyncio.to_thread(upgrade, database_url)
    upgraded = await _columns(database_url)
    assert {"cost_per_message", "cost_currency"} <= upgraded["channel_configs"]
    assert upgraded["goal_milestones"] == {"tenant_id", "goal_id", "milestone", "reached_at"}
