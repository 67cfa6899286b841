"""The built-in derived attributes (server.domain.segments.attributes.BUILT_IN_ATTRIBUTES) computed from
what the bank fed us, as of one date. Definitions: docs/personas.md#built-in-attributes.

Plain inputs, no store: the birth date (the customer's `birth_date` attribute), the opening dates and
kinds of the accounts they own, the salary credits and the end-of-day balances of their deposit
accounts. An attribute whose input is missing is left out (unset), never guessed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from server.domain.goals.funding import is_salary_credit
from server.domain.goals.months import add_months, whole_months_between
from server.domain.personas.model import canonical
from server.domain.segments.attributes import DECIMAL_PLACES, AttributeValue

AGE = "age"
MONTHS_AS_CUSTOMER = "months_as_customer"
AVG_MONTHLY_SALARY = "avg_monthly_salary"
AVG_COLLECTED_BALANCE = "avg_collected_balance"
OVERDRAFTS_90D = "overdrafts_90d"
DERIVED_NAMES = (AGE, MONTHS_AS_CUSTOMER, AVG_MONTHLY_SALARY, AVG_COLLECTED_BALANCE, OVERDRAFTS_90D)

# The customer attribute (ingested, text YYYY-MM-DD) that age is counted from.
BIRTH_DATE_ATTRIBUTE = "birth_date"
SALARY_MONTHS = 6
BALANCE_DAYS = 90
_PLACES = Decimal(1).scaleb(-DECIMAL_PLACES)


@dataclass(frozen=True)
class SalaryCredit:
    booking_date: dt.date  # the UTC date of posted_at, as Posting.booking_date
    amount: Decimal  # signed: a credit is positive
    category: str


@dataclass(frozen=True)
class DerivedInputs:
    """What one customer's derived attributes read. `opening_dates`: of every account they own (None
    where the bank gave none); `has_deposit_account`: they own a BANK-container account, whose
    postings and balances the money attributes read; `balances`: per deposit account, its end-of-day
    balances in the balance window and the last one before it (more are harmless)."""

    birth_date: dt.date | None = None
    opening_dates: tuple[dt.date | None, ...] = ()
    has_deposit_account: bool = False
    salary_credits: tuple[SalaryCredit, ...] = ()
    balances: Mapping[str, Sequence[tuple[dt.date, Decimal]]] = field(default_factory=dict)


def birth_date_of(attributes: Mapping[str, str]) -> dt.date | None:
    """The `birth_date` attribute as a date; None when absent or not a YYYY-MM-DD date."""
    text = attributes.get(BIRTH_DATE_ATTRIBUTE, "").strip()
    if len(text) != 10:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def age(birth_date: dt.date, as_of: dt.date) -> int | None:
    """Whole years since the birth date (a 29 February birthday falls on 28 February in other years);
    None for a birth date after `as_of`."""
    if birth_date > as_of:
        return None
    return whole_months_between(birth_date, as_of) // 12


def months_as_customer(opening_dates: Iterable[dt.date | None], as_of: dt.date) -> int | None:
    """Whole calendar months since the earliest account opening date on or before `as_of`; None
    without one."""
    opened = [d for d in opening_dates if d is not None and d <= as_of]
    return whole_months_between(min(opened), as_of) if opened else None


def salary_window(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last booking dates of the salary window: the 6 months up to and including `as_of`
    (from the day after the same date 6 months earlier)."""
    return add_months(as_of, -SALARY_MONTHS) + dt.timedelta(days=1), as_of


def average_monthly_salary(credits: Iterable[SalaryCredit], as_of: dt.date) -> Decimal:
    """The salary credits booked in the salary window, summed and divided by 6, half up to 4 places."""
    first, last = salary_window(as_of)
    total = sum((c.amount for c in credits
                 if first <= c.booking_date <= last and is_salary_credit(c.category, c.amount)), Decimal(0))
    return (total / SALARY_MONTHS).quantize(_PLACES, ROUND_HALF_UP)


def balance_window(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The 90 days up to and including `as_of`."""
    return as_of - dt.timedelta(days=BALANCE_DAYS - 1), as_of


def daily_balances(balances: Sequence[tuple[dt.date, Decimal]], first: dt.date, last: dt.date
                   ) -> dict[dt.date, Decimal]:
    """Each day from `first` to `last` that the account has a balance for: the end-of-day balance fed
    for the day, else the last one fed before it (a balance holds until the next). Days before the
    first balance fed have none."""
    ordered = sorted(balances)
    found: dict[dt.date, Decimal] = {}
    position, current = 0, None
    day = first
    while day <= last:
        while position < len(ordered) and ordered[position][0] <= day:
            current = ordered[position][1]
            position += 1
        if current is not None:
            found[day] = current
        day += dt.timedelta(days=1)
    return found


def balance_figures(balances: Mapping[str, Sequence[tuple[dt.date, Decimal]]], as_of: dt.date
                    ) -> tuple[Decimal, int] | None:
    """(average collected balance, overdraft days) over the balance window: the average, half up to 4
    places, of the day totals of the deposit accounts' end-of-day balances over the days that any of
    them has one; the days on which any of them ends negative. None when no day has a balance."""
    first, last = balance_window(as_of)
    totals: dict[dt.date, Decimal] = {}
    overdrawn: set[dt.date] = set()
    for account_balances in balances.values():
        for day, balance in daily_balances(account_balances, first, last).items():
            totals[day] = totals.get(day, Decimal(0)) + balance
            if balance < 0:
                overdrawn.add(day)
    if not totals:
        return None
    average = (sum(totals.values(), Decimal(0)) / len(totals)).quantize(_PLACES, ROUND_HALF_UP)
    return average, len(overdrawn)


def derive(inputs: DerivedInputs, as_of: dt.date) -> dict[str, AttributeValue]:
    """The customer's derived attributes as of `as_of`: only those their data gives, each in its one
    canonical form (so that a stored value read back compares equal)."""
    values: dict[str, AttributeValue] = {}
    if inputs.birth_date is not None and (years := age(inputs.birth_date, as_of)) is not None:
        values[AGE] = years
    if (months := months_as_customer(inputs.opening_dates, as_of)) is not None:
        values[MONTHS_AS_CUSTOMER] = months
    if inputs.has_deposit_account:
        values[AVG_MONTHLY_SALARY] = canonical(average_monthly_salary(inputs.salary_credits, as_of))
    figures = balance_figures(inputs.balances, as_of)
    if figures is not None:
        values[AVG_COLLECTED_BALANCE], values[OVERDRAFTS_90D] = canonical(figures[0]), figures[1]
    return values
