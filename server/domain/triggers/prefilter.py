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
the account gets no bound (full replay)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

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

_ROUNDING = Decimal("0.0001")  # the average's rounding, taken whole to be safe
_BOUNDED = (MetricName.BALANCE, MetricName.MIN_BALANCE, MetricName.AVERAGE_COLLECTED_BALANCE)
_TESTS: dict[Comparator, Callable[[Decimal, Decimal], bool]] = {
    Comparator.LT: lambda value, x: value < x, Comparator.LE: lambda value, x: value <= x,
    Comparator.GT: lambda value, x: value > x, Comparator.GE: lambda value, x: value >= x}


def last_possible_day(condition: Condition, history: AccountHistory) -> dt.date | None:
    """The last evaluation day on which `condition` can hold for the account; None: no bound is known."""
    if not _in_booking_order(history):
        return None
    return _bound(condition, history)


def _bound(condition: Condition, history: AccountHistory) -> dt.date | None:
    match condition:
        case MetricCompare(metric, comparator, amount) if metric.name in _BOUNDED and comparator in _TESTS:
            threshold = amount
            if metric.name is MetricName.AVERAGE_COLLECTED_BALANCE:
                threshold = amount + _ROUNDING if comparator in (Comparator.LT, Comparator.LE) else amount - _ROUNDING
            test = _TESTS[comparator]
            return _leaf_bound(history, lambda value: test(value, threshold), max(1, history_days(condition)))
        case AllOf(parts):
            bounds = [b for b in (_bound(p, history) for p in parts) if b is not None]
            return min(bounds) if bounds else None
        case AnyOf(parts):
            found = [_bound(p, history) for p in parts]
            return None if any(b is None for b in found) else max(b for b in found if b is not None)
    return None


def _leaf_bound(history: AccountHistory, passes: Callable[[Decimal], bool], reach: int) -> dt.date | None:
    last_passing: dt.date | None = None
    for day, value in _values(history):
        if passes(value) and (last_passing is None or day > last_passing):
            last_passing = day
    if last_passing is None:
        return dt.date.min  # never: before any period
    for posting in history.postings:
        day = posting.booking_date
        if day > last_passing:
            return day + dt.timedelta(days=reach - 1)
    return None


def _values(history: AccountHistory) -> Iterator[tuple[dt.date, Decimal]]:
    """Every balance value the account's series or current balance can hold, with the day it counts on."""
    opening = history.opening
    opening_day = opening.latest_day or dt.date.min
    yield opening_day, opening.balance
    for row in opening.days:
        for value in (row.closing_balance, row.fed_balance, row.min_balance):
            if value is not None:
                yield row.day, value
    for posting in history.postings:
        after = posting.balance_after.amount
        yield posting.booking_date, after
        yield posting.booking_date, after - posting.amount.amount
    yield from history.fed_balances


def _in_booking_order(history: AccountHistory) -> bool:
    """Whether each posting counts on its own booking date (see the module's docstring)."""
    previous = None
    latest = history.opening.latest_day
    for posting in history.postings:
        if previous is not None and posting.posted_at < previous:
            return False
        if latest is not None and posting.booking_date < latest:
            return False
        previous = posting.posted_at
    return True
