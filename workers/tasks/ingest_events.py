"""arq task functions for ingestion events: translation to the service layer only."""

from __future__ import annotations

from typing import Any

from workers.retry import with_retries

MAX_TRIES = 8


async def process_ingest_event(ctx: dict[str, Any], event_id: int) -> int:
    # Processing is idempotent per event (and its consumers per frequency period): retrying is safe.
    return await with_retries(ctx, lambda: ctx["services"].ingest_events.process(event_id), MAX_TRIES)


async def relay_lost_ingest_events(ctx: dict[str, Any]) -> int:
    return len(await ctx["services"].ingest_events.resend_lost())
