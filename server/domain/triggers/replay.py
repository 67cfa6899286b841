"""The backtest's core: a condition replayed over accounts' histories for a period, firing as live
evaluation and the daily re-check would have (docs/triggers.md#backtest).

The rule is taken to become active at the period's start (no state before it: the first evaluation in the
period that finds a state condition true fires), with the customers' facts as they are now. Each
customer's accounts are replayed together, in time order, because the cool-down is per customer:
- a posting moves its account's series (apply_posting); one whose evaluation day is in the period is
  evaluated with the snapshots after and before it, as the live bus handler does;
- the bank's fed balance for a day is taken to arrive at that day's end: it moves the series, and a state
  condition is re-checked on that day (as the BalancesRecorded handler does);
- each day of the period at `daily_at` (UTC), a calendar-dependent state condition is re-checked for
  every account (the daily cron), before the postings that follow that time.
History before the period moves the series only, so windows reaching back before the start see it.
Live evaluation and replay share evaluate, apply_posting, apply_fed_balance and decide_fire."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, cast

from server.domain.events import Posting
from server.domain.segments.evaluate import CustomerFacts
from server.domain.triggers.condition import (
    Condition,
    MetricCompare,
    SegmentLeaf,
    WindowKind,
    history_days,
    is_calendar_dependent,
    is_event_condition,
    leaves,
)
from server.domain.triggers.evaluate import evaluate
from server.domain.triggers.firing import ConditionKind, Firing, decide_fire
from server.domain.triggers.prefilter import last_possible_day, trail_of
from server.domain.triggers.series import AccountSnapshot, apply_fed_balance, apply_posting

_ONE_DAY = dt.timedelta(days=1)
# Order of things happening at the same instant: a day's fed balance (end of that day), then the daily
# re-check of the next day, then postings.
FED_BALANCE, DAILY_RECHECK, POSTING_MADE = 0, 1, 2


@dataclass(frozen=True)
class AccountHistory:
    """One account to replay: its state before the first posting given (balance, and the day rows before
    them), its postings in the order they moved its balance (before and in the period), the end-of-day
    balances the bank fed (day, balance), its customer's facts (for segment leaves), and the last day its
    condition can hold when the caller has already found it (the backtest service bounds accounts on the
    stored rows and gives only the postings up to that day)."""

    opening: AccountSnapshot
    postings: Sequence[Posting] = ()
    fed_balances: Sequence[tuple[dt.date, Decimal]] = ()
    facts: CustomerFacts = field(default_factory=CustomerFacts)
    last_day: dt.date | None = None


def replay(condition: Condition, histories: Iterable[AccountHistory], *, start: dt.date, end: dt.date,
           cooldown: dt.timedelta, daily_at: dt.time = dt.time(0), prefilter: bool = True) -> Iterator[Firing]:
    """The firings in [start, end] (evaluation days), customer by customer (in the order their first account
    comes), each customer's in time order.

    An account is replayed up to the last day its condition can hold (its `last_day` when given, else
    server.domain.triggers.prefilter), and left out when that is before the period: the evaluations after
    it are false, and a false evaluation fires nothing and changes no other account's state (only a firing
    moves the customer's cool-down). `prefilter=False`: no bound is looked for, so an account without a
    `last_day` is replayed to the end (what the tests compare the pre-filter with)."""
    by_customer: dict[str, list[tuple[AccountHistory, dt.date]]] = {}
    for history in histories:
        last = history.last_day
        if last is None and prefilter:
            last = last_possible_day(condition, trail_of(history))
        until = end if last is None else min(end, last)
        by_customer.setdefault(history.opening.customer_id, [])
        if until >= start:
            by_customer[history.opening.customer_id].append((history, until))
    kind = ConditionKind.of(is_event_condition(condition))
    daily = kind is ConditionKind.STATE and is_calendar_dependent(condition)
    monthly = changes_monthly_only(condition)
    reach = history_days(condition)
    for accounts in by_customer.values():
        yield from _replay_customer(condition, kind, daily, monthly, reach, accounts, start, end, cooldown,
                                    daily_at)


def changes_monthly_only(condition: Condition) -> bool:
    """Whether only a new month (or a fed balance) can change the condition's result: every leaf reads
    complete past months (last_month, FOR n MONTHS) or the customer's facts. Such a condition evaluated
    again in the same month, with no feed between, gives the same result, which cannot fire a state
    condition: replay skips those evaluations (the year's daily re-checks are most of a replay's work)."""
    metric_leaves = [leaf for leaf in leaves(condition) if not isinstance(leaf, SegmentLeaf)]
    return bool(metric_leaves) and all(
        isinstance(leaf, MetricCompare) and leaf.metric.window is not None
        and leaf.metric.window.kind is WindowKind.LAST_MONTH for leaf in metric_leaves)


def _replay_customer(condition: Condition, kind: ConditionKind, daily: bool, monthly: bool, reach: int,
                     replayed: list[tuple[AccountHistory, dt.date]], start: dt.date, end: dt.date,
                     cooldown: dt.timedelta, daily_at: dt.time) -> Iterator[Firing]:
    """`replayed`: the customer's accounts, each with the last day to replay it to (at most `end`)."""
    if not replayed:
        return
    accounts = [history for history, _ in replayed]
    until = [last for _, last in replayed]
    happenings = ordered_happenings(accounts, until, start, daily_at if daily else None)

    snapshots = [history.opening for history in accounts]
    previously_true = [False] * len(accounts)
    evaluated_month: list[tuple[int, int] | None] = [None] * len(accounts)  # monthly conditions: the last one
    # A dormant account (no day row in the days the condition reads) reads its carried balance only: the
    # daily re-check gives the same result every day until its snapshot changes, and is skipped.
    settled: list[AccountSnapshot | None] = [None] * len(accounts)
    last_fired_at: dt.datetime | None = None

    def decide(index: int, at: dt.datetime, as_of: dt.date, posting: Posting | None,
               before: AccountSnapshot | None, fed: bool = False) -> Firing | None:
        nonlocal last_fired_at
        if monthly:
            month = (as_of.year, as_of.month)
            if evaluated_month[index] == month and not fed:  # a feed may change past months
                return None  # the same result as the month's last evaluation: no crossing
            evaluated_month[index] = month
        snapshot = snapshots[index]
        if posting is None and not fed:
            latest_day = snapshot.latest_day
            if latest_day is None or (as_of - latest_day).days >= reach:
                if settled[index] is snapshot:
                    return None
                settled[index] = snapshot
        evaluation = evaluate(condition, snapshot=snapshot, as_of=as_of, posting=posting, before=before,
                              facts=accounts[index].facts)
        fires = decide_fire(kind, previously_true[index], evaluation.matched, last_fired_at, cooldown, at)
        previously_true[index] = evaluation.matched
        if not fires:
            return None
        last_fired_at = at
        return Firing(snapshot.account_id, snapshot.customer_id, as_of, at,
                      posting.transaction_id if posting is not None else None, evaluation.values)

    for at, what, _, index, payload in happenings:
        firing: Firing | None = None
        if what == POSTING_MADE:
            assert isinstance(payload, Posting)
            before = snapshots[index]
            snapshots[index], row = apply_posting(before, payload)
            if start <= row.day <= end:
                firing = decide(index, at, row.day, payload, before)
        elif what == FED_BALANCE:
            day, balance = cast(tuple[dt.date, Decimal], payload)
            snapshots[index], _ = apply_fed_balance(snapshots[index], day, balance)
            if kind is ConditionKind.STATE and start <= day <= end:
                latest_day = snapshots[index].latest_day or day
                firing = decide(index, at, max(day, latest_day), None, None, fed=True)
        else:
            assert isinstance(payload, dt.date)
            for account in range(len(accounts)):
                if payload > until[account]:
                    continue
                firing = decide(account, at, payload, None, None)
                if firing is not None:
                    yield firing
            firing = None
        if firing is not None:
            yield firing


class _Timed(Protocol):
    @property
    def posted_at(self) -> dt.datetime: ...

    @property
    def booking_date(self) -> dt.date: ...


class _Replayed(Protocol):
    @property
    def postings(self) -> Sequence[_Timed]: ...

    @property
    def fed_balances(self) -> Sequence[tuple[dt.date, object]]: ...


Happening = tuple[dt.datetime, int, int, int, object]  # time, what, sequence, account index, payload


def ordered_happenings(accounts: Sequence[_Replayed], until: Sequence[dt.date], start: dt.date,
                       daily_at: dt.time | None) -> list[Happening]:
    """A customer's accounts' postings (up to each account's `until`), fed balances and, with `daily_at`,
    the daily re-checks from `start`, in the order replay takes them (the module's docstring): a posting
    at its account's running latest posted_at, so it keeps its place among its account's own (the order
    that moved the balance); a fed balance at the end of its day; the same instant: fed, daily, postings.
    The scaled replay (server.domain.triggers.scaled_replay) takes them in this order too."""
    happenings: list[Happening] = []
    sequence = 0
    for index, history in enumerate(accounts):
        latest: dt.datetime | None = None
        for posting in history.postings:
            if posting.booking_date > until[index]:
                break
            latest = posting.posted_at if latest is None or posting.posted_at > latest else latest
            happenings.append((latest, POSTING_MADE, sequence, index, posting))
            sequence += 1
        for day, balance in history.fed_balances:
            if day <= until[index]:
                happenings.append((_at(day + _ONE_DAY, dt.time(0)), FED_BALANCE, sequence, index, (day, balance)))
                sequence += 1
    if daily_at is not None:
        day = start
        while day <= max(until):
            happenings.append((_at(day, daily_at), DAILY_RECHECK, 0, -1, day))
            day += _ONE_DAY
    happenings.sort()  # (time, what, sequence) never tie: the payloads are never compared
    return happenings


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=dt.UTC)
