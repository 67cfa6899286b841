"""arq task functions for funding programmes: translation to the service layer only."""

from __future__ import annotations

import datetime as dt

from workers.context import WorkerContext


async def plan_goal_transfers(ctx: WorkerContext, as_of: str | None = None) -> int:
    """Requests the transfers of scheduled programmes due up to today (each tenant's, or `as_of`, an ISO
    date, when a test or an operator enqueues it). Idempotent per programme and period: safe to run twice."""
    return await ctx["services"].goal_funding.plan_scheduled_transfers(
        None if as_of is None else dt.date.fromisoformat(as_of))


async def relay_goal_transfers(ctx: WorkerContext) -> int:
    return await ctx["services"].goal_funding.relay_unpublished()
