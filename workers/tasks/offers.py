"""arq task functions for recommended offers: translation to the service layer only."""

from __future__ import annotations

from workers.context import WorkerContext


async def recommend_offers(ctx: WorkerContext, tenant_id: str | None = None) -> int:
    """Daily: every enabled tenant's recommendations (one tenant's with `tenant_id`). Safe to run twice: a
    customer's open suggestion is kept once. Returns the suggestions made."""
    offers = ctx["services"].offers
    if tenant_id is not None:
        return sum(c.suggested for c in await offers.run_tenant(tenant_id))
    return await offers.run_all()
