"""Tenants: created, disabled, enabled and deleted by operators (engagectl on the server's host), checked
on every call and before a worker sends or runs scheduled work for one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from server.domain.errors import AlreadyExists, FailedPrecondition, PermissionDenied, Unauthenticated, not_found
from server.domain.tenants import Tenant, check_new_tenant
from server.services.clock import Clock, utc_now
from server.store.db import Database
from server.store.uow import UnitOfWork

DEFAULT_CACHE_LIFETIME = dt.timedelta(seconds=30)
# Tenant states a process remembers at most, oldest out: a deployment serves a few banks, so the bound
# only matters to a process that sees tokens of very many tenants.
TENANT_STATES_KEPT = 1_000


@dataclass(frozen=True)
class _Remembered:
    disabled: bool
    read_at: dt.datetime


class TenantService:
    def __init__(self, database: Database, clock: Clock = utc_now,
                 cache_lifetime: dt.timedelta = DEFAULT_CACHE_LIFETIME) -> None:
        """`cache_lifetime`: how long what was read of a tenant (enabled or disabled) is taken as true
        without reading it again (ENGAGE_TENANT_CACHE_SECONDS); zero reads it on every check. A tenant
        that does not exist is not remembered: one created is known at once."""
        self._database = database
        self._clock = clock
        self._lifetime = cache_lifetime
        self._states: dict[str, _Remembered] = {}

    @property
    def cache_lifetime(self) -> dt.timedelta:
        return self._lifetime

    async def create(self, tenant_id: str, display_name: str | None = None, time_zone: str = "UTC") -> Tenant:
        display_name = display_name or tenant_id
        check_new_tenant(tenant_id, display_name, time_zone)
        async with UnitOfWork(self._database) as uow:
            if await uow.tenants.get(tenant_id) is not None:
                raise AlreadyExists("TENANT_EXISTS", f"tenant '{tenant_id}' exists already")
            tenant = Tenant(tenant_id, display_name, time_zone, self._clock())
            await uow.tenants.add(tenant)
            await uow.commit()
        return tenant

    async def list(self) -> list[Tenant]:
        async with UnitOfWork(self._database) as uow:
            return await uow.tenants.list()

    async def disable(self, tenant_id: str) -> Tenant:
        """Its tokens are refused and its deliveries, campaigns and insight batches wait, everywhere within
        the cache lifetime; its data is kept. Disabling a disabled tenant keeps the first time."""
        return await self._set_disabled(tenant_id, self._clock())

    async def enable(self, tenant_id: str) -> Tenant:
        """Undoes disable: what waited goes on (the sweeps find it again)."""
        return await self._set_disabled(tenant_id, None)

    async def _set_disabled(self, tenant_id: str, at: dt.datetime | None) -> Tenant:
        async with UnitOfWork(self._database) as uow:
            tenant = await uow.tenants.set_disabled(tenant_id, at)
            if tenant is None:
                raise not_found("tenant", tenant_id)
            await uow.commit()
        self._states.pop(tenant_id, None)
        return tenant

    async def delete(self, tenant_id: str) -> dict[str, int]:
        """Deletes a disabled tenant with every row of it, in one transaction; returns the rows deleted by
        table. Only once it has been disabled for the cache lifetime: until then a process may still take
        it as enabled and write rows that would be left behind."""
        async with UnitOfWork(self._database) as uow:
            tenant = await uow.tenants.get(tenant_id)
            if tenant is None:
                raise not_found("tenant", tenant_id)
            if tenant.disabled_at is None:
                raise FailedPrecondition("TENANT_NOT_DISABLED",
                                         f"tenant '{tenant_id}' is enabled: disable it first (engagectl tenants "
                                         "disable), then delete it")
            waited = self._clock() - tenant.disabled_at
            if waited < self._lifetime:
                left = (self._lifetime - waited).total_seconds()
                raise FailedPrecondition("TENANT_DISABLED_RECENTLY",
                                         f"tenant '{tenant_id}' was disabled {waited.total_seconds():.0f} s ago; "
                                         f"servers and workers may take it as enabled for {left:.0f} s more "
                                         "(ENGAGE_TENANT_CACHE_SECONDS): try again then")
            deleted = await uow.tenants.delete_disabled(tenant_id)
            if deleted is None:  # enabled again since it was read
                raise FailedPrecondition("TENANT_NOT_DISABLED", f"tenant '{tenant_id}' was enabled again")
            await uow.commit()
        self._states.pop(tenant_id, None)
        return deleted

    async def require_known(self, tenant_id: str) -> None:
        """A token for a tenant that does not exist is not a valid credential (UNAUTHENTICATED). A token
        for a disabled tenant is valid, but the operator has suspended the tenant: PERMISSION_DENIED,
        since a new token would not help."""
        disabled = await self._disabled(tenant_id)
        if disabled is None:
            raise Unauthenticated("UNKNOWN_TENANT", "the token names a tenant that does not exist")
        if disabled:
            raise PermissionDenied("TENANT_DISABLED", "the token's tenant is disabled by the operator",
                                   metadata={"tenant": tenant_id})

    async def is_active(self, tenant_id: str) -> bool:
        """Whether work for the tenant may go on (workers ask before sending): it exists and is enabled."""
        return await self._disabled(tenant_id) is False

    async def _disabled(self, tenant_id: str) -> bool | None:
        """Whether the tenant is disabled, None when there is no such tenant: as read at most the cache
        lifetime ago."""
        now = self._clock()
        remembered = self._states.get(tenant_id)
        # A clock set back does not stretch the lifetime: a reading from the "future" is read again.
        if remembered is not None and dt.timedelta(0) <= now - remembered.read_at < self._lifetime:
            return remembered.disabled
        async with UnitOfWork(self._database) as uow:
            tenant = await uow.tenants.get(tenant_id)
        self._states.pop(tenant_id, None)
        if tenant is None:
            return None
        if self._lifetime > dt.timedelta(0):
            if len(self._states) >= TENANT_STATES_KEPT:
                del self._states[next(iter(self._states))]
            self._states[tenant_id] = _Remembered(tenant.disabled, now)
        return tenant.disabled
