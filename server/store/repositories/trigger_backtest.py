"""What a backtest reads (server.services.triggers.backtest): the audience's customers a page at a time,
their deposit (BANK) accounts, and those accounts' stored transactions and fed end-of-day balances
for a span of days. Each read is one statement over a whole page of customers or accounts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import BigInteger, func, select, type_coerce

from server.domain.personas.audiences import Selection
from server.store.audience_sql import selection_condition
from server.store.models import AccountRow, DailyBalanceRow, TransactionRow
from server.store.repositories.base import TenantRepository

DEPOSIT = "BANK"  # the container whose balances trigger conditions read


@dataclass(frozen=True)
class BacktestAccount:
    account_id: str
    customer_id: str
    account_type: str
    currency: str
    balance: Decimal
    available_balance: Decimal


class StoredPosting(NamedTuple):
    """A stored transaction as read, its amounts left in whole ten-thousandths (server.store.types.
    ScaledAmount): the backtest turns into Decimals only the postings it replays."""

    transaction_id: str
    signed_scaled: int
    direction: str
    currency: str
    posted_at: dt.datetime
    running_scaled: int | None
    category: str
    description: str


class TriggerBacktestRepository(TenantRepository):
    async def customers_after(self, after: str | None, limit: int, *, customer_ids: Collection[str] | None = None,
                              selection: Selection | str | None = None) -> list[str]:
        """The next `limit` customers by id who own a deposit account: of `customer_ids` when given, taken
        by `selection` (a persona id, or an audience's) when given, else all."""
        query = select(AccountRow.customer_id).distinct().where(
            AccountRow.tenant_id == self.tenant_id, AccountRow.container == DEPOSIT)
        if customer_ids is not None:
            if not customer_ids:
                return []
            query = query.where(self.one_of(AccountRow.customer_id, customer_ids))
        if selection is not None:
            query = query.where(selection_condition(self.tenant_id, selection, AccountRow.customer_id))
        if after is not None:
            query = query.where(AccountRow.customer_id > after)
        return list(await self.session.scalars(query.order_by(AccountRow.customer_id).limit(limit)))

    async def deposit_accounts(self, customer_ids: Collection[str]) -> list[BacktestAccount]:
        rows = await self.session.execute(select(
            AccountRow.account_id, AccountRow.customer_id, AccountRow.account_type, AccountRow.currency,
            AccountRow.current_balance, AccountRow.available_balance).where(
            AccountRow.tenant_id == self.tenant_id, AccountRow.container == DEPOSIT,
            self.one_of(AccountRow.customer_id, customer_ids)).order_by(AccountRow.account_id))
        return [BacktestAccount(*r) for r in rows]

    async def postings(self, account_ids: Collection[str], since: dt.datetime, until: dt.datetime
                       ) -> dict[str, list[StoredPosting]]:
        """Each account's transactions posted in [since, until), in posting order (time, then id). Read as
        plain rows on the session's connection: the ORM's row handling and a Decimal per amount were a
        third of a backtest's time, for postings most of which the pre-filter leaves out."""
        found: dict[str, list[StoredPosting]] = defaultdict(list)
        connection = await self.session.connection()
        rows = await connection.execute(select(
            TransactionRow.account_id, TransactionRow.transaction_id,
            type_coerce(TransactionRow.signed_amount, BigInteger), TransactionRow.direction,
            TransactionRow.currency, TransactionRow.posted_at, type_coerce(TransactionRow.running_balance, BigInteger),
            TransactionRow.category, TransactionRow.description).where(
            TransactionRow.tenant_id == self.tenant_id, self.one_of(TransactionRow.account_id, account_ids),
            TransactionRow.posted_at >= since, TransactionRow.posted_at < until).order_by(
            TransactionRow.account_id, TransactionRow.posted_at, func.length(TransactionRow.transaction_id),
            TransactionRow.transaction_id))
        for row in rows:
            found[row[0]].append(StoredPosting(*row[1:]))
        return found

    async def sums_since(self, account_ids: Collection[str], since: dt.datetime) -> dict[str, Decimal]:
        """Each account's sum of the signed amounts posted from `since` on (accounts without any left out)."""
        rows = await self.session.execute(select(TransactionRow.account_id, func.sum(TransactionRow.signed_amount))
                                          .where(TransactionRow.tenant_id == self.tenant_id,
                                                 self.one_of(TransactionRow.account_id, account_ids),
                                                 TransactionRow.posted_at >= since)
                                          .group_by(TransactionRow.account_id))
        return {account_id: Decimal(total) for account_id, total in rows if total is not None}

    async def fed_balances(self, account_ids: Collection[str], since: dt.date, until: dt.date
                           ) -> dict[str, list[tuple[dt.date, Decimal]]]:
        """Each account's fed end-of-day balances for the days in [since, until], ascending."""
        found: dict[str, list[tuple[dt.date, Decimal]]] = defaultdict(list)
        rows = await self.session.execute(select(
            DailyBalanceRow.account_id, DailyBalanceRow.balance_date, DailyBalanceRow.balance).where(
            DailyBalanceRow.tenant_id == self.tenant_id, self.one_of(DailyBalanceRow.account_id, account_ids),
            DailyBalanceRow.balance_date >= since, DailyBalanceRow.balance_date <= until).order_by(
            DailyBalanceRow.account_id, DailyBalanceRow.balance_date))
        for account_id, day, balance in rows:
            found[account_id].append((day, balance))
        return found

    async def latest_fed_before(self, account_ids: Collection[str], day: dt.date) -> dict[str, tuple[dt.date, Decimal]]:
        """Each account's latest fed end-of-day balance for a day before `day` (accounts without one left out)."""
        latest = (select(DailyBalanceRow.account_id, func.max(DailyBalanceRow.balance_date).label("day"))
                  .where(DailyBalanceRow.tenant_id == self.tenant_id,
                         self.one_of(DailyBalanceRow.account_id, account_ids), DailyBalanceRow.balance_date < day)
                  .group_by(DailyBalanceRow.account_id).subquery())
        rows = await self.session.execute(select(
            DailyBalanceRow.account_id, DailyBalanceRow.balance_date, DailyBalanceRow.balance).join(
            latest, (DailyBalanceRow.account_id == latest.c.account_id)
            & (DailyBalanceRow.balance_date == latest.c.day)).where(DailyBalanceRow.tenant_id == self.tenant_id))
        return {account_id: (balance_date, balance) for account_id, balance_date, balance in rows}

    async def latest_posted_before(self, account_ids: Collection[str], before: dt.datetime) -> dict[str, dt.datetime]:
        """Each account's latest posting time before `before` (accounts without a posting then left out)."""
        rows = await self.session.execute(select(TransactionRow.account_id, func.max(TransactionRow.posted_at)).where(
            TransactionRow.tenant_id == self.tenant_id, self.one_of(TransactionRow.account_id, account_ids),
            TransactionRow.posted_at < before).group_by(TransactionRow.account_id))
        return {account_id: at for account_id, at in rows}
