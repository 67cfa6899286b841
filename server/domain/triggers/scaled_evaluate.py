"""Whether a condition holds for an account at a posting, decided on its ScaledAccount (whole
ten-thousandths): what server.domain.triggers.evaluate decides, without its Decimals. The live evaluation
asks this of every rule at every posting, and builds the Decimal snapshot only for a rule that fires, whose
values `evaluate` then reads (the very values and text it always showed: ScaledPoint.readings).

Compiled once per condition object into closures, as `evaluate.compiled`: AND and OR stop at the first part
that decides, and what leaves of one shape compute alike (a metric over a window, a change, the months of
FOR n MONTHS, a posting's base) is computed once per point for every rule. Every comparison is exact: an
amount (at most 4 decimal places, as the parser takes it) is scaled to a whole number, and percentages
are cross-multiplied in integers, as evaluate does in Decimals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

from server.domain.ingest.model import Direction
from server.domain.money import SCALED_PER_UNIT, to_scaled
from server.domain.segments.evaluate import CustomerFacts
from server.domain.triggers.compiling import MOST_PROGRAMS, Programs, composed
from server.domain.triggers.condition import (
    AVERAGE_TRANSACTION_DAYS,
    ChangeCompare,
    Condition,
    Metric,
    MetricCompare,
    MetricName,
    PostingCompare,
    RelativeTo,
    Window,
    WindowKind,
)
from server.domain.triggers.evaluate import PointEvaluation, Program, Reading, window_bounds
from server.domain.triggers.scaled_series import ScaledAccount
from server.domain.triggers.series import previous_month

ScaledProgram = Callable[["ScaledPoint"], bool]
_PERCENT_SCALE = 100 * SCALED_PER_UNIT  # magnitude x 100 against percent x base, both sides scaled
_MONTHS: dict[tuple[dt.date, int], tuple[tuple[int, int], ...]] = {}  # _month_bounds' by (day, months)
_UNKNOWN = object()  # not yet in ScaledPoint.shared (where None is a value)
# The windowed metrics over the days [first, last] (ordinals), by name. The average summed over the window's
# rows: a point's account is read for a posting or two, and its running sums would cost more to build.
_WINDOWED: dict[MetricName, Callable[[ScaledAccount, int, int], int | None]] = {
    MetricName.AVERAGE_COLLECTED_BALANCE: ScaledAccount.average_of_rows, MetricName.MIN_BALANCE: ScaledAccount.minimum,
    MetricName.OVERDRAFT_COUNT: ScaledAccount.overdraft_count}


class ScaledPoint:
    """One account at one posting, for every rule evaluated there: the account after the posting, the
    evaluation day, the posting's scaled magnitude and the balance before it, the customer's facts and what
    leaves of one shape share. `readings`: the Decimal evaluation of a condition at the same point (made
    on first use, from `decimal_point`), for the values a firing shows."""

    __slots__ = ("_decimal", "_decimal_point", "account", "as_of", "before", "direction", "facts", "magnitude",
                 "ordinal", "shared")

    def __init__(self, account: ScaledAccount, as_of: dt.date, direction: Direction, magnitude: int, before: int,
                 facts: CustomerFacts, decimal_point: Callable[[], PointEvaluation]) -> None:
        self.account = account
        self.as_of = as_of
        self.ordinal = as_of.toordinal()
        self.direction = direction  # the posting's, and its magnitude and the balance before it, scaled
        self.magnitude = magnitude
        self.before = before
        self.facts = facts
        self.shared: dict[object, Any] = {}
        self._decimal_point = decimal_point
        self._decimal: PointEvaluation | None = None

    def holds(self, program: ScaledProgram) -> bool:
        return program(self)

    def readings(self, program: Program) -> tuple[bool, dict[str, Reading]]:
        """The Decimal evaluation of the condition `program` was compiled from (evaluate.compiled), at this
        point: whether it holds and the values it read. The Decimal point is made once, on first use."""
        if self._decimal is None:
            self._decimal = self._decimal_point()
        return self._decimal.run(program)

    def over(self, name: MetricName, first: int, last: int) -> int | None:
        """A windowed metric over the days [first, last] (ordinals), once per point."""
        key = (name, first, last)
        shared = self.shared
        if key in shared:
            return shared[key]  # type: ignore[no-any-return]
        value = _WINDOWED[name](self.account, first, last)
        shared[key] = value
        return value

    def at_end_of(self, metric: Metric, day: dt.date) -> int | None:
        """evaluate.AccountMetrics.at_end_of: the metric as it stood at the end of `day` (now, for the
        evaluation day); scaled, or a count for overdraft_count."""
        if metric.window is None:
            if day >= self.as_of:
                account = self.account
                return account.balance if metric.name is MetricName.BALANCE else account.available
            return self.account.collected_on(day.toordinal()) if metric.name is MetricName.BALANCE else None
        first, last = window_bounds(metric.window, day)
        return self.over(metric.name, first.toordinal(), last.toordinal())


def _compile_leaf(condition: Condition) -> ScaledProgram:
    if isinstance(condition, MetricCompare):
        return _compile_months(condition) if condition.months else _compile_metric(condition)
    if isinstance(condition, ChangeCompare):
        return _compile_change(condition)
    if isinstance(condition, PostingCompare):
        return _compile_posting(condition)
    raise TypeError(f"not a condition: {condition!r}")


def scaled_program(condition: Condition) -> ScaledProgram:
    """The condition compiled for ScaledPoint.holds, afresh: for one made on the fly (a family's loosest
    leaf, server.domain.triggers.guards), which the cache below would keep for nothing."""
    return composed(condition, _compile_leaf)


scaled_compiled: Programs[ScaledProgram] = Programs(scaled_program)
"""The condition compiled for ScaledPoint.holds (made once per condition object, then kept)."""


def _threshold(leaf: MetricCompare) -> tuple[Callable[[Any, Any], bool], int]:
    """The leaf's comparison and the number it compares a value with: a count for overdraft_count, else the
    amount scaled (exact: the amount has at most 4 decimal places)."""
    compare = leaf.comparator.test
    if leaf.metric.name is MetricName.OVERDRAFT_COUNT:
        return compare, int(leaf.amount)  # a whole number (the parser's rule)
    return compare, to_scaled(leaf.amount)


def _compile_metric(leaf: MetricCompare) -> ScaledProgram:
    compare, threshold = _threshold(leaf)
    metric = leaf.metric
    if metric.name is MetricName.BALANCE:
        return lambda point: compare(point.account.balance, threshold)
    if metric.name is MetricName.AVAILABLE_BALANCE:
        return lambda point: compare(point.account.available, threshold)
    window, name = metric.window, metric.name
    assert window is not None
    if window.kind is WindowKind.DAYS:
        back, key, measure = window.days - 1, ("last days", name, window.days), _WINDOWED[name]

        def last_days(point: ScaledPoint) -> bool:
            # Kept by a key made once here (not a window's bounds per call), the metric asked of the account
            # directly: `over` would keep it again.
            shared = point.shared
            value = shared.get(key, _UNKNOWN)
            if value is _UNKNOWN:
                ordinal = point.ordinal
                value = shared[key] = measure(point.account, ordinal - back, ordinal)
            return value is not None and compare(value, threshold)
        return last_days

    def windowed(point: ScaledPoint) -> bool:
        first, last = window_bounds(window, point.as_of)
        value = point.over(name, first.toordinal(), last.toordinal())
        return value is not None and compare(value, threshold)
    return windowed


def _compile_months(leaf: MetricCompare) -> ScaledProgram:
    """FOR n MONTHS: each of the last n complete calendar months on its own."""
    compare, threshold = _threshold(leaf)
    name, months = leaf.metric.name, leaf.months
    # Month k back's value by a key made once here (the rules of this shape share them at a point), the
    # months' bounds worked out only by the first of them to ask.
    keys = tuple(enumerate(("month", name, back) for back in range(1, months + 1)))

    def for_months(point: ScaledPoint) -> bool:
        shared = point.shared
        for index, key in keys:
            value = shared.get(key, _UNKNOWN)
            if value is _UNKNOWN:
                first, last = _month_bounds(point.as_of, months)[index]
                value = shared[key] = point.over(name, first, last)
            if value is None or not compare(value, threshold):
                return False
        return True
    return for_months


def _month_bounds(as_of: dt.date, months: int) -> tuple[tuple[int, int], ...]:
    """The first and last days (ordinals) of the `months` complete months before as_of's, latest first: kept
    per day (a batch's postings fall on a day or two, and the calendar's arithmetic is slow)."""
    key = (as_of, months)
    known = _MONTHS.get(key)
    if known is None:
        if len(_MONTHS) >= MOST_PROGRAMS:
            _MONTHS.clear()
        known = _MONTHS[key] = tuple((first.toordinal(), last.toordinal())
                                     for first, last in (previous_month(as_of, back) for back in range(1, months + 1)))
    return known


def _compile_change(leaf: ChangeCompare) -> ScaledProgram:
    compare, amount, percent = leaf.comparator.test, to_scaled(leaf.amount), leaf.percent
    metric, over, key = leaf.metric, leaf.over, ("change", str(leaf.metric), str(leaf.over))

    measured = _balance_change(over.days) if over.kind is WindowKind.DAYS and metric.name is MetricName.BALANCE \
        else partial(_metric_change, metric, over)

    def change(point: ScaledPoint) -> bool:
        shared = point.shared
        known = shared.get(key)
        if known is None:
            known = shared[key] = measured(point)
        difference, then = known
        if difference is None:
            return False
        if not percent:
            return compare(difference, amount)
        if not then:
            return False
        # difference x 100 <cmp> P x |then|, each side times 10^8 (both values and P scaled)
        return compare(difference * _PERCENT_SCALE, amount * (then if then >= 0 else -then))
    return change


def _metric_change(metric: Metric, over: Window, point: ScaledPoint) -> tuple[int | None, int | None]:
    """The metric's change over the window (None: a value unknown) and its value before the window."""
    first, last = window_bounds(over, point.as_of)
    now = point.at_end_of(metric, last)
    then = point.at_end_of(metric, first - dt.timedelta(days=1))
    return None if now is None or then is None else now - then, then


def _balance_change(days: int) -> Callable[[ScaledPoint], tuple[int | None, int | None]]:
    """_metric_change of the balance over the last `days` days, in ordinals (the usual change; no dates
    made at every posting): the balance now, and the collected balance the day before the window."""
    def balance_change(point: ScaledPoint) -> tuple[int | None, int | None]:
        account = point.account
        then = account.collected_on(point.ordinal - days)
        return None if then is None else account.balance - then, then
    return balance_change


def _compile_posting(leaf: PostingCompare) -> ScaledProgram:
    direction, compare, amount, relative_to = leaf.direction, leaf.comparator.test, to_scaled(leaf.amount), \
        leaf.relative_to
    if relative_to is None:
        return lambda point: point.direction is direction and compare(point.magnitude, amount)
    if relative_to is RelativeTo.BALANCE:
        # magnitude x 100 <cmp> P x the balance before, each side times 10^8
        return lambda point: point.direction is direction and compare(point.magnitude * _PERCENT_SCALE,
                                                                      amount * point.before)

    def of_average(point: ScaledPoint) -> bool:
        if point.direction is not direction:
            return False
        shared = point.shared
        earlier = shared.get("earlier postings")
        if earlier is None:
            # The account's postings before this one in the evaluation day and the 90 days before it.
            count, total = point.account.posting_totals(point.ordinal - AVERAGE_TRANSACTION_DAYS, point.ordinal)
            earlier = shared["earlier postings"] = (count - 1, total - point.magnitude)
        count, total = earlier
        # magnitude x 100 x count <cmp> P x total, each side times 10^8
        return count > 0 and compare(point.magnitude * _PERCENT_SCALE * count, amount * total)
    return of_average
