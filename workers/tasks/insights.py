"""arq task functions for insights: translation to the service layer only."""

from __future__ import annotations

from workers.context import WorkerContext
from workers.retry import with_retries

MAX_TRIES = 8


async def evaluate_insight_chunk(ctx: WorkerContext, tenant_id: str, batch_id: str, chunk_number: int) -> int:
    # A chunk commits all or nothing and skips itself once done: retrying it is always safe.
    return await with_retries(
        ctx, lambda: ctx["services"].insights.evaluate_chunk(tenant_id, batch_id, chunk_number), MAX_TRIES)


async def start_due_insight_batches(ctx: WorkerContext) -> int:
    return len(await ctx["services"].insights.start_due_batches())


async def resend_lost_insight_chunks(ctx: WorkerContext) -> int:
    return await ctx["services"].insights.resend_lost_chunks()
