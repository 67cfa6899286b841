"""arq task functions for real-time trigger rules: translation to the service layer only."""

from __future__ import annotations

import datetime as dt

from workers.context import WorkerContext


async def recheck_trigger_rules(ctx: WorkerContext, as_of: str | None = None, tenant_id: str | None = None) -> int:
    """Daily: calendar-dependent rules re-checked for every deposit account (a month can end without a
    posting), as of today (UTC) or `as_of` (an ISO date), every tenant's or one's. Safe to run twice: a
    rule fires at most once per account and day without a posting. Returns the firings made."""
    triggers = ctx["services"].trigger_evaluation
    day = None if as_of is None else dt.date.fromisoformat(as_of)
    if tenant_id is not None:
        return await triggers.recheck(tenant_id, day or dt.datetime.now(dt.UTC).date())
    return await triggers.recheck_all(day)
