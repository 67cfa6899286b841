"""What the history views' services share: who may read them, and their dates as instants."""

from __future__ import annotations

from server.domain.auth import Caller, Role
from server.domain.goals.reports import Period, local_days
from server.domain.reporting.ordering import Dates
from server.store.uow import UnitOfWork


def authorize(caller: Caller) -> None:
    """Tenant-wide reads for the bank: a `user` token is PERMISSION_DENIED, whoever it names."""
    caller.require_role(Role.BANK_ADMIN, Role.SERVICE)


async def period_of(uow: UnitOfWork, dates: Dates) -> Period:
    """The dates asked for as instants: whole days in the tenant's time zone."""
    if dates == (None, None):
        return Period()
    return local_days(*dates, await uow.tenants.zone(uow.tenant_id))
