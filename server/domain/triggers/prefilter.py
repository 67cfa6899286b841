"""The backtest's pre-filter: for one account's history, the last evaluation day on which the condition can
still hold, so replay drops what follows it (and the account itself when that day is before the period).

A condition gives a bound when it requires some balance value to lie on one side of a threshold:
- `balance`, `min_balance(w)` or `average_collected_balance(w)` compared with <, <=, > or >= X (also with
  FOR n MONTHS) can hold on day d only if some balance the account had, or carried, in the days its window
  reads (d - history_days + 1 .. d, at least d itself) passes the same comparison with X. A mean of values
  that all fail it fails it too, and so does a minimum; an average is rounded to 4 places, so it is tested
  with X moved by 0.0001 the loose way;
- AND: the earliest of its parts' bounds; OR: the latest, only when every part has one; anything else
  (NOT, =, !=, change, overdraft_count, available_balance, deposit, withdrawal, segment) gives none.

An account's balance values are its opening snapshot's (balance and rows), each posting's balance after it
and before it (balance after minus amount), and its fed balances. Let T be the last day holding a value
that passes (the opening's values count on its latest row's day), and C the booking date of the account's
first posting booked after T. From C on, every row, the carried collected balance and the current balance
are values that fail; a window that begins after C reads no other, so the last day the condition can hold
is C + history_days - 1 (the re-check at 00:00 of day C still sees the balance carried from before C).
With no posting after T there is no bound.

This holds when each posting counts on its own booking date, which apply_posting guarantees when the
account's postings come in posted_at order and none is booked before the opening's latest row; otherwise
the account gets no bound (full replay). The backtest service has the database find, for each leaf's
test, T and C from the stored rows (TriggerBacktestRepository.threshold_days) and combines them here
(leaf_bound, combined_bound), so that only the postings up to the day are read; replay bounds a history
that comes without a day from its BalanceTrail."""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from server.domain.segments.expression import Comparator
from server.domain.triggers.condition import (
    AllOf,
    AnyOf,
    Condition,
    MetricCompare,
    MetricName,
    history_days,
)

if TYPE_CHECKING:
    from server.domain.triggers.replay import AccountHistory

Number = Decimal | int
_ROUNDING = Decimal("0.0001")  # the average's rounding, taken whole to be safe
_BOUNDED = (MetricName.BALANCE, MetricName.MIN_BALANCE, MetricName.AVERAGE_COLLECTED_BALANCE)
# What each comparator does to two numbers, or to two SQL expressions (the store's bound).
COMPARISONS: dict[Comparator, Callable[[Any, Any], Any]] = {
    Comparator.LT: operator.lt, Comparator.LE: operator.le, Comparator.GT: operator.gt, Comparator.GE: operator.ge}


@dataclass(frozen=True)
class ThresholdTest:
    """What a bounded leaf asks of one balance value: that it passes `comparator` against `threshold` (the
    leaf's amount, moved for the average's rounding). `reach`: the days the leaf's window reads (at least 1)."""

    comparator: Comparator
    threshold: Decimal
    reach: int

    def passes(self, value: Number) -> bool:
        return bool(COMPARISONS[self.comparator](value, self.threshold))

    def scaled_threshold(self, scale: int) -> int:
        """The whole number t such that, for every whole v, `v comparator t` exactly when `v comparator
        threshold * scale` (for values counted in 1/scale units, as the store's scaled integers)."""
        exact = self.threshold * scale
        below = math.floor(exact)
        return below if self.comparator in (Comparator.LE, Comparator.GT) else math.ceil(exact)


@dataclass(frozen=True)
class BalanceTrail:
    """What the pre-filter reads of an account: the values its opening snapshot holds with the day each
    counts on, the day of the opening's latest row, each posting's (posted_at, booking day, balance after,
    signed amount) in the order they moved the balance, and the fed balances (day, balance)."""

    opening: Sequence[tuple[dt.date, Number]]
    opening_latest_day: dt.date | None
    postings: Sequence[tuple[dt.datetime, dt.date, Number, Number]]
    fed: Sequence[tuple[dt.date, Number]] = ()


def trail_of(history: AccountHistory) -> BalanceTrail:
    opening = history.opening
    values: list[tuple[dt.date, Number]] = [(opening.latest_day or dt.date.min, opening.balance)]
    for row in opening.days:
        values += [(row.day, value) for value in (row.closing_balance, row.fed_balance, row.min_balance)
                   if value is not None]
    postings = [(p.posted_at, p.booking_date, p.balance_after.amount, p.amount.amount) for p in history.postings]
    return BalanceTrail(values, opening.latest_day, postings, history.fed_balances)


def last_possible_day(condition: Condition, trail: BalanceTrail) -> dt.date | None:
    """The last evaluation day on which `condition` can hold for the account; None: no bound is known."""
    if not _in_booking_order(trail):
        return None
    return combined_bound(condition, lambda test: _leaf_bound(trail, test))


def can_bound(condition: Condition) -> bool:
    """Whether the condition gives a bound at all (for an account with no balance passing, the earliest day)."""
    return combined_bound(condition, lambda test: dt.date.min) is not None


def threshold_tests(condition: Condition) -> tuple[ThresholdTest, ...]:
    """The distinct tests of the leaves under AND and OR, the ones combined_bound may ask the bound of."""
    test = _test_of(condition)
    if test is not None:
        return (test,)
    if isinstance(condition, AllOf | AnyOf):
        return tuple(dict.fromkeys(test for part in condition.parts for test in threshold_tests(part)))
    return ()


def leaf_bound(last: dt.date | None, first_after: dt.date | None, reach: int) -> dt.date | None:
    """A leaf's bound from the last day holding a value that passes its test (None: no such day) and the
    booking day of the first posting after that day (None: no such posting); see the module's docstring."""
    if last is None:
        return dt.date.min  # never: before any period
    if first_after is None:
        return None
    return first_after + dt.timedelta(days=reach - 1)


def combined_bound(condition: Condition, bound_of: Callable[[ThresholdTest], dt.date | None]) -> dt.date | None:
    """The condition's bound from its leaves' (`bound_of` a leaf's test): AND the earliest, OR the latest when
    every part has one."""
    test = _test_of(condition)
    if test is not None:
        return bound_of(test)
    match condition:
        case AllOf(parts):
            bounds = [b for b in (combined_bound(p, bound_of) for p in parts) if b is not None]
            return min(bounds) if bounds else None
        case AnyOf(parts):
            found = [combined_bound(p, bound_of) for p in parts]
            return None if any(b is None for b in found) else max(b for b in found if b is not None)
    return None


def _test_of(condition: Condition) -> ThresholdTest | None:
    match condition:
        case MetricCompare(metric, comparator, amount) if metric.name in _BOUNDED and comparator in COMPARISONS:
            if metric.name is MetricName.AVERAGE_COLLECTED_BALANCE:
                amount = amount + _ROUNDING if comparator in (Comparator.LT, Comparator.LE) else amount - _ROUNDING
            return ThresholdTest(comparator, amount, max(1, history_days(condition)))
    return None


def _leaf_bound(trail: BalanceTrail, test: ThresholdTest) -> dt.date | None:
    last: dt.date | None = None  # the last day holding a value that passes
    for day, value in (*trail.opening, *trail.fed):
        if test.passes(value) and (last is None or day > last):
            last = day
    for _, day, after, amount in trail.postings:
        if (test.passes(after) or test.passes(after - amount)) and (last is None or day > last):
            last = day
    first_after = None if last is None else next((day for _, day, _, _ in trail.postings if day > last), None)
    return leaf_bound(last, first_after, test.reach)


def _in_booking_order(trail: BalanceTrail) -> bool:
    """Whether each posting counts on its own booking date (see the module's docstring)."""
    previous: dt.datetime | None = None
    latest = trail.opening_latest_day
    for posted_at, day, _, _ in trail.postings:
        if previous is not None and posted_at < previous:
            return False
        if latest is not None and day < latest:
            return False
        previous = posted_at
    return True
