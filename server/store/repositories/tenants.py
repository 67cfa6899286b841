from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.tenants import Tenant
from server.store.models import TenantRow


def _to_domain(row: TenantRow) -> Tenant:
    return Tenant(row.tenant_id, row.display_name, row.time_zone, row.created_at)


class TenantsRepository:
    """Tenants themselves are the one table above any tenant: only operators reach it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, tenant: Tenant) -> None:
        self.session.add(TenantRow(tenant_id=tenant.tenant_id, display_name=tenant.display_name,
                                   time_zone=tenant.time_zone, created_at=tenant.created_at))

    async def get(self, tenant_id: str) -> Tenant | None:
        row = await self.session.get(TenantRow, tenant_id)
        return None if row is None else _to_domain(row)

    async def list(self) -> list[Tenant]:
        rows = await self.session.scalars(select(TenantRow).order_by(TenantRow.tenant_id))
        return [_to_domain(row) for row in rows]
