"""arq task functions for engagement: translation to the service layer only."""

from __future__ import annotations

from workers.context import WorkerContext
from workers.retry import with_retries

MAX_TRIES = 8


async def dispatch_delivery(ctx: WorkerContext, tenant_id: str, delivery_id: str) -> str:
    # Sending problems are recorded by the service (with its own backoff); what reaches with_retries is a
    # passing fault such as a database restart, and the claim makes a re-run safe.
    return await with_retries(ctx, lambda: ctx["dispatch"].dispatch(tenant_id, delivery_id), MAX_TRIES)


async def dispatch_due(ctx: WorkerContext, tenant_id: str) -> int:
    return await with_retries(ctx, lambda: ctx["dispatch"].dispatch_due(tenant_id), MAX_TRIES)


async def relay_lost_deliveries(ctx: WorkerContext) -> int:
    return await ctx["services"].engagement.relay_lost()


async def apply_early_receipts(ctx: WorkerContext) -> int:
    return await ctx["services"].engagement.apply_early_receipts()


async def sweep_fallbacks(ctx: WorkerContext) -> int:
    return await ctx["services"].engagement.sweep_fallbacks()


async def run_campaign(ctx: WorkerContext, tenant_id: str, campaign_id: str) -> int:
    return await with_retries(ctx, lambda: ctx["services"].campaigns.run(tenant_id, campaign_id), MAX_TRIES)


async def start_due_campaigns(ctx: WorkerContext) -> int:
    return await ctx["services"].campaigns.start_due()
