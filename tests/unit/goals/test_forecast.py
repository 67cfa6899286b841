import datetime as dt
import statistics
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.goals.forecast import (
    FORECAST_HORIZON_MONTHS,
    SavingPace,
    at_risk,
    forecast_completion,
    on_track,
    quantile,
    safe_to_save,
    saving_pace,
)
from server.domain.goals.months import add_months, whole_months_between

cents = st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False, allow_infinity=False)
positive_cents = st.decimals(min_value="0.01", max_value=10**6, places=2, allow_nan=False, allow_infinity=False)
amounts = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False)
days = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))


def pace(monthly: str, spread: str = "0") -> SavingPace:
    mean, band = Decimal(monthly), Decimal(spread)
    return SavingPace(mean, mean - band, mean + band, band, ())


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2023, 1, 31), 1) == dt.date(2023, 2, 28)
    assert add_months(dt.date(2023, 1, 31), 2) == dt.date(2023, 3, 31)
    assert add_months(dt.date(2023, 3, 31), -1) == dt.date(2023, 2, 28)
    assert add_months(dt.date(2023, 11, 15), 14) == dt.date(2025, 1, 15)


@given(days, days)
def test_whole_months_between_is_the_most_that_fit(start: dt.date, end: dt.date) -> None:
    months = whole_months_between(start, end)
    assert months >= 0
    if end >= start:
        assert add_months(start, months) <= end < add_months(start, months + 1)
    else:
        assert months == 0


def test_pace_is_the_mean_within_one_standard_deviation() -> None:
    months = [Decimal(v) for v in ("100", "200", "300", "400", "500", "600")]
    result = saving_pace(months)
    assert result.monthly == Decimal("350.00")
    assert result.spread == Decimal("170.78")  # pstdev = 170.782...
    assert (result.low, result.high) == (Decimal("179.22"), Decimal("520.78"))
    assert result.months == tuple(months)


def test_no_history_is_no_pace() -> None:
    result = saving_pace([])
    assert result.monthly == result.low == result.high == 0
    forecast = forecast_completion(Decimal(0), Decimal(100), result, dt.date(2026, 1, 1))
    assert forecast.expected is forecast.earliest is forecast.latest is forecast.months_needed is None


@given(st.lists(cents, min_size=1, max_size=12))
def test_pace_band_brackets_the_mean(months: list[Decimal]) -> None:
    result = saving_pace(months)
    assert result.low <= result.monthly <= result.high
    assert result.high - result.monthly == result.monthly - result.low == result.spread
    assert abs(result.monthly - statistics.mean(months)) <= Decimal("0.005")
    assert result.monthly.as_tuple().exponent == -2


def test_forecast_rounds_months_up() -> None:
    forecast = forecast_completion(Decimal("250"), Decimal("1000"), pace("300", "100"), dt.date(2026, 1, 31))
    assert forecast.remaining == Decimal(750)
    assert forecast.months_needed == 3  # 2.5 months of saving
    assert forecast.expected == dt.date(2026, 4, 30)
    assert forecast.earliest == dt.date(2026, 3, 31)  # 750 / 400 -> 2
    assert forecast.latest == dt.date(2026, 5, 31)  # 750 / 200 -> 4


def test_pace_at_or_below_zero_gives_no_date() -> None:
    forecast = forecast_completion(Decimal(0), Decimal(100), pace("-20", "50"), dt.date(2026, 1, 1))
    assert forecast.expected is None and forecast.latest is None and forecast.months_needed is None
    assert forecast.earliest == dt.date(2026, 5, 1)  # the stronger months: 30 a month


def test_beyond_the_horizon_is_no_date() -> None:
    target = Decimal(FORECAST_HORIZON_MONTHS + 1)
    assert forecast_completion(Decimal(0), target, pace("1"), dt.date(2026, 1, 1)).expected is None
    assert forecast_completion(Decimal(1), target, pace("1"), dt.date(2026, 1, 1)).expected is not None
    assert forecast_completion(Decimal(0), Decimal(12), pace("1"), dt.date(9999, 6, 1)).expected is None


@given(amounts, amounts, cents, days)
def test_saved_at_or_above_target_is_completed_today(
    saved: Decimal, extra: Decimal, monthly: Decimal, today: dt.date
) -> None:
    forecast = forecast_completion(saved + extra, saved, pace(str(monthly)), today)
    assert forecast.completed and forecast.months_needed == 0
    assert forecast.expected == forecast.earliest == forecast.latest == today


def _not_before(a: dt.date | None, b: dt.date | None) -> bool:
    """a >= b where None is 'never' (after every date)."""
    return a is None or (b is not None and a >= b)


@given(amounts, amounts, cents, cents, days)
def test_completion_is_monotone_in_pace(
    saved: Decimal, target: Decimal, slow: Decimal, fast: Decimal, today: dt.date
) -> None:
    slow, fast = min(slow, fast), max(slow, fast)
    at_slow = forecast_completion(saved, target, pace(str(slow)), today)
    at_fast = forecast_completion(saved, target, pace(str(fast)), today)
    assert _not_before(at_slow.expected, at_fast.expected)


@given(amounts, amounts, st.lists(cents, min_size=1, max_size=12), days)
def test_band_order_and_never_before_today(
    saved: Decimal, target: Decimal, months: list[Decimal], today: dt.date
) -> None:
    forecast = forecast_completion(saved, target, saving_pace(months), today)
    for date in (forecast.earliest, forecast.expected, forecast.latest):
        assert date is None or date >= today
    assert _not_before(forecast.expected, forecast.earliest)
    assert _not_before(forecast.latest, forecast.expected)
    if forecast.months_needed is not None:
        assert forecast.expected == add_months(today, forecast.months_needed)
        # The pace saves enough in months_needed, not in one month fewer.
        assert forecast.pace.monthly * forecast.months_needed >= forecast.remaining
        assert forecast.pace.monthly * max(forecast.months_needed - 1, 0) < max(forecast.remaining, Decimal("0.001"))


def test_at_risk_carries_its_figures() -> None:
    today, target_date = dt.date(2026, 1, 15), dt.date(2026, 7, 1)
    forecast = forecast_completion(Decimal("100"), Decimal("1100"), pace("120"), today)
    assert forecast.expected == dt.date(2026, 10, 15)  # 1000 / 120 -> 9 months
    risk = at_risk(forecast, target_date)
    assert risk is not None
    assert risk.months_left == 5  # 15 Feb .. 15 Jun fit before 1 Jul
    assert risk.monthly_needed == Decimal("200.00")
    assert risk.shortfall == Decimal("400")  # 1000 - 5 * 120
    assert (risk.pace, risk.remaining, risk.expected) == (Decimal(120), Decimal(1000), dt.date(2026, 10, 15))
    assert at_risk(forecast, dt.date(2026, 10, 15)) is None
    assert at_risk(forecast, None) is None


def test_goals_ahead_come_first() -> None:
    today = dt.date(2026, 1, 15)
    alone = forecast_completion(Decimal(0), Decimal(300), pace("100"), today)
    behind = forecast_completion(Decimal(0), Decimal(300), pace("100"), today, ahead=Decimal(250))
    assert (alone.months_needed, behind.months_needed) == (3, 6)  # 300 / 100; (250 + 300) / 100
    assert behind.remaining == Decimal(300) and behind.to_save == Decimal(550)
    risk = at_risk(behind, dt.date(2026, 5, 15))
    assert risk is not None and (risk.months_left, risk.monthly_needed, risk.shortfall) == (
        4,
        Decimal("137.50"),
        Decimal(150),
    )
    # A goal that is full is complete whatever is ahead of it.
    assert forecast_completion(Decimal(300), Decimal(300), pace("0"), today, ahead=Decimal(250)).expected == today


def test_monthly_needed_rounds_up_and_no_month_left_needs_everything() -> None:
    forecast = forecast_completion(Decimal(0), Decimal(100), pace("10"), dt.date(2026, 1, 1))
    risk = at_risk(forecast, dt.date(2026, 4, 1))
    assert risk is not None and risk.monthly_needed == Decimal("33.34")
    risk = at_risk(forecast, dt.date(2026, 1, 20))
    assert risk is not None and (risk.months_left, risk.monthly_needed) == (0, Decimal(100))
    assert (
        at_risk(forecast_completion(Decimal(0), Decimal(100), pace("-5"), dt.date(2026, 1, 1)), dt.date(2030, 1, 1))
        is not None
    )


@given(amounts, amounts, cents, days, days, st.sampled_from([Decimal(0), Decimal("0.01"), Decimal(500)]))
def test_at_risk_exactly_when_not_on_track(
    saved: Decimal, target: Decimal, monthly: Decimal, today: dt.date, target_date: dt.date, ahead: Decimal
) -> None:
    forecast = forecast_completion(saved, target, pace(str(monthly)), today, ahead)
    risk = at_risk(forecast, target_date)
    assert (risk is not None) == (on_track(forecast, target_date) is False)
    if risk is not None:
        assert risk.shortfall > 0
        assert risk.monthly_needed > risk.pace or risk.months_left == 0  # then: all of it now
        assert risk.to_save == risk.ahead + risk.remaining
        assert risk.monthly_needed * max(risk.months_left, 1) >= risk.to_save
        # Saving monthly_needed a month would make the date.
        assert (
            on_track(forecast_completion(saved, target, pace(str(risk.monthly_needed)), today, ahead), target_date)
            or risk.months_left == 0
        )


def test_quantile_interpolates_like_the_standard_library() -> None:
    values = [Decimal(v) for v in ("1", "2", "4", "8", "16", "32")]
    assert quantile(values, Decimal("0.5")) == statistics.median(values)
    assert quantile(values, Decimal("0.75")) == statistics.quantiles(values, n=4, method="inclusive")[2]
    assert quantile([Decimal(5)], Decimal("0.75")) == 5


def test_safe_to_save_formula() -> None:
    incomes = [Decimal(v) for v in ("3000", "3000", "3200", "9000", "3100", "3000")]
    spendings = [Decimal(v) for v in ("2000", "2500", "2100", "2200", "2400", "2300")]
    result = safe_to_save(incomes, spendings, Decimal("5000"), Decimal("1000"), committed=Decimal("100"))
    assert result.typical_income == Decimal("3050.00")  # the bonus month does not count
    assert result.heavier_spending == Decimal("2375.00")
    assert result.surplus == Decimal("575.00")
    assert result.amount == Decimal("575.00") and result.limited_by == "surplus"
    assert any("3050.00" in line for line in result.explanation)
    low_balance = safe_to_save(incomes, spendings, Decimal("1200.50"), Decimal("1000"))
    assert low_balance.amount == Decimal("200.50") and low_balance.limited_by == "balance"
    assert safe_to_save(incomes, spendings, Decimal("900"), Decimal("1000")).amount == 0


def test_safe_to_save_without_history_is_zero() -> None:
    result = safe_to_save([], [Decimal(10)], Decimal(1000), Decimal(0))
    assert result.amount == 0 and result.limited_by == "history" and result.explanation


@pytest.mark.parametrize("committed", ["0", "10000"])
def test_overcommitted_month_is_zero(committed: str) -> None:
    result = safe_to_save([Decimal(1000)], [Decimal(900)], Decimal(5000), Decimal(0), Decimal(committed))
    assert result.amount == (Decimal(100) if committed == "0" else 0)


@given(st.lists(amounts, min_size=1, max_size=12), st.lists(amounts, min_size=1, max_size=12), cents, amounts, amounts)
def test_safe_to_save_is_never_negative_nor_above_the_balance(
    incomes: list[Decimal], spendings: list[Decimal], balance: Decimal, buffer: Decimal, committed: Decimal
) -> None:
    result = safe_to_save(incomes, spendings, balance, buffer, committed)
    assert 0 <= result.amount <= max(balance - buffer, Decimal(0))
    assert result.amount <= max(result.surplus, Decimal(0))
    assert result.heavier_spending >= min(spendings) and result.typical_income <= max(incomes)
    assert result.amount.as_tuple().exponent == -2
