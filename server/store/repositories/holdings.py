from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from server.domain.ingest.model import Holding, HoldingKind
from server.store.keyset import keyset_page
from server.store.models import HoldingRow
from server.store.repositories.base import TenantRepository

_UPDATED = ("kind", "customer_id", "account_id", "amount", "currency", "start_date", "attributes", "updated_at")


class HoldingsRepository(TenantRepository):
    async def upsert_many(self, holdings: list[Holding], now: dt.datetime) -> None:
        stmt = self.upsert(HoldingRow)
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "holding_id"],
                                          set_={name: stmt.excluded[name] for name in _UPDATED})
        await self.session.execute(stmt, [
            {"tenant_id": self.tenant_id, "holding_id": h.holding_id, "kind": h.kind.value,
             "customer_id": h.customer_id, "account_id": h.account_id, "amount": h.amount,
             "currency": h.currency, "start_date": h.start_date, "attributes": h.attributes,
             "updated_at": now} for h in holdings])

    async def get_many(self, holding_ids: set[str]) -> dict[str, Holding]:
        """The stored holdings among these ids, by id."""
        if not holding_ids:
            return {}
        rows = await self.session.scalars(select(HoldingRow).where(
            HoldingRow.tenant_id == self.tenant_id, self.one_of(HoldingRow.holding_id, holding_ids)))
        return {r.holding_id: _to_domain(r) for r in rows}

    async def list_after(self, after: str | None, limit: int, customer_id: str | None = None) -> list[Holding]:
        query = select(HoldingRow).where(HoldingRow.tenant_id == self.tenant_id)
        if customer_id is not None:
            query = query.where(HoldingRow.customer_id == customer_id)
        rows = await self.session.scalars(
            keyset_page(query, [HoldingRow.holding_id], None if after is None else (after,), limit))
        return [_to_domain(r) for r in rows]


def _to_domain(row: HoldingRow) -> Holding:
    return Holding(row.holding_id, HoldingKind(row.kind), row.customer_id, row.account_id, row.amount, row.currency,
                   row.start_date, dict(row.attributes or {}))
