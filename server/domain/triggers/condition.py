"""The typed AST of a trigger condition, its canonical text (`render`: what it gives back parses to an
equal tree) and what the runtime needs to know of a condition before evaluating it: whether it is an
event condition, whether the calendar alone can change it, and how many days of history it reads.

A leaf is a metric condition (MetricCompare, ChangeCompare, PostingCompare) or one segment condition
(SegmentLeaf: a Comparison, InSet, Between, IsSet or Holds of server.domain.segments.expression, never an
And/Or/Not: the trigger language composes leaves itself). Reference: docs/triggers.md#conditions."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from server.domain.ingest.model import Direction
from server.domain.segments.expression import NO_SPAN, Comparator, Expression, Span
from server.domain.segments.expression import render as render_expression

T = TypeVar("T")

MAX_WINDOW_DAYS = 366
MAX_FOR_MONTHS = 12
# The most days a calendar month spans: a month window reaches at most this far back from its last day.
_MONTH_DAYS = 31
# average_transaction: the mean magnitude of the account's postings in the 90 days before the posting.
AVERAGE_TRANSACTION_DAYS = 90


class WindowKind(enum.StrEnum):
    DAYS = "DAYS"  # the N days ending with the evaluation day, that day included
    MONTH_TO_DATE = "MONTH_TO_DATE"  # the calendar month of the evaluation day, up to that day
    LAST_MONTH = "LAST_MONTH"  # the last complete calendar month


@dataclass(frozen=True)
class Window:
    kind: WindowKind
    days: int = 0  # for DAYS: 1..366

    def __str__(self) -> str:
        match self.kind:
            case WindowKind.DAYS:
                return f"{self.days}d"
            case WindowKind.MONTH_TO_DATE:
                return "month"
        return "last_month"

    @property
    def reach_days(self) -> int:
        """How many days back from the evaluation day (that day included) the window can begin."""
        match self.kind:
            case WindowKind.DAYS:
                return self.days
            case WindowKind.MONTH_TO_DATE:
                return _MONTH_DAYS
        return 2 * _MONTH_DAYS  # the month to date, then the whole month before it


class MetricName(enum.StrEnum):
    BALANCE = "balance"
    AVAILABLE_BALANCE = "available_balance"
    AVERAGE_COLLECTED_BALANCE = "average_collected_balance"
    MIN_BALANCE = "min_balance"
    OVERDRAFT_COUNT = "overdraft_count"

    @property
    def windowed(self) -> bool:
        return self not in (MetricName.BALANCE, MetricName.AVAILABLE_BALANCE)


@dataclass(frozen=True)
class Metric:
    name: MetricName
    window: Window | None = None  # None for BALANCE and AVAILABLE_BALANCE, given for the others

    def __str__(self) -> str:
        return self.name.value if self.window is None else f"{self.name.value}({self.window})"


class RelativeTo(enum.StrEnum):
    BALANCE = "BALANCE"  # the account's balance just before the posting
    AVERAGE_TRANSACTION = "AVERAGE_TRANSACTION"  # mean posting magnitude over the 90 days before


# compare=False on spans: two trees are equal whatever text they came from (a parse of render(c) equals c).
@dataclass(frozen=True)
class MetricCompare:
    """`metric <cmp> amount`, or `metric(last_month) <cmp> amount FOR n MONTHS` (held in each of the
    last n complete calendar months). `overdraft` is MetricCompare(Metric(BALANCE), LT, 0)."""

    metric: Metric
    comparator: Comparator
    amount: Decimal  # a whole number for OVERDRAFT_COUNT
    months: int = 0  # FOR n MONTHS; 0: not given
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class ChangeCompare:
    """`change(metric, over) <cmp> amount[%]`: the metric's value now minus its value at the end of the
    day before the window `over`; with `percent`, that difference as a percentage of the earlier value."""

    metric: Metric  # BALANCE or AVERAGE_COLLECTED_BALANCE(window)
    over: Window
    comparator: Comparator
    amount: Decimal
    percent: bool = False
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class PostingCompare:
    """`deposit|withdrawal <cmp> amount`: the posting being evaluated goes that way and its magnitude
    compares so; with `relative_to`, `amount` is a percentage P and the magnitude is compared with P/100 of
    the account's balance just before the posting, or of its average transaction."""

    direction: Direction  # CREDIT for deposit, DEBIT for withdrawal
    comparator: Comparator
    amount: Decimal
    relative_to: RelativeTo | None = None
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class SegmentLeaf:
    """One segment condition on the customer, evaluated by server.domain.segments.evaluate."""

    expression: Expression  # a single condition: Comparison, InSet, Between, IsSet or Holds
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]  # two or more
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]  # two or more
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Negation:
    part: Condition
    span: Span = field(default=NO_SPAN, compare=False)


Leaf = MetricCompare | ChangeCompare | PostingCompare | SegmentLeaf
Condition = Leaf | AllOf | AnyOf | Negation

POSTING_WORDS = {Direction.CREDIT: "deposit", Direction.DEBIT: "withdrawal"}
RELATIVE_WORDS = {RelativeTo.BALANCE: "balance", RelativeTo.AVERAGE_TRANSACTION: "average_transaction"}


def render_amount(amount: Decimal) -> str:
    return format(amount, "f")


def render(condition: Condition) -> str:
    """The canonical text: keywords upper case, metric words lower case, one space around operators,
    parentheses only where a group is nested in another (an AND inside an OR too, for the reader)."""
    match condition:
        case MetricCompare(metric, comparator, amount, months):
            text = f"{metric} {comparator.value} {render_amount(amount)}"
            if months:
                text += f" FOR {months} {'MONTH' if months == 1 else 'MONTHS'}"
            return text
        case ChangeCompare(metric, over, comparator, amount, percent):
            return f"change({metric}, {over}) {comparator.value} {render_amount(amount)}{'%' if percent else ''}"
        case PostingCompare(direction, comparator, amount, relative_to):
            text = f"{POSTING_WORDS[direction]} {comparator.value} {render_amount(amount)}"
            return text if relative_to is None else f"{text}% OF {RELATIVE_WORDS[relative_to]}"
        case SegmentLeaf(expression):
            return render_expression(expression)
        case Negation(part):
            inner = render(part)
            return f"NOT ({inner})" if isinstance(part, AllOf | AnyOf) else f"NOT {inner}"
        case AllOf(parts):
            return " AND ".join(_grouped(p) for p in parts)
        case AnyOf(parts):
            return " OR ".join(_grouped(p) for p in parts)
    raise TypeError(f"not a condition: {condition!r}")


def _grouped(part: Condition) -> str:
    return f"({render(part)})" if isinstance(part, AllOf | AnyOf) else render(part)


def leaves(condition: Condition) -> tuple[Leaf, ...]:
    """The leaves, left to right."""
    match condition:
        case Negation(part):
            return leaves(part)
        case AllOf(parts) | AnyOf(parts):
            return tuple(leaf for p in parts for leaf in leaves(p))
    return (condition,)  # every other member of Condition is a Leaf


def first_required(condition: Condition, found: Callable[[Condition], T | None]) -> T | None:
    """What `found` gives of a part the condition cannot hold without: the condition itself, else the first
    part of a top-level AND (and so on down) that gives something; None when none does."""
    if isinstance(condition, AllOf):
        for part in condition.parts:
            value = first_required(part, found)
            if value is not None:
                return value
        return None
    return found(condition)


def is_event_condition(condition: Condition) -> bool:
    """Whether it names deposit or withdrawal: evaluated at a posting only, and fires on every posting
    that makes it true. Any other condition is a state condition and fires on the crossing."""
    return any(isinstance(leaf, PostingCompare) for leaf in leaves(condition))


def is_calendar_dependent(condition: Condition) -> bool:
    """A state condition that reads a window (Nd, month, last_month, FOR, change): the day changing can
    change it without a posting, so the daily re-check evaluates it for every audience account."""
    if is_event_condition(condition):
        return False
    return any(isinstance(leaf, ChangeCompare) or (isinstance(leaf, MetricCompare) and leaf.metric.window)
               for leaf in leaves(condition))


def history_days(condition: Condition) -> int:
    """How many days of the account's day series, ending with the evaluation day (included), the
    condition can read: the most any of its leaves reads (month windows counted as 31 days each). The
    carried balance of the day before the earliest of them is the series reader's concern. 0: none."""
    return max((_leaf_history_days(leaf) for leaf in leaves(condition)), default=0)


def _leaf_history_days(leaf: Leaf) -> int:
    match leaf:
        case MetricCompare(metric, _, _, months):
            if metric.window is None:
                return 0
            return _MONTH_DAYS * (months + 1) if months else metric.window.reach_days
        case ChangeCompare(metric, over):
            # The value at the end of the day before `over`: a balance that day, or an average ending then.
            before = metric.window.reach_days if metric.window is not None else 1
            return over.reach_days + before
        case PostingCompare(_, _, _, RelativeTo.AVERAGE_TRANSACTION):
            return AVERAGE_TRANSACTION_DAYS + 1
    return 0
