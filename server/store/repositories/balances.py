from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from server.domain.ingest.model import DailyBalance
from server.store.keyset import keyset_page
from server.store.models import DailyBalanceRow
from server.store.repositories.base import TenantRepository


class DailyBalancesRepository(TenantRepository):
    async def upsert_many(self, balances: list[DailyBalance]) -> None:
        if not balances:
            return
        stmt = self.upsert(DailyBalanceRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "account_id", "balance_date"],
            set_={"balance": stmt.excluded.balance, "currency": stmt.excluded.currency})
        await self.session.execute(stmt, [
            {"tenant_id": self.tenant_id, "account_id": b.account_id, "balance_date": b.date,
             "balance": b.balance, "currency": b.currency} for b in balances])

    async def list_oldest_first(self, account_id: str, *, since: dt.date | None, until: dt.date | None,
                                after: dt.date | None, limit: int) -> list[DailyBalance]:
        query = select(DailyBalanceRow).where(DailyBalanceRow.tenant_id == self.tenant_id,
                                              DailyBalanceRow.account_id == account_id)
        if since is not None:
            query = query.where(DailyBalanceRow.balance_date >= since)
        if until is not None:
            query = query.where(DailyBalanceRow.balance_date <= until)
        rows = await self.session.scalars(
            keyset_page(query, [DailyBalanceRow.balance_date], None if after is None else (after,), limit))
        return [DailyBalance(r.account_id, r.balance_date, r.balance, r.currency) for r in rows]
