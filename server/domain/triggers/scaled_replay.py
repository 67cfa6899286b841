"""The backtest's fast replay for balance conditions: the same firings as replay() (server.domain.triggers.
replay), for a condition whose every leaf is `balance`, `available_balance`, `min_balance(w)` or
`average_collected_balance(w)` compared with any comparator (also FOR n MONTHS), under AND, OR and NOT
(`supports`). Such a condition reads balances only, so an account is kept as whole ten-thousandths
(server.domain.money) in a few mutable lists, not as Posting objects and immutable Decimal snapshots: the
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
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple, cast

from server.domain.money import SCALED_PER_UNIT, from_scaled
from server.domain.segments.expression import Comparator
from server.domain.triggers.condition import (
    AllOf,
    AnyOf,
    Condition,
    MetricCompare,
    MetricName,
    Negation,
    history_days,
    is_calendar_dependent,
)
from server.domain.triggers.evaluate import window_bounds
from server.domain.triggers.firing import ConditionKind, Firing, decide_fire
from server.domain.triggers.replay import changes_monthly_only
from server.domain.triggers.series import previous_month

_ONE_DAY = dt.timedelta(days=1)
_FED, _DAILY, _POSTING = 0, 1, 2  # replay's order of things happening at the same instant
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


def scaled_replay(condition: Condition, histories: Iterable[ScaledHistory], *, start: dt.date, end: dt.date,
                  cooldown: dt.timedelta, daily_at: dt.time = dt.time(0)) -> Iterator[Firing]:
    """replay(condition, the same histories, prefilter=False) for a condition `supports` takes."""
    if not supports(condition):
        raise ValueError("scaled_replay replays balance conditions only")
    by_customer: dict[str, list[tuple[ScaledHistory, dt.date]]] = {}
    for history in histories:
        until = end if history.last_day is None else min(end, history.last_day)
        replayed = by_customer.setdefault(history.customer_id, [])
        if until >= start:
            replayed.append((history, until))
    program = _compile(condition)
    plan = _Plan(program, is_calendar_dependent(condition), changes_monthly_only(condition),
                 history_days(condition), start, end, cooldown, daily_at)
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


class _Account:
    """One account's day series as apply_posting and apply_fed_balance keep it, mutable and scaled: a row per
    day with a posting or a fed balance (its ordinal, balance after its last posting, fed balance, lowest
    balance of its postings), and the running sums of the closed rows (every row but the latest) that make
    a window's average two look-ups (series._RunningSums)."""

    __slots__ = ("available_offset", "balance", "closing", "counted", "days", "fed", "low", "sums", "totals",
                 "valid", "version")

    def __init__(self, history: ScaledHistory) -> None:
        self.balance = history.opening
        self.available_offset = history.held
        day = history.opening_day
        self.days: list[int] = [] if day is None else [day.toordinal()]
        self.closing: list[int | None] = [] if day is None else [history.opening]
        self.fed: list[int | None] = [] if day is None else [None]
        self.low: list[int | None] = [] if day is None else [history.opening]
        # Entry i, for row i: the collected balance in effect from its day, and the sum of counted days'
        # collected balances and the counted days before it. Valid for the first `valid` rows, all closed.
        self.sums: list[int | None] = []
        self.totals: list[int] = []
        self.counted: list[int] = []
        self.valid = 0
        self.version = 0  # moves with every change: a re-check of an unchanged dormant account is skipped

    def latest_day(self) -> int | None:
        return self.days[-1] if self.days else None

    def apply_posting(self, posting: ScaledPosting) -> int:
        """The posting applied (apply_posting); returns the ordinal of the day it counts on."""
        after = posting.after
        opening = after - posting.amount
        low = opening if opening < after else after
        days = self.days
        day = posting.booking_date.toordinal()
        if days and days[-1] >= day:
            day = days[-1]
            last = self.low[-1]
            self.low[-1] = last if last is not None and last < low else low
            self.closing[-1] = after
        else:
            days.append(day)
            self.closing.append(after)
            self.fed.append(None)
            self.low.append(low)
        self.balance = after
        self.version += 1
        return day

    def apply_fed_balance(self, day: dt.date, balance: int) -> None:
        ordinal = day.toordinal()
        index = bisect_left(self.days, ordinal)
        if index < len(self.days) and self.days[index] == ordinal:
            self.fed[index] = balance
        else:
            self.days.insert(index, ordinal)
            self.closing.insert(index, None)
            self.fed.insert(index, balance)
            self.low.insert(index, None)
        if self.valid > index:  # entries from the row changed on depend on it
            self.valid = index
            del self.sums[index:], self.totals[index:], self.counted[index:]
        self.version += 1

    def _collected(self, index: int) -> int | None:
        fed = self.fed[index]
        return fed if fed is not None else self.closing[index]

    def _entry(self, index: int) -> tuple[int | None, int, int]:
        """Entry `index`, cached (with those before it) when its row is closed."""
        if index < self.valid:
            return self.sums[index], self.totals[index], self.counted[index]
        closed = len(self.days) - 1
        while self.valid < index:
            self._append_entry()
        if index < closed:
            self._append_entry()
            return self.sums[index], self.totals[index], self.counted[index]
        return self._next_entry(index)  # the latest row's, which its postings keep changing

    def _append_entry(self) -> None:
        carried, total, counted = self._next_entry(self.valid)
        self.sums.append(carried)
        self.totals.append(total)
        self.counted.append(counted)
        self.valid += 1

    def _next_entry(self, index: int) -> tuple[int | None, int, int]:
        """Entry `index` from entry index - 1 (which must be cached)."""
        own = self._collected(index)
        if index == 0:
            return own, 0, 0
        carried, total, counted = self.sums[index - 1], self.totals[index - 1], self.counted[index - 1]
        if carried is not None:
            gap = self.days[index] - self.days[index - 1]
            total += carried * gap
            counted += gap
        return (own if own is not None else carried), total, counted

    def sums_before(self, ordinal: int) -> tuple[int | None, int, int]:
        """Over the days before the day `ordinal`: the collected balance in effect on the last of them, the
        sum of the counted days' collected balances and the counted days (series._sums_before)."""
        days = self.days
        if not days or days[0] >= ordinal:
            return None, 0, 0
        index = bisect_left(days, ordinal) - 1
        carried, total, counted = self._entry(index)
        if carried is not None:
            span = ordinal - days[index]
            total += carried * span
            counted += span
        return carried, total, counted

    def average(self, first: dt.date, last: dt.date) -> int | None:
        _, total_before, counted_before = self.sums_before(first.toordinal())
        _, total, counted = self.sums_before(last.toordinal() + 1)
        if counted == counted_before:
            return None
        return _divide_half_up(total - total_before, counted - counted_before)

    def minimum(self, first: dt.date, last: dt.date) -> int | None:
        lowest = self.sums_before(first.toordinal())[0]
        days = self.days
        for index in range(bisect_left(days, first.toordinal()), bisect_right(days, last.toordinal())):
            low, fed = self.low[index], self.fed[index]
            value = fed if low is None else low if fed is None or low < fed else fed
            if value is not None and (lowest is None or value < lowest):
                lowest = value
        return lowest


def _divide_half_up(total: int, count: int) -> int:
    """total / count rounded half away from zero to a whole number: the average's rounding to 4 places of
    Decimals with 4 (EXACT's 80 digits leave no second rounding for a divisor of a few hundred)."""
    quotient, remainder = divmod(abs(total), count)
    if 2 * remainder >= count:
        quotient += 1
    return quotient if total >= 0 else -quotient


# --- the condition compiled over _Account -------------------------------------------------------------

_Reads = dict[str, int | None]
_Program = Callable[[_Account, dt.date, _Reads], bool]


def _compile(condition: Condition) -> _Program:
    if isinstance(condition, AllOf):
        parts = tuple(_compile(part) for part in condition.parts)

        def all_of(account: _Account, as_of: dt.date, read: _Reads) -> bool:
            for part in parts:
                if not part(account, as_of, read):
                    return False
            return True
        return all_of
    if isinstance(condition, AnyOf):
        options = tuple(_compile(part) for part in condition.parts)

        def any_of(account: _Account, as_of: dt.date, read: _Reads) -> bool:
            for option in options:
                if option(account, as_of, read):
                    return True
            return False
        return any_of
    if isinstance(condition, Negation):
        inner = _compile(condition.part)
        return lambda account, as_of, read: not inner(account, as_of, read)
    assert isinstance(condition, MetricCompare)
    return _compile_leaf(condition)


def _compile_leaf(leaf: MetricCompare) -> _Program:
    passes = _scaled_test(leaf.comparator, leaf.amount)
    metric, text = leaf.metric, str(leaf.metric)
    if metric.name is MetricName.BALANCE:
        def balance(account: _Account, as_of: dt.date, read: _Reads) -> bool:
            read[text] = account.balance
            return passes(account.balance)
        return balance
    if metric.name is MetricName.AVAILABLE_BALANCE:
        def available(account: _Account, as_of: dt.date, read: _Reads) -> bool:
            value = read[text] = account.balance - account.available_offset
            return passes(value)
        return available
    over = _Account.average if metric.name is MetricName.AVERAGE_COLLECTED_BALANCE else _Account.minimum
    window = metric.window
    assert window is not None
    if leaf.months:
        months, name = leaf.months, metric.name.value

        def for_months(account: _Account, as_of: dt.date, read: _Reads) -> bool:
            for back in range(1, months + 1):
                first, last = previous_month(as_of, back)
                value = read[f"{name}({first.year:04d}-{first.month:02d})"] = over(account, first, last)
                if value is None or not passes(value):
                    return False
            return True
        return for_months

    def windowed(account: _Account, as_of: dt.date, read: _Reads) -> bool:
        value = read[text] = over(account, *window_bounds(window, as_of))
        return value is not None and passes(value)
    return windowed


def _scaled_test(comparator: Comparator, amount: Decimal) -> Callable[[int], bool]:
    """The comparison of a scaled value with `amount`, exact: against a whole number t such that `v cmp t`
    exactly when `v cmp amount * 10^4` for every whole v."""
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
            return lambda value: below == above and value == below
    return lambda value: below != above or value != below


# --- the replay of one customer ----------------------------------------------------------------------


def _replay_customer(plan: _Plan, replayed: list[tuple[ScaledHistory, dt.date]]) -> Iterator[Firing]:
    histories = [history for history, _ in replayed]
    until = [last for _, last in replayed]
    happenings: list[tuple[dt.datetime, int, int, int, object]] = []
    sequence = 0
    for index, history in enumerate(histories):
        latest: dt.datetime | None = None
        for posting in history.postings:
            if posting.booking_date > until[index]:
                break
            latest = posting.posted_at if latest is None or posting.posted_at > latest else latest
            happenings.append((latest, _POSTING, sequence, index, posting))
            sequence += 1
        for day, balance in history.fed_balances:
            if day <= until[index]:
                happenings.append((_at(day + _ONE_DAY, dt.time(0)), _FED, sequence, index, (day, balance)))
                sequence += 1
    start, end, reach, monthly, program = plan.start, plan.end, plan.reach, plan.monthly, plan.program
    if plan.daily:
        day = start
        while day <= max(until):
            happenings.append((_at(day, plan.daily_at), _DAILY, 0, -1, day))
            day += _ONE_DAY
    happenings.sort()  # (time, what, sequence) never tie

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
        read: _Reads = {}
        matched = program(account, as_of, read)
        fires = decide_fire(ConditionKind.STATE, previously_true[index], matched, last_fired_at, plan.cooldown, at)
        previously_true[index] = matched
        if not fires:
            return None
        last_fired_at = at
        history = histories[index]
        return Firing(history.account_id, history.customer_id, as_of, at, transaction_id,
                      {text: "" if value is None else format(from_scaled(value), "f") for text, value in read.items()})

    for at, what, _, index, payload in happenings:
        firing: Firing | None = None
        if what == _POSTING:
            assert isinstance(payload, ScaledPosting)
            day = dt.date.fromordinal(accounts[index].apply_posting(payload))
            if start <= day <= end:
                firing = decide(index, at, day, payload.transaction_id)
        elif what == _FED:
            fed_day, balance = cast(tuple[dt.date, int], payload)
            account = accounts[index]
            account.apply_fed_balance(fed_day, balance)
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


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=dt.UTC)
