"""arq task functions for the built-in derived attributes: translation to the service layer only."""

from __future__ import annotations

import datetime as dt

from server.services.derived_attributes import DerivedAttributesService
from workers.context import WorkerContext


async def refresh_derived_attributes(ctx: WorkerContext, as_of: str | None = None, tenant_id: str | None = None
                                     ) -> int:
    """Time alone moves ages and windows. Hourly: the customers of the tenants whose day just began (in
    their time zone). Enqueued by a test or an operator with `as_of` (an ISO date): every tenant's
    customers as of that day, or one tenant's with `tenant_id`. Safe to run twice: it writes and
    announces only what changed."""
    services = ctx["services"]
    derived = DerivedAttributesService(services.database, services.publisher)
    day = None if as_of is None else dt.date.fromisoformat(as_of)
    if tenant_id is not None:
        return await derived.refresh_tenant(tenant_id, day)
    if day is None:
        return await derived.refresh_new_days()
    return await derived.refresh_all(day)
