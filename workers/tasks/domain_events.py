"""arq task functions for the message bus: translation to the service layer only."""

from __future__ import annotations

from workers.context import WorkerContext
from workers.retry import with_retries

MAX_TRIES = 8


async def process_domain_event(ctx: WorkerContext, event_id: int) -> int:
    # The bus runs each handler once per event and skips those that finished: retrying is safe.
    return await with_retries(ctx, lambda: ctx["services"].bus.process(event_id), MAX_TRIES)


async def process_ingest_event(ctx: WorkerContext, event_id: int) -> int:
    """Jobs queued before the upgrade to the bus (migration 0009 kept their event ids)."""
    return await process_domain_event(ctx, event_id)


async def relay_lost_domain_events(ctx: WorkerContext) -> int:
    return len(await ctx["services"].bus.resend_lost())
