"""arq task functions for the built-in derived attributes: translation to the service layer only."""

from __future__ import annotations

import datetime as dt

from server.services.derived_attributes import DerivedAttributesService
from workers.context import WorkerContext


async def refresh_derived_attributes(ctx: WorkerContext, as_of: str | None = None, tenant_id: str | None = None
                                     ) -> int:
    """Time alone moves ages and windows. Hourly: the tenants whose day just began (in their time zone).
    Enqueued by a test or an operator with `as_of` (an ISO date): every tenant as of that day, or one
    tenant with `tenant_id`. It only requests each tenant's refresh; the bus refreshes a chunk of
    customers per job. Safe to run twice: a refresh writes and announces only what changed. Returns how
    many tenants it requested."""
    services = ctx["services"]
    derived = DerivedAttributesService(services.database, services.publisher)
    day = None if as_of is None else dt.date.fromisoformat(as_of)
    if tenant_id is not None:
        await derived.request_refresh(tenant_id, day)
        return 1
    if day is None:
        return await derived.refresh_new_days()
    return await derived.request_all(day)
