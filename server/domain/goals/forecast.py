"""Forecasts from the customer's own pace: when a goal will be reached, whether it is at risk, and how much
is safe to save this month. Pure: the caller passes the figures and `today`; every result carries the
figures it was made from, so an insight can explain itself.

Pace. The account's net saving (deposits - withdrawals) in each recent complete calendar month, oldest
first (the caller chooses how many; six is the intended window). The pace is their mean; the band is
the mean ± one (population) standard deviation of those months. Why this band: it always brackets the
mean, so earliest ≤ expected ≤ latest; it uses every month, where quartiles of six months interpolate
between two of them and can both sit on one side of a skewed mean; and one bonus or one holiday month
does not become the whole band, as it would with the minimum and maximum. It is deliberately wide:
it reads "if the coming months look like your weaker (stronger) recent months", not the narrower
uncertainty of an average. The low end is not clipped at 0: a low pace ≤ 0 is a true figure (weaker
months spend savings) and simply gives no latest date. The mean and the deviation are rounded half-up to
cents, and the band is built from the rounded figures, so what is shown adds up.

Completion. The money still to save is target - saved (0 when saved ≥ target: completed today). At a
monthly pace p > 0 it takes ceil(remaining / p) whole months, and the date is that many calendar months
after today (a month after 31 January is 28/29 February, see months.py). Whole months because savings
arrive monthly; rounding up because a goal is not reached by part of a month's saving. A pace ≤ 0 gives
no date ("not at this pace"), and so does a date more than FORECAST_HORIZON_MONTHS ahead.

Goals ahead. One account's pace feeds all its goals, and the allocation fills them in order (priority,
then oldest): a goal's money arrives only after the goals ahead of it are full. So a goal that is not
complete yet needs `ahead` (what the goals before it in that order still miss) + its own remaining, and
the months count that sum; the first goal, or a lone one, has nothing ahead. Whether a goal is complete
depends on its own saving only.

At risk (GOAL_AT_RISK). A goal with a target date is at risk when the expected date is after the target
date, or there is none. Months left = the whole months from today to the target date (the monthly
savings that still fit before it); the monthly amount needed is remaining / months left rounded UP to
the cent (so that it does make the date; all of the remaining when no whole month is left); the
shortfall is what the current pace leaves missing on the target date: to save - max(pace, 0) * months
left (to save = ahead + remaining, as above).

Safe to save. A conservative amount to move to goals this month:
    typical income    = median of the recent months' income (one bonus month does not raise it)
    heavier spending  = upper quartile of the recent months' spending (plan for a heavier month)
    surplus           = typical income - heavier spending - already committed this month
    available balance = current balance - safety buffer
    safe to save      = max(0, min(surplus, available balance))
Quartiles and medians interpolate linearly between the sorted months (Excel's QUARTILE.INC, Python's
statistics.quantiles(method="inclusive")) and are rounded half-up to cents; the rest is exact cents.
Without a month of income and spending the amount is 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from server.domain.goals.months import add_months, whole_months_between

CENT = Decimal("0.01")
ZERO = Decimal(0)
# A date further ahead than this says nothing a customer can plan with (and would leave the calendar
# for tiny paces): such a forecast is "not at this pace".
FORECAST_HORIZON_MONTHS = 100 * 12


def round_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class SavingPace:
    """Monthly net saving: `monthly` (the mean) within the band `low`..`high` (mean ∓ `spread`, one
    standard deviation), from `months` (the net saving of each month used, oldest first)."""

    monthly: Decimal
    low: Decimal
    high: Decimal
    spread: Decimal
    months: tuple[Decimal, ...]


def saving_pace(monthly_net_saving: Sequence[Decimal]) -> SavingPace:
    """The pace of an account from its net saving per complete calendar month, oldest first. No months:
    a pace of 0 (no date can be forecast)."""
    months = tuple(monthly_net_saving)
    if not months:
        return SavingPace(ZERO, ZERO, ZERO, ZERO, ())
    count = len(months)
    mean = sum(months, ZERO) / count
    variance = sum(((value - mean) ** 2 for value in months), ZERO) / count
    monthly, spread = round_cents(mean), round_cents(variance.sqrt())
    return SavingPace(monthly, monthly - spread, monthly + spread, spread, months)


@dataclass(frozen=True, slots=True)
class Forecast:
    """When `target` will be reached from `saved` at `pace`, as of `today`, after `ahead` for the goals
    before it. `months_needed` and `expected` are at the mean pace, `earliest` at the high end of the
    band, `latest` at the low end; each None when its pace is ≤ 0 or the date lies beyond the horizon."""

    today: dt.date
    saved: Decimal
    target: Decimal
    remaining: Decimal
    ahead: Decimal
    pace: SavingPace
    months_needed: int | None
    expected: dt.date | None
    earliest: dt.date | None
    latest: dt.date | None

    @property
    def completed(self) -> bool:
        return self.remaining == 0

    @property
    def to_save(self) -> Decimal:
        """What the pace must still bring before this goal is complete (0 once it is)."""
        return self.ahead + self.remaining if self.remaining else ZERO


def months_to_save(remaining: Decimal, monthly: Decimal) -> int | None:
    """Whole months to save `remaining` at `monthly` a month; None when never (or beyond the horizon)."""
    if remaining <= 0:
        return 0
    if monthly <= 0:
        return None
    months = int((remaining / monthly).to_integral_value(rounding=ROUND_CEILING))
    return months if months <= FORECAST_HORIZON_MONTHS else None


def completion_date(today: dt.date, months: int | None) -> dt.date | None:
    """`months` calendar months after today; None for None or past the calendar's end."""
    if months is None or today.year + (today.month - 1 + months) // 12 > dt.MAXYEAR:
        return None
    return add_months(today, months)


def forecast_completion(
    saved: Decimal, target: Decimal, pace: SavingPace, today: dt.date, ahead: Decimal = ZERO
) -> Forecast:
    remaining = max(target - saved, ZERO)
    to_save = ahead + remaining if remaining else ZERO
    months_needed = months_to_save(to_save, pace.monthly)
    expected = completion_date(today, months_needed)
    if expected is None:
        months_needed = None  # beyond the calendar: as good as never
    return Forecast(
        today=today,
        saved=saved,
        target=target,
        remaining=remaining,
        ahead=ahead,
        pace=pace,
        months_needed=months_needed,
        expected=expected,
        earliest=completion_date(today, months_to_save(to_save, pace.high)),
        latest=completion_date(today, months_to_save(to_save, pace.low)),
    )


def on_track(forecast: Forecast, target_date: dt.date | None) -> bool | None:
    """None without a target date; otherwise whether the goal is reached by then at the mean pace (a
    completed goal always is)."""
    if target_date is None:
        return None
    if forecast.completed:
        return True
    if forecast.expected is not None:
        return forecast.expected <= target_date
    # No date: not at this pace, or beyond the forecast's horizon, where a target date even further
    # out may still be made.
    pace = forecast.pace.monthly
    return pace > ZERO and pace * whole_months_between(forecast.today, target_date) >= forecast.to_save


@dataclass(frozen=True, slots=True)
class AtRisk:
    """GOAL_AT_RISK: at `pace` (monthly) the goal is expected on `expected` (None: not at this pace),
    after `target_date`. `months_left` whole months remain before it, in which `monthly_needed` a month
    would make it (for `to_save`: the goal's `remaining` after `ahead` for the goals before it); at the
    current pace `shortfall` would still be missing."""

    target_date: dt.date
    expected: dt.date | None
    pace: Decimal
    remaining: Decimal
    ahead: Decimal
    to_save: Decimal
    months_left: int
    monthly_needed: Decimal
    shortfall: Decimal


def at_risk(forecast: Forecast, target_date: dt.date | None) -> AtRisk | None:
    """The figures of GOAL_AT_RISK when the goal will miss its target date at the current pace, else None
    (no target date, completed, or on track)."""
    if target_date is None or on_track(forecast, target_date):
        return None
    months_left = whole_months_between(forecast.today, target_date)
    to_save = forecast.to_save
    if months_left:
        monthly_needed = (to_save / months_left).quantize(CENT, rounding=ROUND_CEILING)
    else:
        monthly_needed = to_save
    pace = forecast.pace.monthly
    shortfall = to_save - max(pace, ZERO) * months_left
    return AtRisk(
        target_date=target_date,
        expected=forecast.expected,
        pace=pace,
        remaining=forecast.remaining,
        ahead=forecast.ahead,
        to_save=to_save,
        months_left=months_left,
        monthly_needed=monthly_needed,
        shortfall=shortfall,
    )


def quantile(values: Sequence[Decimal], fraction: Decimal) -> Decimal:
    """The `fraction` quantile (0..1) of non-empty `values`, interpolated linearly between the sorted
    values (the inclusive method); not rounded."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    below = int(position)
    if below + 1 >= len(ordered):
        return ordered[-1]
    return ordered[below] + (ordered[below + 1] - ordered[below]) * (position - below)


@dataclass(frozen=True, slots=True)
class SafeToSave:
    """The amount safe to move to goals this month and every figure it came from; `limited_by` names the
    figure that set it ("surplus", "balance", or "history" when there was none), `explanation` lists
    them in words."""

    amount: Decimal
    typical_income: Decimal
    heavier_spending: Decimal
    committed: Decimal
    surplus: Decimal
    balance: Decimal
    buffer: Decimal
    available_balance: Decimal
    months: int
    limited_by: str
    explanation: tuple[str, ...]


MEDIAN = Decimal("0.5")
UPPER_QUARTILE = Decimal("0.75")


def safe_to_save(
    monthly_incomes: Sequence[Decimal],
    monthly_spendings: Sequence[Decimal],
    current_balance: Decimal,
    buffer: Decimal,
    committed: Decimal = ZERO,
) -> SafeToSave:
    """Income and spending per recent complete month (amounts ≥ 0), the current balance of the account
    the money would leave, the safety buffer to keep in it, and what is already committed to goals this
    month (transfers made or scheduled). The formula is in the module docstring."""
    available = current_balance - buffer
    months = min(len(monthly_incomes), len(monthly_spendings))
    if not months:
        lines: tuple[str, ...] = ("no complete month of income and spending yet: nothing is suggested",)
        return SafeToSave(ZERO, ZERO, ZERO, committed, ZERO, current_balance, buffer, available, 0, "history", lines)
    income = round_cents(quantile(monthly_incomes, MEDIAN))
    spending = round_cents(quantile(monthly_spendings, UPPER_QUARTILE))
    surplus = income - spending - committed
    limited_by = "surplus" if surplus <= available else "balance"
    amount = round_cents(max(min(surplus, available), ZERO))
    lines = (
        f"typical monthly income (median of {len(monthly_incomes)} months): {income}",
        f"heavier monthly spending (upper quartile of {len(monthly_spendings)} months): {spending}",
        f"already committed to goals this month: {committed}",
        f"surplus (income - spending - committed): {surplus}",
        f"balance {current_balance} above the safety buffer {buffer}: {available}",
        f"safe to save (the smaller, never below 0): {amount}",
    )
    return SafeToSave(
        amount, income, spending, committed, surplus, current_balance, buffer, available, months, limited_by, lines
    )
