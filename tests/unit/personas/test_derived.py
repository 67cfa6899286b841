"""The built-in derived attributes from plain inputs (server.domain.personas.derived)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from server.domain.goals.months import add_months
from server.domain.personas.derived import (
    BALANCE_DAYS,
    DerivedInputs,
    SalaryCredit,
    age,
    average_monthly_salary,
    balance_figures,
    balance_window,
    birth_date_of,
    daily_balances,
    derive,
    months_as_customer,
    salary_window,
)
from server.domain.segments.attributes import BUILT_IN_ATTRIBUTES
from server.domain.tenants import Tenant
from server.services.derived_attributes import local_days

days = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
amounts = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=2)
AS_OF = dt.date(2024, 3, 31)


def test_age_in_whole_years_with_leap_day_birthdays_on_28_february() -> None:
    assert age(dt.date(1990, 4, 1), AS_OF) == 33
    assert age(dt.date(1990, 3, 31), AS_OF) == 34
    assert age(dt.date(2000, 2, 29), dt.date(2001, 2, 27)) == 0
    assert age(dt.date(2000, 2, 29), dt.date(2001, 2, 28)) == 1
    assert age(dt.date(2025, 1, 1), AS_OF) is None


@given(days, days)
def test_age_is_the_whole_years_between(born: dt.date, as_of: dt.date) -> None:
    years = age(born, as_of)
    if born > as_of:
        assert years is None
        return
    assert years is not None and years >= 0
    assert add_months(born, 12 * years) <= as_of
    if as_of.year < 2100:
        assert add_months(born, 12 * (years + 1)) > as_of


@given(st.lists(st.one_of(st.none(), days), max_size=5), days)
def test_months_as_customer_counts_from_the_first_opening(openings: list[dt.date | None], as_of: dt.date) -> None:
    months = months_as_customer(openings, as_of)
    opened = [d for d in openings if d is not None and d <= as_of]
    if not opened:
        assert months is None
        return
    assert months is not None
    assert add_months(min(opened), months) <= as_of < add_months(min(opened), months + 1)


def test_months_as_customer_clamps_to_the_month_end() -> None:
    assert months_as_customer([dt.date(2024, 1, 31), None], dt.date(2024, 2, 29)) == 1
    assert months_as_customer([dt.date(2024, 1, 31)], dt.date(2024, 2, 28)) == 0
    assert months_as_customer([dt.date(2025, 1, 1)], AS_OF) is None


def test_salary_is_averaged_over_six_months_of_salary_credits_only() -> None:
    assert salary_window(AS_OF) == (dt.date(2023, 10, 1), AS_OF)
    credits = [SalaryCredit(dt.date(2023, 9, 30), Decimal("999"), "SALARY"),  # the day before the window
               SalaryCredit(dt.date(2023, 10, 1), Decimal("3000"), "salary "),
               SalaryCredit(dt.date(2024, 3, 31), Decimal("3000.01"), "SALARY"),
               SalaryCredit(dt.date(2024, 3, 1), Decimal("500"), "PENSION"),
               SalaryCredit(dt.date(2024, 3, 2), Decimal("-40"), "SALARY"),  # a debit is no salary
               SalaryCredit(dt.date(2024, 4, 1), Decimal("3000"), "SALARY")]  # after as_of
    assert average_monthly_salary(credits, AS_OF) == Decimal("1000.0017")
    assert average_monthly_salary([], AS_OF) == 0


@given(st.lists(st.tuples(st.integers(-200, 10), amounts), max_size=20))
def test_the_salary_average_is_the_window_total_over_six(offsets: list[tuple[int, Decimal]]) -> None:
    credits = [SalaryCredit(AS_OF + dt.timedelta(days=d), a, "SALARY") for d, a in offsets]
    first, last = salary_window(AS_OF)
    total = sum((c.amount for c in credits if first <= c.booking_date <= last and c.amount > 0), Decimal(0))
    assert abs(average_monthly_salary(credits, AS_OF) * 6 - total) <= Decimal("0.0003")


def test_a_balance_holds_until_the_next_one() -> None:
    fed = [(dt.date(2024, 1, 1), Decimal(5)), (dt.date(2024, 1, 3), Decimal(-2))]
    assert daily_balances(fed, dt.date(2023, 12, 31), dt.date(2024, 1, 4)) == {
        dt.date(2024, 1, 1): 5, dt.date(2024, 1, 2): 5, dt.date(2024, 1, 3): -2, dt.date(2024, 1, 4): -2}


def test_balance_figures_sum_the_accounts_per_day_and_count_overdrawn_days() -> None:
    first, last = balance_window(AS_OF)
    assert (last - first).days == BALANCE_DAYS - 1
    balances = {"a1": [(first - dt.timedelta(days=10), Decimal(100))],  # carried through the window
                "a2": [(last - dt.timedelta(days=1), Decimal(-30))]}  # its last two days only
    average, overdrafts = balance_figures(balances, AS_OF) or (None, None)
    assert overdrafts == 2
    assert average == Decimal("99.3333")  # (100 * 90 - 2 * 30) / 90, half up to 4 places
    assert balance_figures({"a1": [(AS_OF + dt.timedelta(days=1), Decimal(1))]}, AS_OF) is None
    assert balance_figures({}, AS_OF) is None


# One end-of-day balance per account and day, as the store keeps them.
@given(st.dictionaries(st.sampled_from(["a", "b", "c"]),
                       st.dictionaries(st.integers(-120, 0), amounts, min_size=1, max_size=8), max_size=3))
def test_balance_figures_agree_with_a_day_by_day_count(fed: dict[str, dict[int, Decimal]]) -> None:
    balances = {account: [(AS_OF + dt.timedelta(days=d), a) for d, a in rows.items()]
                for account, rows in fed.items()}
    first, _ = balance_window(AS_OF)
    totals, overdrawn = {}, 0
    for offset in range(BALANCE_DAYS):
        day = first + dt.timedelta(days=offset)
        latest = [max((r for r in rows if r[0] <= day), default=None, key=lambda r: r[0]) for rows in balances.values()]
        known = [r[1] for r in latest if r is not None]
        if known:
            totals[day] = sum(known, Decimal(0))
            overdrawn += any(b < 0 for b in known)
    figures = balance_figures(balances, AS_OF)
    if not totals:
        assert figures is None
        return
    assert figures is not None
    assert figures[1] == overdrawn
    assert abs(figures[0] - sum(totals.values(), Decimal(0)) / len(totals)) <= Decimal("0.00005")


def test_derive_leaves_out_what_the_data_does_not_give() -> None:
    assert derive(DerivedInputs(), AS_OF) == {}
    values = derive(DerivedInputs(birth_date=birth_date_of({"birth_date": "1980-06-15"}),
                                  opening_dates=(dt.date(2020, 1, 15),), has_deposit_account=True,
                                  salary_credits=(SalaryCredit(dt.date(2024, 3, 1), Decimal("6000"), "SALARY"),),
                                  balances={"a1": [(dt.date(2024, 1, 1), Decimal("10.50"))]}), AS_OF)
    assert values == {"age": 43, "months_as_customer": 50, "avg_monthly_salary": Decimal(1000),
                      "avg_collected_balance": Decimal("10.5"), "overdrafts_90d": 0}
    assert str(values["avg_monthly_salary"]) == "1000"  # canonical: as a stored value reads back
    built_in = {d.name: d for d in BUILT_IN_ATTRIBUTES}
    assert all(built_in[name].accepts(value) for name, value in values.items())


def test_a_birth_date_attribute_that_is_no_date_is_no_birth_date() -> None:
    assert birth_date_of({"birth_date": "1980-06-15"}) == dt.date(1980, 6, 15)
    for text in ("", "15/06/1980", "1980-02-30", "1980-6-15"):
        assert birth_date_of({"birth_date": text}) is None
    assert birth_date_of({}) is None


def test_each_enabled_tenants_day_is_its_own_time_zones() -> None:
    created = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    tenants = [Tenant("utc", "UTC", "UTC", created), Tenant("prague", "Prague", "Europe/Prague", created),
               Tenant("off", "Off", "UTC", created, disabled_at=created)]
    assert local_days(tenants, dt.datetime(2024, 6, 1, 12, 3, tzinfo=dt.UTC)) == {
        "utc": dt.date(2024, 6, 1), "prague": dt.date(2024, 6, 1)}
    assert local_days(tenants, dt.datetime(2024, 6, 1, 22, 3, tzinfo=dt.UTC)) == {  # CEST: UTC+2
        "utc": dt.date(2024, 6, 1), "prague": dt.date(2024, 6, 2)}
