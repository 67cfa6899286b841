"""Set-based inputs of month-end-balance insights: one statement per chunk of customers returns every
eligible account with its balance at the as-of date and at each month end (index seeks on the
daily_balances key), instead of a query per user."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Date, TextClause, bindparam, select, text

from server.domain.insights.plugins.savings_increased import SavingsAccount
from server.store.models import DailyBalanceRow
from server.store.repositories.base import TenantRepository


def _balance_at(day: str, *, before: bool) -> str:
    """The account's latest end-of-day balance on (or, with before, strictly before) the day named by
    the bind parameter: one backward index probe on the daily_balances key."""
    return ("(SELECT b.balance FROM daily_balances AS b WHERE b.tenant_id = a.tenant_id AND b.account_id = "
            f"a.account_id AND b.balance_date {'<' if before else '<='} :{day} "
            "ORDER BY b.balance_date DESC LIMIT 1)")


def _query(probes: int, by_ids: bool) -> TextClause:
    """Plain SQL (the same on both databases): built from a chunk's shape only, so it is compiled once,
    and its rows carry the stored integers as they are."""
    scope = "a.customer_id IN :customer_ids" if by_ids else "a.customer_id >= :first AND a.customer_id <= :last"
    balances = ", ".join([_balance_at("as_of", before=True), *(_balance_at(f"end{i}", before=False)
                                                                for i in range(probes))])
    return text(
        "SELECT a.customer_id, a.account_id, a.provider_name, a.account_name, a.account_type, a.container, "
        f"a.currency, a.current_balance, {balances} FROM accounts AS a "
        f"WHERE a.tenant_id = :tenant_id AND a.container IN :containers AND {scope} "
        "ORDER BY a.customer_id, a.account_id"
    ).bindparams(bindparam("containers", expanding=True), bindparam("as_of", type_=Date),
                 *(bindparam(f"end{i}", type_=Date) for i in range(probes)),
                 *([bindparam("customer_ids", expanding=True)] if by_ids else []))


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
        parameters: dict[str, object] = {"tenant_id": self.tenant_id, "containers": containers, "as_of": as_of,
                                         **{f"end{i}": end for i, end in enumerate(probed_ends)}}
        if customer_ids is not None:
            parameters["customer_ids"] = customer_ids
        else:
            parameters |= {"first": first, "last": last}
        connection = await self.session.connection()
        rows = (await connection.execute(_query(len(probed_ends), customer_ids is not None), parameters)).all()
        without_opening = {row[1] for row in rows if row[8] is None}
        with_history = await self._with_history(without_opening)
        found: dict[str, list[SavingsAccount]] = defaultdict(list)
        no_history = tuple(0 for _ in month_ends)
        for customer_id, account_id, provider, name, kind, container, currency, current, opening, *months in rows:
            if last_is_opening:
                months.append(opening)
            if opening is not None or account_id in with_history:
                balance = opening or 0
                month_balances = tuple([m or 0 for m in months])
            else:
                balance, month_balances = current, no_history
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
