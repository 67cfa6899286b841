from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.tenants import Tenant
from server.store import (  # noqa: F401  (its tables are a tenant's rows too)
    engagement_models,
    goals_models,
    personas_models,
)
from server.store.driver import rowcount
from server.store.models import (
    Base,
    DomainEventHandlingRow,
    DomainEventRow,
    InsightBatchChunkRow,
    InsightBatchRow,
    TenantRow,
)


def _to_domain(row: TenantRow) -> Tenant:
    return Tenant(row.tenant_id, row.display_name, row.time_zone, row.created_at, row.disabled_at)


def disabled_tenant_ids() -> Select[Any]:
    """The ids of disabled tenants, for the sweeps that work across tenants to leave them out."""
    return select(TenantRow.tenant_id).where(TenantRow.disabled_at.is_not(None))


def _rows_of_tenant_through_others(table: Table, tenant_id: str) -> ColumnElement[bool] | None:
    """Which rows of a table without a tenant_id column belong to the tenant; None for a table this
    does not know (deleting a tenant then refuses rather than leave its rows behind)."""
    if table is InsightBatchChunkRow.__table__:
        return table.c.batch_id.in_(select(InsightBatchRow.batch_id).where(InsightBatchRow.tenant_id == tenant_id))
    if table is DomainEventHandlingRow.__table__:
        return table.c.event_id.in_(select(DomainEventRow.event_id).where(DomainEventRow.tenant_id == tenant_id))
    return None


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

    async def zone(self, tenant_id: str) -> zoneinfo.ZoneInfo:
        """The tenant's time zone; UTC for a tenant not (or no longer) here."""
        tenant = await self.get(tenant_id)
        return tenant.zone if tenant is not None else zoneinfo.ZoneInfo("UTC")

    async def list(self) -> list[Tenant]:
        rows = await self.session.scalars(select(TenantRow).order_by(TenantRow.tenant_id))
        return [_to_domain(row) for row in rows]

    async def set_disabled(self, tenant_id: str, at: dt.datetime | None) -> Tenant | None:
        """Disables the tenant as of `at` (the first time is kept when it is disabled already), or enables
        it (None). None when there is no such tenant."""
        row = await self.session.get(TenantRow, tenant_id, with_for_update=True)
        if row is None:
            return None
        if at is None or row.disabled_at is None:
            row.disabled_at = at
        return _to_domain(row)

    async def delete_disabled(self, tenant_id: str) -> dict[str, int] | None:
        """Deletes a disabled tenant and every row of it, table by table (children before parents), in
        the session's transaction. Returns the rows deleted by table; None when the tenant is not
        disabled (or not there): the tenant row is held first, so an enable at the same moment waits
        and then finds nothing to enable."""
        held = await self.session.execute(
            update(TenantRow).where(TenantRow.tenant_id == tenant_id, TenantRow.disabled_at.is_not(None))
            .values(disabled_at=TenantRow.disabled_at), execution_options={"synchronize_session": False})
        if not rowcount(held):
            return None
        scoped: list[tuple[Table, ColumnElement[bool]]] = []
        for table in reversed(Base.metadata.sorted_tables):  # a table's children come before it
            if table is TenantRow.__table__:
                continue
            if "tenant_id" in table.c:
                scoped.append((table, table.c.tenant_id == tenant_id))
                continue
            through = _rows_of_tenant_through_others(table, tenant_id)
            if through is None:
                raise RuntimeError(f"table {table.name} has no tenant_id and no rule for whose its rows are")
            scoped.insert(0, (table, through))  # before the rows it is found through go
        deleted = {}
        for table, condition in scoped:
            deleted[table.name] = rowcount(await self.session.execute(delete(table).where(condition)))
        await self.session.execute(delete(TenantRow).where(TenantRow.tenant_id == tenant_id))
        deleted[TenantRow.__tablename__] = 1
        return deleted
