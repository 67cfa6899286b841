"""What the goals insights and the Goal Tracker read, for one customer or a batch chunk, in a few
statements: enrolled customers with their goals, the target account's income and spending per recent
complete calendar month (from its transactions: every account that has goals has them, where end-of-day
balances are fed by some banks only), and each goal's cash flow in the period."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection
from dataclasses import dataclass

from server.domain.goals.months import add_months
from server.domain.insights.plugins.goals import GoalsCustomer
from server.store.repositories.goal_cash_flows import MonthFigures, TrackedCustomer
from server.store.uow import UnitOfWork

# The pace's window when no insight says otherwise (forecast.py: six is the intended window).
DEFAULT_PACE_MONTHS = 6


def local_midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The start of a day in the bank's time zone, as UTC."""
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


def month_starts(as_of: dt.date, months: int, zone: zoneinfo.ZoneInfo) -> list[dt.datetime]:
    """The starts of the `months` complete calendar months before as_of's month, and the start of as_of's
    month: the bounds of those months (the bank's calendar)."""
    first = as_of.replace(day=1)
    return [local_midnight(add_months(first, i - months), zone) for i in range(months + 1)]


@dataclass(frozen=True, slots=True)
class CustomerInputs:
    tracked: TrackedCustomer
    months: list[MonthFigures]
    customer: GoalsCustomer


async def goals_inputs(uow: UnitOfWork, *, as_of: dt.date, months: int, zone: zoneinfo.ZoneInfo,
                       period: tuple[dt.datetime, dt.datetime] | None = None,
                       customer_ids: Collection[str] | None = None,
                       id_range: tuple[str, str] | None = None) -> dict[str, CustomerInputs]:
    """customer id -> what the goals insights read, for the enrolled customers among the ids (or in the
    range) that have goals. `period`: the cash flows' range (default: the complete month before as_of's
    month, which a batch on the 1st reports on)."""
    tracked = [c for c in await uow.goal_cash_flows.tracked_customers(customer_ids=customer_ids, id_range=id_range)
               if c.goals]
    if not tracked:
        return {}
    starts = month_starts(as_of, months, zone)
    period = period or (starts[-2], starts[-1])
    figures = await uow.goal_cash_flows.monthly_figures({c.enrolment.account_id for c in tracked}, starts)
    flows = await uow.goal_cash_flows.period_cash_flows([g.goal_id for c in tracked for g in c.goals], *period)
    found = {}
    for customer in tracked:
        account_months = figures.get(customer.enrolment.account_id, [])
        goals = tuple(customer.goals)
        found[customer.enrolment.customer_id] = CustomerInputs(customer, account_months, GoalsCustomer(
            customer_id=customer.enrolment.customer_id, account_id=customer.enrolment.account_id,
            currency=goals[0].target.currency, goals=goals,
            monthly_net_saving=tuple(m.net for m in account_months),
            period_cash_flows={g.goal_id: flows[g.goal_id] for g in goals if g.goal_id in flows}, today=as_of))
    return found
