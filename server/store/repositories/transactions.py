from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import delete, func, select, update

from server.domain.ingest.model import Direction, IncomingTransaction, Transaction, TransactionStatus
from server.domain.money import from_scaled
from server.store.keyset import keyset_page
from server.store.models import AccountRow, TransactionAuthorizationRow, TransactionRow
from server.store.repositories.balance_months import MonthBounds, summarize_postings
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

    async def summarize(self, months: MonthBounds) -> None:
        """Widens the stored account months (account_balance_months) by those of postings just stored
        (balance_months.month_bounds); called once the batch's accounts are locked and their balances moved, so
        that months are locked after accounts."""
        await summarize_postings(await self.session.connection(), self.tenant_id, months)

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

    # -- PENDING and DECLINED transactions (docs/services/ingest.md#transaction-status) ------------------

    async def authorization_statuses(self, transaction_ids: list[str]) -> dict[str, TransactionStatus]:
        """transaction id -> PENDING or DECLINED, for the ids kept as not booked."""
        if not transaction_ids:
            return {}
        # On the ingestion hot path (every booked batch): one statement, one array parameter.
        rows = await self.session.execute(select(
            TransactionAuthorizationRow.transaction_id, TransactionAuthorizationRow.status).where(
            TransactionAuthorizationRow.tenant_id == self.tenant_id,
            self.one_of(TransactionAuthorizationRow.transaction_id, transaction_ids)))
        return {transaction_id: TransactionStatus(status) for transaction_id, status in rows}

    async def add_authorizations(self, transactions: list[IncomingTransaction], now: dt.datetime) -> None:
        """Keeps new PENDING or DECLINED transactions (their ids are in neither table)."""
        for t in transactions:
            assert t.amount is not None and t.direction is not None and t.posted_at is not None
            self.session.add(TransactionAuthorizationRow(
                tenant_id=self.tenant_id, transaction_id=t.transaction_id, account_id=t.account_id,
                status=t.status.value, signed_amount=from_scaled(t.signed_amount), direction=t.direction.value,
                currency=t.currency, posted_at=t.posted_at, description=t.description, category=t.category,
                ingested_at=now, updated_at=now))
        await self.session.flush()

    async def decline_pending(self, transaction_ids: list[str], now: dt.datetime) -> None:
        if transaction_ids:
            await self.session.execute(update(TransactionAuthorizationRow).where(
                TransactionAuthorizationRow.tenant_id == self.tenant_id,
                TransactionAuthorizationRow.transaction_id.in_(transaction_ids),
                TransactionAuthorizationRow.status == TransactionStatus.PENDING.value,
            ).values(status=TransactionStatus.DECLINED.value, updated_at=now))

    async def forget_pending(self, transaction_ids: list[str]) -> None:
        """The PENDING rows of transactions now booked."""
        if transaction_ids:
            await self.session.execute(delete(TransactionAuthorizationRow).where(
                TransactionAuthorizationRow.tenant_id == self.tenant_id,
                TransactionAuthorizationRow.transaction_id.in_(transaction_ids),
                TransactionAuthorizationRow.status == TransactionStatus.PENDING.value))

    async def list_authorizations(self, account_id: str) -> list[tuple[str, TransactionStatus, Decimal]]:
        """(transaction id, status, signed amount) of the account's not-booked transactions, by id."""
        rows = await self.session.execute(select(
            TransactionAuthorizationRow.transaction_id, TransactionAuthorizationRow.status,
            TransactionAuthorizationRow.signed_amount).where(
            TransactionAuthorizationRow.tenant_id == self.tenant_id,
            TransactionAuthorizationRow.account_id == account_id).order_by(TransactionAuthorizationRow.transaction_id))
        return [(transaction_id, TransactionStatus(status), amount) for transaction_id, status, amount in rows]

    async def list_authorizations_newest_first(
            self, account_id: str, status: TransactionStatus, *, since: dt.datetime | None,
            until: dt.datetime | None, before: tuple[dt.datetime, str] | None, limit: int) -> list[Transaction]:
        """The account's PENDING (or DECLINED) transactions, as list_newest_first pages the booked ones."""
        row = TransactionAuthorizationRow
        query = select(row).where(row.tenant_id == self.tenant_id, row.account_id == account_id,
                                  row.status == status.value)
        if since is not None:
            query = query.where(row.posted_at >= since)
        if until is not None:
            query = query.where(row.posted_at < until)
        rows = await self.session.scalars(keyset_page(
            query, [row.posted_at, row.transaction_id], before, limit, descending=True))
        return [Transaction(
            transaction_id=r.transaction_id, account_id=r.account_id, amount=abs(r.signed_amount), currency=r.currency,
            direction=Direction(r.direction), posted_at=r.posted_at, description=r.description, category=r.category,
            ingested_at=r.ingested_at, status=TransactionStatus(r.status)) for r in rows]

    # -- the history an unusual-activity baseline is judged against (server.domain.engagement.baseline)

    async def customers_debits(self, customer_ids: set[str], since: dt.datetime, until: dt.datetime,
                               categories: frozenset[str], directions: frozenset[str],
                               account_types: frozenset[str]) -> list[tuple[str, str, dt.datetime, Decimal, str]]:
        """(customer id, transaction id, posted at, amount without sign, description) of the booked
        transactions on accounts the customers own, posted in [since, until), of the given directions,
        categories (upper-cased; empty: any) and account types (empty: any). One statement for every
        customer of a batch; the accounts index (tenant, customer) and the transactions index (tenant,
        account, posted_at) bound it to those customers' window."""
        if not customer_ids:
            return []
        query = (select(AccountRow.customer_id, TransactionRow.transaction_id, TransactionRow.posted_at,
                        TransactionRow.signed_amount, TransactionRow.description)
                 .join(AccountRow, (AccountRow.tenant_id == TransactionRow.tenant_id)
                       & (AccountRow.account_id == TransactionRow.account_id))
                 .where(TransactionRow.tenant_id == self.tenant_id, AccountRow.customer_id.in_(sorted(customer_ids)),
                        TransactionRow.posted_at >= since, TransactionRow.posted_at < until))
        if directions:
            query = query.where(TransactionRow.direction.in_(sorted(directions)))
        if categories:
            query = query.where(func.upper(TransactionRow.category).in_(sorted(categories)))
        if account_types:
            query = query.where(AccountRow.account_type.in_(sorted(account_types)))
        rows = await self.session.execute(query)
        return [(customer_id, transaction_id, posted_at, abs(amount), description)
                for customer_id, transaction_id, posted_at, amount, description in rows]
