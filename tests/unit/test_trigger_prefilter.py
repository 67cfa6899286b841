"""The backtest's pre-filter (server.domain.triggers.prefilter): replay with it fires exactly what replay
without it fires, on random histories and rules, and it does cut accounts short."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.ingest.model import Direction
from server.domain.segments.evaluate import CustomerFacts
from server.domain.segments.expression import Comparator, Holds
from server.domain.triggers.condition import (
    AllOf,
    AnyOf,
    ChangeCompare,
    Metric,
    MetricCompare,
    MetricName,
    Negation,
    PostingCompare,
    SegmentLeaf,
    Window,
    WindowKind,
)
from server.domain.triggers.prefilter import last_possible_day as bound_of_trail
from server.domain.triggers.prefilter import trail_of
from server.domain.triggers.replay import AccountHistory, replay
from server.domain.triggers.series import AccountDay, AccountSnapshot
from tests.unit.trigger_helpers import D, at, posting

FIRST = dt.date(2026, 1, 1)
ONE_DAY = dt.timedelta(days=1)

windows = st.one_of(st.builds(Window, st.just(WindowKind.DAYS), st.integers(1, 8)),
                    st.sampled_from([Window(WindowKind.MONTH_TO_DATE), Window(WindowKind.LAST_MONTH)]))
ordered = st.sampled_from([Comparator.LT, Comparator.LE, Comparator.GT, Comparator.GE, Comparator.EQ])
amounts = st.sampled_from([D(-100), D(0), D(50), D(100), D("100.00004"), D(300), D(1000)])
balance_leaf = st.builds(MetricCompare, st.just(Metric(MetricName.BALANCE)), ordered, amounts)
window_leaf = st.builds(
    lambda name, window, comparator, amount: MetricCompare(Metric(name, window), comparator, amount),
    st.sampled_from([MetricName.MIN_BALANCE, MetricName.AVERAGE_COLLECTED_BALANCE, MetricName.OVERDRAFT_COUNT]),
    windows, ordered, amounts)
for_months = st.builds(
    lambda name, comparator, amount, months: MetricCompare(Metric(name, Window(WindowKind.LAST_MONTH)),
                                                           comparator, amount, months),
    st.sampled_from([MetricName.MIN_BALANCE, MetricName.AVERAGE_COLLECTED_BALANCE]), ordered, amounts,
    st.integers(1, 2))
other_leaf = st.sampled_from([
    SegmentLeaf(Holds("OVERDRAFT_PROTECTION")),
    PostingCompare(Direction.DEBIT, Comparator.GT, D(100)),
    ChangeCompare(Metric(MetricName.BALANCE), Window(WindowKind.DAYS, 7), Comparator.LT, D(-50)),
    MetricCompare(Metric(MetricName.AVAILABLE_BALANCE), Comparator.LT, D(100)),
])
leaf = st.one_of(balance_leaf, window_leaf, for_months, other_leaf)
conditions = st.recursive(leaf, lambda inner: st.one_of(
    st.builds(lambda parts: AllOf(tuple(parts)), st.lists(inner, min_size=2, max_size=3)),
    st.builds(lambda parts: AnyOf(tuple(parts)), st.lists(inner, min_size=2, max_size=3)),
    st.builds(Negation, inner)), max_leaves=4)

# (day offset, amount, fed instead of posting, running balance off by this much)
moves = st.lists(st.tuples(st.integers(0, 50), st.sampled_from([-900, -300, -60, -5, 10, 90, 400, 1500]),
                           st.booleans(), st.sampled_from([0, 0, 0, -700])), max_size=30)
accounts = st.tuples(st.sampled_from(["c1", "c2"]), st.sampled_from(["-200", "0", "100", "100.00004", "800"]),
                     st.booleans(), moves, st.booleans())


def account_history(number: int, customer_id: str, opening: str, with_row: bool, moves_, shuffled: bool
                    ) -> AccountHistory:
    account_id = f"a{number}"
    days = (AccountDay(FIRST - ONE_DAY, closing_balance=D(opening), min_balance=D(opening)),) if with_row else ()
    snapshot = AccountSnapshot(account_id, customer_id, "USD", D(opening), D(opening) - 20, days)
    balance = D(opening)
    postings = []
    fed = {}
    ordered_moves = sorted(moves_, key=lambda m: m[0])
    if shuffled and len(ordered_moves) > 2:  # an account whose postings are not in time order
        ordered_moves[0], ordered_moves[-1] = ordered_moves[-1], ordered_moves[0]
    for n, (offset, amount, is_fed, off) in enumerate(ordered_moves):
        day = FIRST + dt.timedelta(days=offset)
        if is_fed:
            fed[day] = D(amount) + 200
            continue
        balance += amount
        postings.append(posting(day, D(amount), balance + off, f"{account_id}-t{n}", account_id=account_id,
                                customer_id=customer_id, minute=n))
    facts = CustomerFacts(holdings=frozenset({"OVERDRAFT_PROTECTION"})) if number % 2 else CustomerFacts()
    return AccountHistory(snapshot, tuple(postings), tuple(sorted(fed.items())), facts)


def last_possible_day(condition, history: AccountHistory) -> dt.date | None:
    return bound_of_trail(condition, trail_of(history))


def firings(condition, histories, start, end, cooldown, prefilter):
    return [(f.account_id, f.customer_id, f.day, f.fired_at, f.transaction_id, dict(f.values))
            for f in replay(condition, histories, start=start, end=end, cooldown=cooldown, prefilter=prefilter)]


@settings(max_examples=1000, deadline=None)
@given(conditions, st.lists(accounts, min_size=1, max_size=3), st.integers(0, 40), st.integers(0, 40),
       st.sampled_from([dt.timedelta(0), dt.timedelta(days=3), dt.timedelta(days=20)]))
def test_replay_with_the_pre_filter_fires_what_the_full_replay_fires(condition, accounts_, start_offset, length,
                                                                     cooldown):
    histories = [account_history(n, *account) for n, account in enumerate(accounts_)]
    start = FIRST + dt.timedelta(days=start_offset)
    end = start + dt.timedelta(days=length)
    assert firings(condition, histories, start, end, cooldown, True) == firings(
        condition, histories, start, end, cooldown, False)


AVERAGE_BELOW_1000 = MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, Window(WindowKind.DAYS, 30)),
                                   Comparator.LT, D(1000))


def test_an_account_is_replayed_until_its_window_has_left_its_last_low_balance():
    steps = [(0, 500), (10, 2000), (40, -100), (45, 3000)]
    postings = []
    balance = D(0)
    for n, (offset, amount) in enumerate(steps):
        balance += amount
        postings.append(posting(FIRST + dt.timedelta(days=offset), D(amount), balance, f"t{n}", minute=n))
    history = AccountHistory(AccountSnapshot("acc1", "cus1", "USD", D(0), D(0)), tuple(postings))
    # 500 is the last balance below 1000 (before the posting of day 10); the next posting is on day 40,
    # and a window of 30 days leaves day 40 behind on day 70.
    assert last_possible_day(AVERAGE_BELOW_1000, history) == FIRST + dt.timedelta(days=69)
    # A balance that never passes: no day at all (the account is left out).
    assert last_possible_day(MetricCompare(Metric(MetricName.BALANCE), Comparator.LT, D(-1)), history) == dt.date.min
    # NOT gives no bound; AND takes its part's.
    assert last_possible_day(Negation(AVERAGE_BELOW_1000), history) is None
    assert last_possible_day(AllOf((SegmentLeaf(Holds("X")), AVERAGE_BELOW_1000)), history) == (
        FIRST + dt.timedelta(days=69))


def test_no_bound_for_postings_out_of_time_order():
    first, second = posting(FIRST, D(5), D(5), "t1", minute=30), posting(FIRST, D(5), D(10), "t2", minute=0)
    history = AccountHistory(AccountSnapshot("acc1", "cus1", "USD", D(0), D(0)), (first, second))
    assert last_possible_day(AVERAGE_BELOW_1000, history) is None
    assert at(FIRST) < first.posted_at


# --- the edges of the bound, each fired by the full replay and so by the pre-filtered one -----------------

def average(days: int, below: str) -> MetricCompare:
    return MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, Window(WindowKind.DAYS, days)), Comparator.LT,
                         D(below))


def opened(balance: str, *postings_, row: bool = True) -> AccountHistory:
    days = (AccountDay(FIRST - ONE_DAY, closing_balance=D(balance), min_balance=D(balance)),) if row else ()
    return AccountHistory(AccountSnapshot("acc1", "cus1", "USD", D(balance), D(balance), days), tuple(postings_))


def day(n: int) -> dt.date:
    return FIRST + dt.timedelta(days=n)


def same_firings(condition, history, start: dt.date, end: dt.date) -> None:
    full = firings(condition, [history], start, end, dt.timedelta(0), False)
    assert full  # the edge is reached
    assert firings(condition, [history], start, end, dt.timedelta(0), True) == full


def test_the_re_check_on_the_next_postings_day_still_sees_the_balance_carried_before_it():
    # -50 from day 0 is carried into 00:00 of day 10, before that day's posting lifts it.
    history = opened("0", posting(day(0), D(-50), D(-50), "t0"), posting(day(10), D(550), D(500), "t1"))
    same_firings(average(1, "100"), history, day(10), day(12))


def test_an_average_rounded_below_the_threshold_from_balances_just_above_it():
    # Every balance is 100.00004; the average rounds to 100.0000, below 100.00003.
    history = opened("100.00004", posting(day(5), D(0), D("100.00004"), "t0"))
    same_firings(average(1, "100.00003"), history, day(0), day(6))


def test_the_balance_before_a_posting_counts_when_its_running_balance_disagrees():
    # Stored running balance 40 after +50: the day's lowest balance is -10, never a balance after a posting.
    history = opened("100", posting(day(3), D(50), D(40), "t0"))
    condition = MetricCompare(Metric(MetricName.MIN_BALANCE, Window(WindowKind.DAYS, 1)), Comparator.LT, D(0))
    same_firings(condition, history, day(0), day(5))


def test_a_posting_counted_on_a_later_day_than_its_own():
    # t1 was posted before t0 but comes after it: it counts on day 10, and its 50 is carried into day 11.
    history = opened("1000", posting(day(10), D(0), D(1000), "t0"), posting(day(3), D(-950), D(50), "t1"),
                     posting(day(12), D(0), D(1000), "t2"))
    same_firings(average(1, "100"), history, day(11), day(13))


def test_a_fed_balance_below_the_threshold_among_postings_above_it():
    history = AccountHistory(opened("1000").opening, (posting(day(2), D(0), D(1000), "t0"),
                                                      posting(day(8), D(0), D(1000), "t1")), ((day(5), D(50)),))
    same_firings(average(1, "100"), history, day(0), day(10))


def test_replay_stops_at_the_last_day_a_history_carries_without_bounding_it_again():
    # The balance is below 100 from day 0 on: without the day it carries, day 5's re-check fires.
    history = opened("0", posting(day(0), D(0), D(0), "t0"))
    condition = average(1, "100")
    assert firings(condition, [history], day(5), day(6), dt.timedelta(0), False)
    carried = dataclasses.replace(history, last_day=day(4))
    assert firings(condition, [carried], day(5), day(6), dt.timedelta(0), False) == []
    assert firings(condition, [carried], day(5), day(6), dt.timedelta(0), True) == []
