from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from server.domain.ingest.model import Customer
from server.store.keyset import keyset_page
from server.store.models import CustomerRow
from server.store.repositories.base import TenantRepository


def customer_from_row(row: CustomerRow) -> Customer:
    return Customer(row.customer_id, dict(row.attributes or {}), row.created_at, row.updated_at)


class CustomersRepository(TenantRepository):
    async def upsert_many(self, customers: list[Customer], now: dt.datetime) -> None:
        stmt = self.upsert(CustomerRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "customer_id"],
            set_={"attributes": stmt.excluded.attributes, "updated_at": stmt.excluded.updated_at},
        )
        await self.session.execute(stmt, [
            {"tenant_id": self.tenant_id, "customer_id": c.customer_id, "attributes": c.attributes,
             "created_at": now, "updated_at": now} for c in customers])

    async def get(self, customer_id: str) -> Customer | None:
        row = await self.session.get(CustomerRow, (self.tenant_id, customer_id))
        return None if row is None else customer_from_row(row)

    async def get_many(self, customer_ids: set[str], *, for_update: bool = False) -> dict[str, Customer]:
        """`for_update`: held until the transaction ends (an upsert reads what it is about to change)."""
        if not customer_ids:
            return {}
        query = select(CustomerRow).where(CustomerRow.tenant_id == self.tenant_id,
                                          CustomerRow.customer_id.in_(sorted(customer_ids)))
        if for_update:
            query = query.order_by(CustomerRow.customer_id).with_for_update()  # in id order: no deadlock
        rows = await self.session.scalars(query)
        return {row.customer_id: customer_from_row(row) for row in rows}

    async def hold(self, customer_id: str) -> bool:
        """The customer held until the transaction ends (hold_row); False when there is none."""
        return await self.hold_row(CustomerRow.customer_id, customer_id)

    async def existing_ids(self, customer_ids: set[str]) -> set[str]:
        if not customer_ids:
            return set()
        found = await self.session.scalars(select(CustomerRow.customer_id).where(
            CustomerRow.tenant_id == self.tenant_id, CustomerRow.customer_id.in_(customer_ids)))
        return set(found)

    async def list_after(self, after: str | None, limit: int) -> list[Customer]:
        query = select(CustomerRow).where(CustomerRow.tenant_id == self.tenant_id)
        rows = await self.session.scalars(
            keyset_page(query, [CustomerRow.customer_id], None if after is None else (after,), limit))
        return [customer_from_row(row) for row in rows]

    async def ids_in_range(self, first: str, last: str) -> list[str]:
        found = await self.session.scalars(select(CustomerRow.customer_id).where(
            CustomerRow.tenant_id == self.tenant_id, CustomerRow.customer_id >= first,
            CustomerRow.customer_id <= last).order_by(CustomerRow.customer_id))
        return list(found)
