from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select

from server.domain.ingest.model import Direction, IncomingTransaction, Transaction
from server.store.keyset import keyset_page
from server.store.models import TransactionRow
from server.store.repositories.base import TenantRepository
from server.store.repositories.transaction_bulk import insert_new


def _to_domain(row: TransactionRow) -> Transaction:
    return Transaction(
        transaction_id=row.transaction_id, account_id=row.account_id, amount=abs(row.signed_amount),
        currency=row.currency, direction=Direction(row.direction), posted_at=row.posted_at,
        description=row.description, category=row.category, running_balance=row.running_balance,
        ingested_at=row.ingested_at)


class TransactionsRepository(TenantRepository):
    async def insert_new(self, transactions: list[IncomingTransaction], now: dt.datetime) -> set[str]:
        """Inserts the transactions whose id is not stored yet; returns the ids inserted. Bulk
        statements: this is the ingestion hot path."""
        return await insert_new(await self.session.connection(), self.tenant_id, transactions, now)

    async def delete_ids(self, transaction_ids: list[str]) -> None:
        """Removes rows this unit of work inserted and then refused (their balance move did not fit)."""
        if transaction_ids:
            await self.session.execute(delete(TransactionRow).where(
                TransactionRow.tenant_id == self.tenant_id, TransactionRow.transaction_id.in_(transaction_ids)))

    async def existing_ids(self, transaction_ids: list[str]) -> set[str]:
        found = await self.session.scalars(select(TransactionRow.transaction_id).where(
            TransactionRow.tenant_id == self.tenant_id, TransactionRow.transaction_id.in_(transaction_ids)))
        return set(found)

    async def get_many(self, transaction_ids: list[str]) -> list[Transaction]:
        rows = await self.session.scalars(select(TransactionRow).where(
            TransactionRow.tenant_id == self.tenant_id, TransactionRow.transaction_id.in_(transaction_ids)))
        return [_to_domain(row) for row in rows]

    async def list_newest_first(self, account_id: str, *, since: dt.datetime | None, until: dt.datetime | None,
                                before: tuple[dt.datetime, str] | None, limit: int) -> list[Transaction]:
        query = select(TransactionRow).where(TransactionRow.tenant_id == self.tenant_id,
                                             TransactionRow.account_id == account_id)
        if since is not None:
            query = query.where(TransactionRow.posted_at >= since)
        if until is not None:
            query = query.where(TransactionRow.posted_at < until)
        rows = await self.session.scalars(keyset_page(
            query, [TransactionRow.posted_at, TransactionRow.transaction_id], before, limit, descending=True))
        return [_to_domain(row) for row in rows]
