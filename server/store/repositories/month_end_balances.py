"""Set-based inputs of month-end-balance insights: one statement per chunk of customers returns every
eligible account with its balance at the as-of date and at each month end (index seeks on the
daily_balances key), instead of a query per user."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select

from server.domain.insights.plugins.savings_increased import SavingsAccount
from server.store.models import AccountRow, DailyBalanceRow
from server.store.repositories.base import TenantRepository


def _balance_at(day: dt.date, *, before: bool) -> object:
    """The account's latest end-of-day balance on (or, with before, strictly before) the day."""
    on_time = DailyBalanceRow.balance_date < day if before else DailyBalanceRow.balance_date <= day
    return (select(DailyBalanceRow.balance)
            .where(DailyBalanceRow.tenant_id == AccountRow.tenant_id,
                   DailyBalanceRow.account_id == AccountRow.account_id, on_time)
            .order_by(DailyBalanceRow.balance_date.desc()).limit(1)
            .correlate(AccountRow).scalar_subquery())


class MonthEndBalancesRepository(TenantRepository):
    async def accounts_by_customer(self, *, containers: list[str], as_of: dt.date, month_ends: list[dt.date],
                                   first: str | None = None, last: str | None = None,
                                   customer_ids: list[str] | None = None) -> dict[str, list[SavingsAccount]]:
        """Eligible accounts of the customers with ids in first..last (or in customer_ids). An account
        with no end-of-day balance at all counts with its current balance at the as-of date (a feed
        that sends only current balances); before its first end-of-day balance it counts as 0."""
        # On the 1st the last month end is the day before: its balance is the opening one, so one index
        # probe less per account.
        last_is_opening = bool(month_ends) and month_ends[-1] == as_of - dt.timedelta(days=1)
        probed_ends = month_ends[:-1] if last_is_opening else month_ends
        query = select(
            AccountRow.customer_id, AccountRow.account_id, AccountRow.provider_name, AccountRow.account_name,
            AccountRow.account_type, AccountRow.container, AccountRow.currency, AccountRow.current_balance,
            _balance_at(as_of, before=True),
            *[_balance_at(end, before=False) for end in probed_ends],
        ).where(AccountRow.tenant_id == self.tenant_id, AccountRow.container.in_(containers))
        if customer_ids is not None:
            query = query.where(AccountRow.customer_id.in_(customer_ids))
        if first is not None:
            query = query.where(AccountRow.customer_id >= first)
        if last is not None:
            query = query.where(AccountRow.customer_id <= last)
        # Core on the connection: plain rows, without the ORM's result machinery.
        connection = await self.session.connection()
        rows = (await connection.execute(query.order_by(AccountRow.customer_id, AccountRow.account_id))).all()
        without_opening = {row[1] for row in rows if row[8] is None}
        with_history = await self._with_history(without_opening)
        found: dict[str, list[SavingsAccount]] = defaultdict(list)
        zero = Decimal(0)
        for customer_id, account_id, provider, name, kind, container, currency, current, opening, *months in rows:
            if last_is_opening:
                months.append(opening)
            if opening is not None or account_id in with_history:
                balance = opening if opening is not None else zero
                month_balances = tuple(zero if m is None else m for m in months)
            else:
                balance, month_balances = current, tuple(zero for _ in months)
            found[customer_id].append(SavingsAccount(account_id, provider, name, kind, container, currency, balance,
                                                     month_balances))
        return found

    async def _with_history(self, account_ids: set[str]) -> set[str]:
        """Which of these accounts have any end-of-day balance (usually none or few are asked)."""
        if not account_ids:
            return set()
        found = await self.session.scalars(select(DailyBalanceRow.account_id).distinct().where(
            DailyBalanceRow.tenant_id == self.tenant_id, DailyBalanceRow.account_id.in_(account_ids)))
        return set(found)
