"""arq task functions for the bank notifications' webhook: translation to the service layer only."""

from __future__ import annotations

from workers.context import WorkerContext
from workers.retry import with_retries

MAX_TRIES = 8


async def deliver_webhook(ctx: WorkerContext, tenant_id: str, delivery_id: str) -> str:
    # The service records failed POSTs itself (with its own backoff); what reaches with_retries is a passing
    # fault such as a database restart, and the lease makes a re-run safe.
    return await with_retries(ctx, lambda: ctx["webhooks"].deliver(tenant_id, delivery_id), MAX_TRIES)


async def relay_lost_webhook_deliveries(ctx: WorkerContext) -> int:
    return await ctx["webhooks"].relay_lost()
