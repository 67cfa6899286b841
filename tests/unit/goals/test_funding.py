import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.goals.funding import (
    FixedAmount,
    RoundUp,
    SalaryPercentage,
    Schedule,
    ScheduleKind,
    TransferStatus,
    advance,
    due_dates,
    is_card_spending,
    period_key,
    rule_amount,
)
from server.domain.reasons import Reason

days = st.dates(min_value=dt.date(1999, 1, 1), max_value=dt.date(2101, 12, 31))
spendings = st.decimals(min_value="-100000", max_value="-0.0001", places=4, allow_nan=False, allow_infinity=False)
salaries = st.decimals(min_value="0.01", max_value=10**7, places=2, allow_nan=False, allow_infinity=False)
steps = st.decimals(min_value="0.01", max_value=100, places=2, allow_nan=False, allow_infinity=False)
percents = st.decimals(min_value="0.01", max_value=100, places=2, allow_nan=False, allow_infinity=False)


def monthly(day: int, start: dt.date = dt.date(2023, 1, 1)) -> Schedule:
    return Schedule(ScheduleKind.MONTHLY, start, day)


def test_monthly_on_the_31st_falls_on_each_month_end() -> None:
    dates = due_dates(monthly(31), dt.date(2023, 1, 1), dt.date(2025, 12, 31))
    assert len(dates) == 36
    assert dt.date(2023, 2, 28) in dates and dt.date(2024, 2, 29) in dates and dt.date(2025, 2, 28) in dates
    assert dt.date(2023, 4, 30) in dates and dt.date(2024, 3, 31) in dates
    assert dates[:4] == [dt.date(2023, 1, 31), dt.date(2023, 2, 28), dt.date(2023, 3, 31), dt.date(2023, 4, 30)]


@pytest.mark.parametrize(("day", "february_2023", "february_2024"), [(29, 28, 29), (30, 28, 29), (28, 28, 28)])
def test_february_clamps(day: int, february_2023: int, february_2024: int) -> None:
    dates = due_dates(monthly(day), dt.date(2023, 1, 1), dt.date(2024, 12, 31))
    assert dt.date(2023, 2, february_2023) in dates and dt.date(2024, 2, february_2024) in dates
    assert dt.date(2023, 3, day) in dates  # the next month is back on the day asked for


def test_monthly_starts_on_the_first_due_date_after_start() -> None:
    schedule = monthly(15, start=dt.date(2024, 1, 20))
    assert due_dates(schedule, dt.date(2024, 1, 1), dt.date(2024, 3, 31)) == [
        dt.date(2024, 2, 15),
        dt.date(2024, 3, 15),
    ]
    assert due_dates(schedule, dt.date(2024, 3, 16), dt.date(2024, 4, 14)) == []
    assert due_dates(schedule, dt.date(2024, 3, 15), dt.date(2024, 3, 15)) == [dt.date(2024, 3, 15)]
    assert due_dates(schedule, dt.date(2024, 5, 1), dt.date(2024, 4, 1)) == []


def test_weekly_and_biweekly_keep_the_start_weekday() -> None:
    start = dt.date(2024, 2, 28)  # a Wednesday
    weekly = Schedule(ScheduleKind.WEEKLY, start)
    assert due_dates(weekly, dt.date(2024, 2, 1), dt.date(2024, 3, 13)) == [
        dt.date(2024, 2, 28),
        dt.date(2024, 3, 6),
        dt.date(2024, 3, 13),
    ]
    biweekly = Schedule(ScheduleKind.BIWEEKLY, start)
    assert due_dates(biweekly, dt.date(2024, 3, 1), dt.date(2024, 4, 30)) == [
        dt.date(2024, 3, 13),
        dt.date(2024, 3, 27),
        dt.date(2024, 4, 10),
        dt.date(2024, 4, 24),
    ]
    assert period_key(biweekly, dt.date(2024, 3, 13)) == "2024-03-13"
    assert period_key(monthly(31), dt.date(2024, 2, 29)) == "2024-02"


def test_schedule_ends_at_the_calendar_end() -> None:
    weekly = Schedule(ScheduleKind.WEEKLY, dt.date(9999, 12, 20))
    assert due_dates(weekly, dt.date(9999, 1, 1), dt.date.max) == [dt.date(9999, 12, 20), dt.date(9999, 12, 27)]
    assert due_dates(monthly(31, dt.date(9999, 11, 1)), dt.date.min, dt.date.max) == [
        dt.date(9999, 11, 30),
        dt.date(9999, 12, 31),
    ]


@pytest.mark.parametrize(
    ("kind", "day"),
    [
        (ScheduleKind.MONTHLY, None),
        (ScheduleKind.MONTHLY, 0),
        (ScheduleKind.MONTHLY, 32),
        (ScheduleKind.MONTHLY, True),
        (ScheduleKind.WEEKLY, 5),
        (ScheduleKind.BIWEEKLY, 1),
        ("DAILY", None),
    ],
)
def test_malformed_schedules_are_refused(kind: ScheduleKind, day: int | None) -> None:
    with pytest.raises(InvalidArgument) as caught:
        Schedule(kind, dt.date(2024, 1, 1), day)
    assert caught.value.code == Reason.FUNDING_SCHEDULE_INVALID
    assert caught.value.violations


@given(st.sampled_from(list(ScheduleKind)), st.integers(1, 31), days, days, days)
def test_due_dates_are_in_range_increasing_and_one_per_period(
    kind: ScheduleKind, day: int, start: dt.date, since: dt.date, until: dt.date
) -> None:
    schedule = Schedule(kind, start, day if kind == ScheduleKind.MONTHLY else None)
    dates = due_dates(schedule, since, until)
    assert all(max(since, start) <= due <= until for due in dates)
    assert all(a < b for a, b in itertools.pairwise(dates))
    keys = [period_key(schedule, due) for due in dates]
    assert len(set(keys)) == len(keys)
    if kind == ScheduleKind.MONTHLY:
        assert all(due.day == min(day, _month_length(due)) for due in dates)
        # Every whole month inside the range has its date.
        first, last = max(since, start), until
        months_inside = {
            (y, m)
            for y in range(first.year, last.year + 1)
            for m in range(1, 13)
            if dt.date(y, m, 1) >= first and _month_end(y, m) <= last
        }
        assert months_inside <= {(due.year, due.month) for due in dates}
    else:
        step = 7 if kind == ScheduleKind.WEEKLY else 14
        assert all((due - start).days % step == 0 for due in dates)
        assert all((b - a).days == step for a, b in itertools.pairwise(dates))
        if max(since, start) + dt.timedelta(days=step - 1) <= until:
            assert dates  # a window of a whole step holds a date


@given(st.sampled_from(list(ScheduleKind)), st.integers(1, 31), days, days, days)
def test_split_ranges_give_the_same_dates(kind: ScheduleKind, day: int, start: dt.date, a: dt.date, b: dt.date) -> None:
    # The worker may run late or twice: consecutive ranges give each date once.
    schedule = Schedule(kind, start, day if kind == ScheduleKind.MONTHLY else None)
    since, until = min(a, b), max(a, b)
    middle = since + (until - since) // 2
    whole = due_dates(schedule, since, until)
    assert due_dates(schedule, since, middle) + due_dates(schedule, middle + dt.timedelta(days=1), until) == whole


def _month_end(year: int, month: int) -> dt.date:
    return (dt.date(year, month, 28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def _month_length(day: dt.date) -> int:
    return _month_end(day.year, day.month).day


def test_round_up_examples() -> None:
    assert RoundUp().amount_for(Decimal("-12.30")) == Decimal("0.70")
    assert RoundUp(multiplier=2).amount_for(Decimal("-12.30")) == Decimal("1.40")
    assert RoundUp().amount_for(Decimal("-12.00")) == Decimal("0.00")
    assert RoundUp(Decimal("5")).amount_for(Decimal("-12.30")) == Decimal("2.70")
    assert RoundUp().amount_for(Decimal("-0.004")) == Decimal("0.00")  # rounds to 0.00 spent
    assert RoundUp().amount_for(Decimal("-3.0050")) == Decimal("0.99")  # 3.01 spent
    assert RoundUp().amount_for(Decimal("25")) == Decimal("0.00")


@given(spendings, steps, st.integers(1, 10))
def test_round_up_is_under_one_step(amount: Decimal, step: Decimal, multiplier: int) -> None:
    single = RoundUp(step).amount_for(amount)
    assert Decimal(0) <= single < step
    assert single.as_tuple().exponent == -2
    spent = (-amount).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert (spent + single) % step == 0
    assert RoundUp(step, multiplier).amount_for(amount) == single * multiplier


def test_salary_percentage() -> None:
    rule = SalaryPercentage(Decimal("10"))
    assert rule.amount_for(Decimal("2345.67"), is_salary=True) == Decimal("234.57")
    assert rule.amount_for(Decimal("2345.67"), is_salary=False) == Decimal("0.00")
    assert rule.amount_for(Decimal("-50"), is_salary=True) == Decimal("0.00")
    assert SalaryPercentage(Decimal("2.5")).amount_for(Decimal("0.20"), is_salary=True) == Decimal("0.01")


@given(salaries, percents)
def test_percentage_within_bounds(amount: Decimal, percent: Decimal) -> None:
    result = SalaryPercentage(percent).amount_for(amount, is_salary=True)
    assert Decimal(0) <= result <= amount
    assert abs(result - amount * percent / 100) <= Decimal("0.005")
    assert result.as_tuple().exponent == -2


def test_rule_amount_applies_each_rule_to_its_postings() -> None:
    round_up, salary = RoundUp(), SalaryPercentage(Decimal(5))
    assert rule_amount(round_up, Decimal("-1.25"), card_spending=True, is_salary=False) == Decimal("0.75")
    assert rule_amount(round_up, Decimal("-1.25"), card_spending=False, is_salary=False) == 0
    assert rule_amount(salary, Decimal("1000"), card_spending=False, is_salary=True) == Decimal("50.00")
    assert rule_amount(salary, Decimal("1000"), card_spending=False, is_salary=False) == 0
    assert is_card_spending("CHECKING", "BANK", Decimal("-1"))
    assert is_card_spending("OTHER", "CREDIT_CARD", Decimal("-1"))
    assert not is_card_spending("SAVINGS", "BANK", Decimal("-1"))
    assert not is_card_spending("CHECKING", "BANK", Decimal("1"))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: RoundUp(Decimal(0)), Reason.FUNDING_RULE_INVALID),
        (lambda: RoundUp(Decimal("0.005")), Reason.FUNDING_RULE_INVALID),
        (lambda: RoundUp(Decimal("100.01")), Reason.FUNDING_RULE_INVALID),
        (lambda: RoundUp(Decimal("NaN")), Reason.FUNDING_RULE_INVALID),
        (lambda: RoundUp(multiplier=0), Reason.FUNDING_RULE_INVALID),
        (lambda: RoundUp(multiplier=11), Reason.FUNDING_RULE_INVALID),
        (lambda: SalaryPercentage(Decimal(0)), Reason.FUNDING_AMOUNT_INVALID),
        (lambda: SalaryPercentage(Decimal("100.01")), Reason.FUNDING_AMOUNT_INVALID),
        (lambda: SalaryPercentage(Decimal("1.005")), Reason.FUNDING_AMOUNT_INVALID),
        (lambda: SalaryPercentage(Decimal("Infinity")), Reason.FUNDING_AMOUNT_INVALID),
        (lambda: FixedAmount(Decimal("-1")), Reason.FUNDING_AMOUNT_INVALID),
        (lambda: FixedAmount(Decimal("0")), Reason.FUNDING_AMOUNT_INVALID),
        (lambda: FixedAmount(Decimal("1.001")), Reason.FUNDING_AMOUNT_INVALID),
        (lambda: FixedAmount(Decimal("1e15")), Reason.FUNDING_AMOUNT_INVALID),
    ],
)
def test_invalid_rules_and_amounts_are_refused(make, reason: Reason) -> None:
    with pytest.raises(InvalidArgument) as caught:
        make()
    assert caught.value.code == reason


def test_valid_rules() -> None:
    assert RoundUp(Decimal("100"), 10).step == 100
    assert SalaryPercentage(Decimal("100")).percent == 100
    assert FixedAmount(Decimal("25.50")).amount == Decimal("25.50")


@pytest.mark.parametrize("new", [TransferStatus.EXECUTED, TransferStatus.FAILED, TransferStatus.CANCELLED])
def test_a_requested_transfer_ends_once(new: TransferStatus) -> None:
    assert advance(TransferStatus.REQUESTED, new) is True
    assert advance(new, new) is False  # a repeated confirmation is a no-op
    for other in TransferStatus:
        if other != new:
            with pytest.raises(FailedPrecondition) as caught:
                advance(new, other)
            assert caught.value.code == Reason.TRANSFER_TRANSITION_NOT_ALLOWED


def test_requested_again_is_a_no_op() -> None:
    assert advance(TransferStatus.REQUESTED, TransferStatus.REQUESTED) is False
