"""arq task functions for payment reminders: translation to the service layer only."""

from __future__ import annotations

import datetime as dt

from workers.context import WorkerContext


async def send_payment_reminders(ctx: WorkerContext, now: str | None = None) -> int:
    """Hourly: every enabled tenant's due and overdue payment reminders, as of the tenant's own day (its
    time zone) at this moment, or at `now` (an ISO 8601 instant with its offset, as a test or an operator
    enqueues it). Safe to run twice: each reminder's trigger key is taken once. Returns the reminders due."""
    at = None if now is None else dt.datetime.fromisoformat(now)
    return await ctx["services"].payment_alerts.send_reminders(at)
