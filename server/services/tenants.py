"""Tenants: created by operators (engagectl on the server's host), checked on every call."""

from __future__ import annotations

from server.domain.errors import AlreadyExists, Unauthenticated
from server.domain.tenants import Tenant, check_new_tenant
from server.services.clock import Clock, utc_now
from server.store.db import Database
from server.store.uow import UnitOfWork


class TenantService:
    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self._database = database
        self._clock = clock
        # Tenants are few and never deleted here: a found id stays known for the process's life.
        self._known: set[str] = set()

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

    async def require_known(self, tenant_id: str) -> None:
        """A token for a tenant that does not exist is not a valid credential."""
        if tenant_id in self._known:
            return
        async with UnitOfWork(self._database) as uow:
            if await uow.tenants.get(tenant_id) is None:
                raise Unauthenticated("UNKNOWN_TENANT", "the token names a tenant that does not exist")
        self._known.add(tenant_id)
