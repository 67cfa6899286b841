"""The step-by-step replay of balance conditions, the reference for the backtest's array replay
(server.domain.triggers.vector_replay, which falls back to it for histories it does not cover): the same
firings as replay() (server.domain.triggers.replay), for a condition whose every leaf is `balance`,
`available_balance`, `min_balance(w)` or `average_collected_balance(w)` compared with any comparator (also
FOR n MONTHS), under AND, OR and NOT (`supports`). Such a condition reads balances only, so an account is
kept as whole ten-thousandths (server.domain.money) in the live evaluation's ScaledAccount
(server.domain.triggers.scaled_series), not as Posting objects and immutable Decimal snapshots: the
general replay's cost was those objects, a Decimal sum per window and a snapshot per posting.

What it mirrors, step for step, so that a divergence is a bug (tests/unit/test_trigger_scaled_replay.py
and tests/integration/test_trigger_backtest_prefilter.py compare the two on random histories and rules):
- the order of happenings (postings at their account's running latest posted_at, a fed balance at the end
  of its day, the daily re-check at `daily_at` before the postings of its day) and the skips that cannot
  change a result (a dormant account's repeated re-check, a last-month condition in the same month);
- apply_posting (a posting booked before the latest row counts on that row) and apply_fed_balance;
- the metrics of server.domain.triggers.series: the collected balance carried over quiet days, days before
  the first known balance not counted, the average rounded half-up to 4 places, the minimum over each day's
  lowest balances and the balance carried into the window;
- evaluate's reading order (AND and OR stop at the first part that decides), its values and decide_fire.
A stored amount is a whole number of ten-thousandths, and from_scaled gives every such Decimal four places,
so a value shown here is the very text the general replay shows."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, cast

from server.domain.money import SCALED_PER_UNIT, from_scaled
from server.domain.segments.expression import Comparator
from server.domain.triggers.condition import (
    AllOf,
    AnyOf,
    Condition,
    MetricCompare,
    MetricName,
    Negation,
    WindowKind,
    history_days,
    is_calendar_dependent,
)
from server.domain.triggers.evaluate import window_bounds
from server.domain.triggers.firing import ConditionKind, Firing, decide_fire
from server.domain.triggers.replay import FED_BALANCE, POSTING_MADE, changes_monthly_only, ordered_happenings
from server.domain.triggers.scaled_series import ScaledAccount, ScaledDay
from server.domain.triggers.series import previous_month

_READ = (MetricName.BALANCE, MetricName.AVAILABLE_BALANCE, MetricName.MIN_BALANCE,
         MetricName.AVERAGE_COLLECTED_BALANCE)


class ScaledPosting(NamedTuple):
    """A posting as the balance conditions read it: its balance after it and signed amount, scaled."""

    transaction_id: str
    posted_at: dt.datetime
    booking_date: dt.date  # the UTC date of posted_at
    after: int
    amount: int


@dataclass(frozen=True)
class ScaledHistory:
    """One account to replay, as replay's AccountHistory holds it: `opening` its balance before the first
    posting given, counted as the collected balance of `opening_day` (None: unknown until its first posting
    or fed balance); `held` what lies between its balance and its available balance; its postings in the
    order they moved the balance, its fed end-of-day balances (day, balance) and the last day to replay."""

    account_id: str
    customer_id: str
    opening: int
    held: int
    opening_day: dt.date | None
    postings: Sequence[ScaledPosting] = ()
    fed_balances: Sequence[tuple[dt.date, int]] = ()
    last_day: dt.date | None = None


def supports(condition: Condition) -> bool:
    """Whether scaled_replay can replay the condition: balance leaves under AND, OR and NOT."""
    match condition:
        case AllOf(parts) | AnyOf(parts):
            return all(supports(part) for part in parts)
        case Negation(part):
            return supports(part)
        case MetricCompare(metric):
            return metric.name in _READ
    return False


@dataclass(frozen=True)
class Prepared:
    """A condition made ready for scaled_replay (prepare): compiled, whether it is re-checked daily, whether
    only a new month changes it, the days it reads, and itself (what vector_replay compiles)."""

    program: _Program
    daily: bool
    monthly: bool
    reach: int
    condition: Condition


def prepare(condition: Condition) -> Prepared:
    """Once per backtest: the backtest replays a customer at a time, each with the same condition."""
    if not supports(condition):
        raise ValueError("scaled_replay replays balance conditions only")
    return Prepared(_compile(condition), is_calendar_dependent(condition), changes_monthly_only(condition),
                    history_days(condition), condition)


def scaled_replay(condition: Condition | Prepared, histories: Iterable[ScaledHistory], *, start: dt.date,
                  end: dt.date, cooldown: dt.timedelta, daily_at: dt.time = dt.time(0)) -> Iterator[Firing]:
    """replay(condition, the same histories, prefilter=False) for a condition `supports` takes (or prepared)."""
    prepared = condition if isinstance(condition, Prepared) else prepare(condition)
    by_customer: dict[str, list[tuple[ScaledHistory, dt.date]]] = {}
    for history in histories:
        until = end if history.last_day is None else min(end, history.last_day)
        replayed = by_customer.setdefault(history.customer_id, [])
        if until >= start:
            replayed.append((history, until))
    plan = _Plan(prepared.program, prepared.daily, prepared.monthly, prepared.reach, start, end, cooldown, daily_at)
    for replayed in by_customer.values():
        if replayed:
            yield from _replay_customer(plan, replayed)


@dataclass(frozen=True)
class _Plan:
    program: _Program
    daily: bool
    monthly: bool
    reach: int
    start: dt.date
    end: dt.date
    cooldown: dt.timedelta
    daily_at: dt.time


class _Account(ScaledAccount):
    """One account's day series as apply_posting and apply_fed_balance keep it (the live evaluation's
    ScaledAccount), from the history's opening: a row for the day before the period with the opening
    balance when that balance is known."""

    __slots__ = ()

    def __init__(self, history: ScaledHistory) -> None:
        day = history.opening_day
        rows: list[ScaledDay] = ([] if day is None else
                                 [(day, history.opening, None, history.opening, 0, 0, False)])
        super().__init__(history.opening, -history.held, rows)

# --- the condition compiled over _Account -------------------------------------------------------------
# (account, evaluation day, its ordinal, the values read: None when only the result is wanted)

_Reads = dict[str, int | None]
_Program = Callable[[_Account, dt.date, int, _Reads | None], bool]


def _compile(condition: Condition) -> _Program:
    if isinstance(condition, AllOf):
        parts = tuple(_compile(part) for part in condition.parts)

        def all_of(account: _Account, as_of: dt.date, ordinal: int, read: _Reads | None) -> bool:
            for part in parts:
                if not part(account, as_of, ordinal, read):
                    return False
            return True
        return all_of
    if isinstance(condition, AnyOf):
        options = tuple(_compile(part) for part in condition.parts)

        def any_of(account: _Account, as_of: dt.date, ordinal: int, read: _Reads | None) -> bool:
            for option in options:
                if option(account, as_of, ordinal, read):
                    return True
            return False
        return any_of
    if isinstance(condition, Negation):
        inner = _compile(condition.part)
        return lambda account, as_of, ordinal, read: not inner(account, as_of, ordinal, read)
    assert isinstance(condition, MetricCompare)
    return _compile_leaf(condition)


def _compile_leaf(leaf: MetricCompare) -> _Program:
    passes: Callable[[int], bool] = scaled_test(leaf.comparator, leaf.amount)
    metric, text = leaf.metric, str(leaf.metric)
    if metric.name in (MetricName.BALANCE, MetricName.AVAILABLE_BALANCE):
        offset = metric.name is MetricName.AVAILABLE_BALANCE

        def balance(account: _Account, as_of: dt.date, ordinal: int, read: _Reads | None) -> bool:
            value = account.available if offset else account.balance
            if read is not None:
                read[text] = value
            return passes(value)
        return balance
    over = _Account.average if metric.name is MetricName.AVERAGE_COLLECTED_BALANCE else _Account.minimum
    window = metric.window
    assert window is not None
    if leaf.months:
        months, name = leaf.months, metric.name.value

        def for_months(account: _Account, as_of: dt.date, ordinal: int, read: _Reads | None) -> bool:
            for back in range(1, months + 1):
                first, last = previous_month(as_of, back)
                value = over(account, first.toordinal(), last.toordinal())
                if read is not None:
                    read[f"{name}({first.year:04d}-{first.month:02d})"] = value
                if value is None or not passes(value):
                    return False
            return True
        return for_months
    if window.kind is WindowKind.DAYS:
        back = window.days - 1

        def last_days(account: _Account, as_of: dt.date, ordinal: int, read: _Reads | None) -> bool:
            value = over(account, ordinal - back, ordinal)
            if read is not None:
                read[text] = value
            return value is not None and passes(value)
        return last_days

    def windowed(account: _Account, as_of: dt.date, ordinal: int, read: _Reads | None) -> bool:
        first, last = window_bounds(window, as_of)
        value = over(account, first.toordinal(), last.toordinal())
        if read is not None:
            read[text] = value
        return value is not None and passes(value)
    return windowed


def scaled_test(comparator: Comparator, amount: Decimal) -> Callable[[Any], Any]:
    """The comparison of a scaled value with `amount`, exact: against a whole number t such that `v cmp t`
    exactly when `v cmp amount * 10^4` for every whole v. Bitwise & and | rather than `and`/`or`, so that it
    takes a numpy array of values as well (vector_replay) as one int."""
    exact = amount * SCALED_PER_UNIT
    below, above = math.floor(exact), math.ceil(exact)
    match comparator:
        case Comparator.LT:
            return lambda value: value < above
        case Comparator.LE:
            return lambda value: value <= below
        case Comparator.GT:
            return lambda value: value > below
        case Comparator.GE:
            return lambda value: value >= above
        case Comparator.EQ:
            return lambda value: (value == below) & (below == above)
    return lambda value: (value != below) | (below != above)


# --- the replay of one customer ----------------------------------------------------------------------


def _replay_customer(plan: _Plan, replayed: list[tuple[ScaledHistory, dt.date]]) -> Iterator[Firing]:
    histories = [history for history, _ in replayed]
    until = [last for _, last in replayed]
    happenings = ordered_happenings(histories, until, plan.start, plan.daily_at if plan.daily else None)
    start, end, reach, monthly, program = plan.start, plan.end, plan.reach, plan.monthly, plan.program

    accounts = [_Account(history) for history in histories]
    previously_true = [False] * len(accounts)
    evaluated_month: list[tuple[int, int] | None] = [None] * len(accounts)
    settled: list[int | None] = [None] * len(accounts)
    last_fired_at: dt.datetime | None = None

    def decide(index: int, at: dt.datetime, as_of: dt.date, transaction_id: str | None,
               fed: bool = False) -> Firing | None:
        nonlocal last_fired_at
        if monthly:
            month = (as_of.year, as_of.month)
            if evaluated_month[index] == month and not fed:
                return None
            evaluated_month[index] = month
        account = accounts[index]
        if transaction_id is None and not fed:
            latest_day = account.latest_day()
            if latest_day is None or as_of.toordinal() - latest_day >= reach:
                if settled[index] == account.version:
                    return None
                settled[index] = account.version
        ordinal = as_of.toordinal()
        matched = program(account, as_of, ordinal, None)
        fires = decide_fire(ConditionKind.STATE, previously_true[index], matched, last_fired_at, plan.cooldown, at)
        previously_true[index] = matched
        if not fires:
            return None
        last_fired_at = at
        read: _Reads = {}  # the same evaluation again, for the values it read (a few firings, many evaluations)
        program(account, as_of, ordinal, read)
        history = histories[index]
        return Firing(history.account_id, history.customer_id, as_of, at, transaction_id,
                      {text: "" if value is None else format(from_scaled(value), "f") for text, value in read.items()})

    for at, what, _, index, payload in happenings:
        firing: Firing | None = None
        if what == POSTING_MADE:
            assert isinstance(payload, ScaledPosting)
            day = dt.date.fromordinal(accounts[index].apply_posting(payload.after, payload.amount,
                                                                     payload.booking_date.toordinal()))
            if start <= day <= end:
                firing = decide(index, at, day, payload.transaction_id)
        elif what == FED_BALANCE:
            fed_day, balance = cast(tuple[dt.date, int], payload)
            account = accounts[index]
            account.apply_fed_balance(fed_day.toordinal(), balance)
            if start <= fed_day <= end:
                row_day = account.latest_day()
                as_of = fed_day if row_day is None else max(fed_day, dt.date.fromordinal(row_day))
                firing = decide(index, at, as_of, None, fed=True)
        else:
            assert isinstance(payload, dt.date)
            for account_index in range(len(accounts)):
                if payload > until[account_index]:
                    continue
                firing = decide(account_index, at, payload, None)
                if firing is not None:
                    yield firing
            firing = None
        if firing is not None:
            yield firing
