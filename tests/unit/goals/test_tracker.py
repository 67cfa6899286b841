import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from server.domain import events
from server.domain.goals import model
from server.domain.goals.forecast import SavingPace, forecast_completion, on_track
from server.domain.goals.tracker import progress_percent, tracker, tracker_line

amounts = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False)
targets = st.decimals(min_value="0.01", max_value=10**7, places=2, allow_nan=False, allow_infinity=False)
cents = st.decimals(min_value=-(10**5), max_value=10**5, places=2, allow_nan=False, allow_infinity=False)
days = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))
TODAY = dt.date(2026, 1, 31)


def pace(monthly: str) -> SavingPace:
    return SavingPace(Decimal(monthly), Decimal(monthly), Decimal(monthly), Decimal(0), ())


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str = "USD"


@dataclass(frozen=True)
class Goal:
    goal_id: str
    name: str
    saved: Decimal
    target: Money
    target_date: dt.date | None = None
    status: str = "ACTIVE"


def goal(goal_id: str, saved: str, target: str, target_date: dt.date | None = None, status: str = "ACTIVE") -> Goal:
    return Goal(goal_id, f"goal {goal_id}", Decimal(saved), Money(Decimal(target)), target_date, status)


def test_percent_rounds_half_up_to_a_tenth_and_100_means_reached() -> None:
    assert progress_percent(Decimal("1"), Decimal("3")) == Decimal("33.3")
    assert progress_percent(Decimal("0.0005"), Decimal("1")) == Decimal("0.1")  # 0.05 -> 0.1
    assert progress_percent(Decimal("0.0004"), Decimal("1")) == Decimal("0.0")
    assert progress_percent(Decimal("99.96"), Decimal("100")) == Decimal("99.9")
    assert progress_percent(Decimal("100"), Decimal("100")) == Decimal("100.0")
    assert progress_percent(Decimal("250"), Decimal("100")) == Decimal("100.0")
    assert progress_percent(Decimal("0"), Decimal("100")) == Decimal("0.0")


@given(amounts, targets)
def test_percent_bounds(saved: Decimal, target: Decimal) -> None:
    percent = progress_percent(saved, target)
    assert Decimal(0) <= percent <= Decimal(100)
    assert percent.as_tuple().exponent == -1
    assert (percent == 100) == (saved >= target)
    if saved < target:
        assert abs(percent - saved * 100 / target) <= Decimal("0.1")


def test_a_line_carries_the_figures() -> None:
    line = tracker_line(
        "g1",
        "Car",
        "ACTIVE",
        Decimal("400"),
        Decimal("1000"),
        dt.date(2026, 6, 30),
        Decimal("150.25"),
        pace("200"),
        TODAY,
    )
    assert (line.goal_id, line.name, line.status) == ("g1", "Car", "ACTIVE")
    assert (line.saved, line.target, line.percent, line.period_cash_flow) == (
        Decimal(400),
        Decimal(1000),
        Decimal("40.0"),
        Decimal("150.25"),
    )
    assert (line.months_needed, line.projected_completion, line.on_track) == (3, dt.date(2026, 4, 30), True)
    late = tracker_line(
        "g1", "Car", "ACTIVE", Decimal("400"), Decimal("1000"), dt.date(2026, 3, 31), Decimal(0), pace("200"), TODAY
    )
    assert late.on_track is False
    no_date = tracker_line("g1", "Car", "ACTIVE", Decimal("400"), Decimal("1000"), None, Decimal(0), pace("0"), TODAY)
    assert (no_date.projected_completion, no_date.on_track) == (None, None)


def test_goals_are_projected_in_allocation_order() -> None:
    goals = [
        goal("first", "100", "500", dt.date(2026, 6, 1)),
        goal("full", "200", "200"),
        goal("gone", "0", "9999", status="ARCHIVED"),
        goal("second", "0", "300", dt.date(2026, 6, 1)),
    ]
    lines = tracker(goals, {"first": Decimal("50"), "second": Decimal("-20")}, pace("100"), TODAY)
    assert [line.goal_id for line in lines] == ["first", "full", "gone", "second"]
    first, full, gone, second = lines
    assert (first.months_needed, first.projected_completion, first.on_track) == (4, dt.date(2026, 5, 31), True)
    assert (full.months_needed, full.projected_completion, full.percent) == (0, TODAY, Decimal("100.0"))
    assert (gone.projected_completion, gone.on_track, gone.months_needed) == (None, None, None)
    # 400 still missing ahead of it, then its own 300: seven months, after its target date.
    assert (second.months_needed, second.projected_completion, second.on_track) == (7, dt.date(2026, 8, 31), False)
    assert (first.period_cash_flow, full.period_cash_flow, second.period_cash_flow) == (
        Decimal(50),
        Decimal(0),
        Decimal(-20),
    )


def test_model_goals_are_tracked() -> None:
    at = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    car = model.Goal("g1", "c1", "a1", "Car", model.GoalCategory.CAR, events.Money(Decimal(1000), "EUR"),
                     dt.date(2026, 12, 31), 1, model.GoalStatus.ACTIVE, Decimal(250), at)  # fmt: skip
    (line,) = tracker([car], {}, pace("250"), TODAY)
    assert (line.goal_id, line.name, line.status, line.percent) == ("g1", "Car", "ACTIVE", Decimal("25.0"))
    assert (line.projected_completion, line.on_track) == (dt.date(2026, 4, 30), True)


@given(amounts, targets, cents, days, st.none() | days, amounts)
def test_line_agrees_with_the_forecast(
    saved: Decimal, target: Decimal, monthly: Decimal, today: dt.date, target_date: dt.date | None, ahead: Decimal
) -> None:
    line = tracker_line("g", "n", "ACTIVE", saved, target, target_date, Decimal(0), pace(str(monthly)), today, ahead)
    forecast = forecast_completion(saved, target, pace(str(monthly)), today, ahead)
    assert line.projected_completion == forecast.expected
    assert line.months_needed == forecast.months_needed
    assert line.on_track == on_track(forecast, target_date)
