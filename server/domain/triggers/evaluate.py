"""A parsed trigger condition evaluated for one account on one day, with the values it read
(docs/triggers.md#conditions). Pure: the caller hands the account's snapshot after the posting being
evaluated (apply_posting), the snapshot before it, and the customer's facts.

Cheap by construction, since the live path evaluates every active rule at every posting: the condition is
parsed once per rule version (never here) and compiled here once per condition object into closures (no
type dispatch or string building per evaluation), AND and OR stop at the first part that decides, and metric
values are memoised in an AccountMetrics per (snapshot, evaluation day) that the caller may share across
all the rules evaluated at one posting (one average over 30 days computed once for fifty rules); what
leaves of one shape compute alike whatever their threshold (a change and its percentage, the months of FOR
n MONTHS, a relative posting's base and percentage) is kept for the others at the same point. The values
read are kept as Decimals and formatted only when `Evaluation.values` is asked for (a firing's
explanation), not for the many evaluations that fire nothing.

Comparisons with percentages are exact (the sides are cross-multiplied, never divided); the percentages
shown in `values` are rounded half-up to 4 places. A metric without a value makes every comparison on
it false and shows as ""."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, cast

from server.domain.events import Posting
from server.domain.ingest.model import Direction
from server.domain.segments.evaluate import CustomerFacts
from server.domain.triggers.compiling import Programs, composed
from server.domain.triggers.condition import (
    AVERAGE_TRANSACTION_DAYS,
    MAX_WINDOW_DAYS,
    POSTING_WORDS,
    ChangeCompare,
    Condition,
    Metric,
    MetricCompare,
    MetricName,
    PostingCompare,
    RelativeTo,
    Window,
    WindowKind,
    first_required,
)
from server.domain.triggers.series import (
    EXACT,
    FOUR_PLACES,
    AccountSnapshot,
    average_collected_balance,
    collected_balance_on,
    min_balance,
    overdraft_count,
    posting_totals,
    previous_month,
)

_ONE_DAY = dt.timedelta(days=1)
_HUNDRED = Decimal(100)
# A DAYS window's reach back from its last day, made once (a timedelta per evaluation adds up).
_BACK = tuple(dt.timedelta(days=n) for n in range(MAX_WINDOW_DAYS))
_MISSING = object()

Reading = Decimal | None


def window_bounds(window: Window, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of a window evaluated on `as_of` (both included)."""
    if window.kind is WindowKind.DAYS:
        return as_of - _BACK[window.days - 1], as_of
    if window.kind is WindowKind.MONTH_TO_DATE:
        return as_of.replace(day=1), as_of
    return previous_month(as_of)


class AccountMetrics:
    """The metrics of one account snapshot evaluated on one day, each computed at most once. Share one
    across the rules evaluated for the same snapshot and day; never across snapshots."""

    __slots__ = ("_cache", "as_of", "by_text", "snapshot")

    def __init__(self, snapshot: AccountSnapshot, as_of: dt.date) -> None:
        self.snapshot = snapshot
        self.as_of = as_of
        self._cache: dict[tuple[MetricName, dt.date, dt.date], Reading] = {}
        self.by_text: dict[str, Reading] = {}  # now() by the metric's text: what compiled leaves look up

    def now(self, metric: Metric) -> Reading:
        """The metric's value on the evaluation day (last_month: over the last complete month)."""
        return self.at_end_of(metric, self.as_of)

    def at_end_of(self, metric: Metric, day: dt.date) -> Reading:
        """The metric's value as it stood at the end of `day` (the evaluation day: as it stands now)."""
        if metric.window is None:
            return self._point_value(metric.name, day)
        return self.over(metric.name, *window_bounds(metric.window, day))

    def over(self, name: MetricName, start: dt.date, end: dt.date) -> Reading:
        """A windowed metric over [start, end]."""
        key = (name, start, end)
        cached = self._cache.get(key, _MISSING)  # not try/except: most look-ups miss, and a raise costs
        if cached is not _MISSING:
            return cast(Reading, cached)
        snapshot = self.snapshot
        value: Reading
        if name is MetricName.AVERAGE_COLLECTED_BALANCE:
            value = average_collected_balance(snapshot, start, end)
        elif name is MetricName.MIN_BALANCE:
            value = min_balance(snapshot, start, end)
        elif name is MetricName.OVERDRAFT_COUNT:
            count = overdraft_count(snapshot, start, end)
            value = None if count is None else Decimal(count)
        else:
            raise ValueError(f"{name} has no window")
        self._cache[key] = value
        return value

    def _point_value(self, name: MetricName, day: dt.date) -> Reading:
        if day >= self.as_of:
            return self.snapshot.balance if name is MetricName.BALANCE else self.snapshot.available_balance
        if name is MetricName.BALANCE:
            return collected_balance_on(self.snapshot, day)
        return None  # the available balance of a past day is not kept


@dataclass(frozen=True)
class Evaluation:
    """Whether the condition held, and every metric it read: its canonical text -> value."""

    matched: bool
    read: Mapping[str, Reading] = field(default_factory=dict)

    @cached_property
    def values(self) -> Mapping[str, str]:
        """The values read as plain decimals ("" for a metric without a value): what ExplainFiring shows."""
        return {key: "" if value is None else format(value, "f") for key, value in self.read.items()}


def evaluate(condition: Condition, *, snapshot: AccountSnapshot, as_of: dt.date, posting: Posting | None,
             before: AccountSnapshot | None, facts: CustomerFacts,
             metrics: AccountMetrics | None = None) -> Evaluation:
    """Evaluate on `as_of` (a posting's: the `day` of the row apply_posting returned). `snapshot` is the
    account after `posting` (already applied); `before` the account just before it (None: derived from
    snapshot and posting). `posting` None (a re-check without one): every deposit/withdrawal leaf is false.
    `metrics`: a memo for this very snapshot and day, to share across rules (created when None)."""
    run = _Run(metrics if metrics is not None else AccountMetrics(snapshot, as_of), posting, before, facts)
    matched = compiled(condition)(run)
    return Evaluation(matched, run.read)


class PointEvaluation:
    """One account at one point (a posting, or a re-check without one) evaluated for many conditions, as
    `evaluate` would each: the metrics and the posting's context made once, each condition's readings
    kept apart. `test` answers whether a condition holds and what it read, without an Evaluation (made
    only for the few that fire)."""

    __slots__ = ("_run",)

    def __init__(self, snapshot: AccountSnapshot, as_of: dt.date, posting: Posting | None,
                 before: AccountSnapshot | None, facts: CustomerFacts) -> None:
        self._run = _Run(AccountMetrics(snapshot, as_of), posting, before, facts)

    def test(self, condition: Condition) -> tuple[bool, dict[str, Reading]]:
        return self.run(compiled(condition))

    def run(self, program: Program) -> tuple[bool, dict[str, Reading]]:
        """`test` of the condition `program` was compiled from (`compiled`: looked up once, not per point)."""
        run = self._run
        read: dict[str, Reading] = {}
        run.read = read
        return program(run), read


def required_direction(condition: Condition) -> Direction | None:
    """The direction a posting must go for the condition to hold at all (a `deposit`/`withdrawal`
    comparison it requires: itself, or a part of an AND), else None. A posting the other way, or no
    posting, makes the condition false without evaluating it."""
    return first_required(condition, lambda part: part.direction if isinstance(part, PostingCompare) else None)


# --- compiled conditions -------------------------------------------------------------------------------
# A condition becomes a tree of closures once (per condition object: a rule version's parse), so that an
# evaluation does no type dispatch, no string building and no window arithmetic beyond the day's own.

Program = Callable[["_Run"], bool]
def _compile_leaf(condition: Condition) -> Program:
    if isinstance(condition, MetricCompare) and not condition.months:
        return _compile_metric(condition)
    if isinstance(condition, MetricCompare):
        monthly = condition
        return lambda run: run.for_months(monthly)
    if isinstance(condition, ChangeCompare):
        return _compile_change(condition)
    if isinstance(condition, PostingCompare):
        posting = condition
        return lambda run: run.posting_holds(posting)
    raise TypeError(f"not a condition: {condition!r}")


compiled: Programs[Program] = Programs(lambda condition: composed(condition, _compile_leaf))
"""The condition compiled, for PointEvaluation.run (made once per condition object, then kept)."""


def _compile_change(leaf: ChangeCompare) -> Program:
    text = f"{leaf.metric}, {leaf.over})"
    change_text, percent_text = "change(" + text, "change_percent(" + text
    compare, amount, percent = leaf.comparator.test, leaf.amount, leaf.percent

    def change(run: _Run) -> bool:
        # The difference and its base are the same for every rule at this point that names this change.
        shared = run.shared
        key = ("change", text)
        if key in shared:
            difference, then = shared[key]
        else:
            difference, then = shared[key] = run.change_of(leaf)
        read = run.read
        read[change_text] = difference
        if difference is None:
            return False
        if not percent:
            return compare(difference, amount)
        if not then:
            read[percent_text] = None
            return False
        base = abs(then)
        percent_key = ("change_percent", text)
        if percent_key in shared:
            shown, scaled = shared[percent_key]
        else:
            shown, scaled = shared[percent_key] = _percent(difference, base), EXACT.multiply(difference, _HUNDRED)
        read[percent_text] = shown
        return compare(scaled, EXACT.multiply(amount, base))
    return change


def _compile_metric(leaf: MetricCompare) -> Program:
    metric, amount, compare, text = leaf.metric, leaf.amount, leaf.comparator.test, str(leaf.metric)
    if metric.name is MetricName.BALANCE:
        def balance(run: _Run) -> bool:
            value = run.metrics.snapshot.balance
            run.read[text] = value
            return compare(value, amount)
        return balance
    if metric.name is MetricName.AVAILABLE_BALANCE:
        def available(run: _Run) -> bool:
            value = run.metrics.snapshot.available_balance
            run.read[text] = value
            return compare(value, amount)
        return available

    def windowed(run: _Run) -> bool:
        metrics = run.metrics
        if text in metrics.by_text:
            value = metrics.by_text[text]
        else:
            value = metrics.by_text[text] = metrics.now(metric)
        run.read[text] = value
        return value is not None and compare(value, amount)
    return windowed


class _Run:
    __slots__ = ("before", "facts", "metrics", "posting", "read", "shared")

    def __init__(self, metrics: AccountMetrics, posting: Posting | None, before: AccountSnapshot | None,
                 facts: CustomerFacts) -> None:
        self.metrics = metrics
        self.posting = posting
        self.before = before
        self.facts = facts
        self.read: dict[str, Reading] = {}
        # What leaves compute alike whatever their threshold (a change, the months of FOR n MONTHS, a
        # posting's base), kept for the other rules evaluated at this point.
        self.shared: dict[tuple[object, ...], Any] = {}

    def for_months(self, leaf: MetricCompare) -> bool:
        """FOR n MONTHS: each of the last n complete calendar months on its own."""
        metric = leaf.metric
        compare = leaf.comparator.test
        key = ("months", metric.name, leaf.months)
        months = self.shared.get(key)
        if months is None:
            months = self.shared[key] = self._months(metric.name, leaf.months)
        for label, start, end in months:
            value = self.metrics.over(metric.name, start, end)
            self.read[label] = value
            if value is None or not compare(value, leaf.amount):
                return False
        return True

    def _months(self, name: MetricName, months: int) -> list[tuple[str, dt.date, dt.date]]:
        found = []
        for back in range(1, months + 1):
            start, end = previous_month(self.metrics.as_of, back)
            found.append((f"{name.value}({start.year:04d}-{start.month:02d})", start, end))
        return found

    def change_of(self, leaf: ChangeCompare) -> tuple[Reading, Reading]:
        """The change's difference (None: an end without a value) and the value it started from."""
        start, end = window_bounds(leaf.over, self.metrics.as_of)
        now = self.metrics.at_end_of(leaf.metric, end)
        then = self.metrics.at_end_of(leaf.metric, start - _ONE_DAY)
        if now is None or then is None:
            return None, then
        return now - then, then

    def posting_holds(self, leaf: PostingCompare) -> bool:
        word = POSTING_WORDS[leaf.direction]
        posting = self.posting
        if posting is None or posting.direction != leaf.direction:
            self.read[word] = None
            return False
        magnitude = posting.magnitude
        self.read[word] = magnitude
        compare = leaf.comparator.test
        if leaf.relative_to is None:
            return compare(magnitude, leaf.amount)
        key = ("posting", word, leaf.relative_to)
        shared = self.shared.get(key)
        if shared is None:
            shared = self.shared[key] = self._posting_base(word, leaf.relative_to, magnitude)
        readings, scaled, base = shared
        self.read.update(readings)
        # magnitude > P/100 * base (the balance before, or total/count), cross-multiplied.
        return scaled is not None and compare(scaled, EXACT.multiply(leaf.amount, base))

    def _posting_base(self, word: str, relative_to: RelativeTo, magnitude: Decimal
                      ) -> tuple[dict[str, Reading], Decimal | None, Decimal]:
        """What a posting compared relative to `relative_to` reads, the magnitude's side of the comparison
        (None: it cannot hold) and the base the percentage multiplies."""
        posting = self.posting
        assert posting is not None
        if relative_to is RelativeTo.BALANCE:
            base = (self.before.balance if self.before is not None
                    else posting.balance_after.amount - posting.amount.amount)
            return ({"balance_before_posting": base,
                     f"{word}_percent_of_balance": _percent(magnitude, base) if base else None},
                    EXACT.multiply(magnitude, _HUNDRED), base)
        count, total = self._earlier_postings(magnitude)
        if count <= 0:
            return {"average_transaction": None, f"{word}_percent_of_average_transaction": None}, None, total
        return ({"average_transaction": EXACT.divide(total, count).quantize(FOUR_PLACES, context=EXACT),
                 f"{word}_percent_of_average_transaction": (
                     _percent(EXACT.multiply(magnitude, count), total) if total else None)},
                EXACT.multiply(EXACT.multiply(magnitude, _HUNDRED), count), total)

    def _earlier_postings(self, magnitude: Decimal) -> tuple[int, Decimal]:
        """The account's postings before this one on the evaluation day and the 90 days before it: those
        of the snapshot after it, less itself (it counts on the evaluation day). Not read of the snapshot
        before it even when given: that one's running sums would be built a second time."""
        as_of = self.metrics.as_of
        start = as_of - dt.timedelta(days=AVERAGE_TRANSACTION_DAYS)
        count, total = posting_totals(self.metrics.snapshot, start, as_of)
        return count - 1, total - magnitude


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    """part as a percentage of whole, rounded half-up to 4 places (for showing; comparisons are exact)."""
    return EXACT.divide(EXACT.multiply(part, _HUNDRED), whole).quantize(FOUR_PLACES, context=EXACT)
