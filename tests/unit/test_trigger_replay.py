"""The backtest's replay, the firing decision, and replay against a step-by-step live simulation."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.ingest.model import Direction
from server.domain.segments.evaluate import CustomerFacts
from server.domain.segments.expression import Comparator, Holds
from server.domain.triggers.condition import (
    AllOf,
    Metric,
    MetricCompare,
    MetricName,
    Negation,
    PostingCompare,
    RelativeTo,
    SegmentLeaf,
    Window,
    WindowKind,
    is_calendar_dependent,
    is_event_condition,
)
from server.domain.triggers.evaluate import evaluate
from server.domain.triggers.firing import ConditionKind, Firing, decide_fire
from server.domain.triggers.replay import AccountHistory, replay
from server.domain.triggers.series import apply_fed_balance, apply_posting
from tests.unit.trigger_helpers import D, at, posting, snapshot

NOV = [dt.date(2026, 11, d) for d in range(1, 31)]  # NOV[0] is 1 November
WEEK = dt.timedelta(days=7)
NONE = dt.timedelta(0)
BELOW_100 = MetricCompare(Metric(MetricName.BALANCE), Comparator.LT, D(100))
OVERDRAFT = MetricCompare(Metric(MetricName.BALANCE), Comparator.LT, D(0))
LARGE_WITHDRAWAL = PostingCompare(Direction.DEBIT, Comparator.GT, D(1000))


def moves(*steps: tuple[dt.date, str], start: str = "0", account_id: str = "acc1", customer_id: str = "cus1"):
    """Postings of the given amounts, each day at noon (then a minute apart), with running balances."""
    balance = D(start)
    result = []
    for n, (day, amount) in enumerate(steps):
        balance += D(amount)
        result.append(posting(day, amount, balance, f"{account_id}-t{n}", account_id=account_id,
                              customer_id=customer_id, minute=n % 60))
    return result


def history(postings, start: str = "0", fed=(), facts=CustomerFacts(), account_id="acc1", customer_id="cus1"):
    return AccountHistory(snapshot(start, account_id=account_id, customer_id=customer_id), tuple(postings),
                          tuple(fed), facts)


def fired(condition, histories, start=NOV[0], end=NOV[29], cooldown=NONE) -> list[Firing]:
    return list(replay(condition, histories, start=start, end=end, cooldown=cooldown))


def test_decide_fire():
    now = at(NOV[9])
    assert decide_fire(ConditionKind.STATE, False, True, None, WEEK, now)
    assert not decide_fire(ConditionKind.STATE, True, True, None, WEEK, now)  # still true: no new crossing
    assert decide_fire(ConditionKind.EVENT, True, True, None, WEEK, now)
    assert not decide_fire(ConditionKind.EVENT, False, False, None, WEEK, now)
    assert not decide_fire(ConditionKind.EVENT, False, True, now - dt.timedelta(days=6), WEEK, now)
    assert decide_fire(ConditionKind.EVENT, False, True, now - WEEK, WEEK, now)
    assert decide_fire(ConditionKind.EVENT, False, True, now, NONE, now)


def test_a_state_condition_fires_on_the_crossing_once_while_it_holds():
    postings = moves((NOV[1], "150"), (NOV[2], "-60"), (NOV[3], "-10"), (NOV[4], "40"), (NOV[5], "-70"))
    firings = fired(BELOW_100, [history(postings)])
    # 150 (no), 90 (fires), 80 (still below), 120 (false again), 50 (fires again)
    assert [(f.day, f.transaction_id, f.values) for f in firings] == [
        (NOV[2], "acc1-t1", {"balance": "90"}), (NOV[5], "acc1-t4", {"balance": "50"})]


def test_the_first_evaluation_finding_a_state_condition_true_fires():
    firings = fired(BELOW_100, [history(moves((NOV[1], "5")))])
    assert [(f.day, f.transaction_id) for f in firings] == [(NOV[1], "acc1-t0")]


def test_an_event_condition_fires_on_every_posting_that_makes_it_true():
    postings = moves((NOV[1], "-1500"), (NOV[1], "-2000"), (NOV[2], "-20"), (NOV[3], "-1001"), start="10000")
    firings = fired(LARGE_WITHDRAWAL, [history(postings, "10000")])
    assert [f.transaction_id for f in firings] == ["acc1-t0", "acc1-t1", "acc1-t3"]
    assert firings[0].values == {"withdrawal": "1500"}


def test_the_cool_down_holds_back_repeats_per_customer_across_accounts():
    checking = moves((NOV[1], "-1500"), (NOV[3], "-1500"), (NOV[9], "-1500"), start="10000")
    savings = moves((NOV[2], "-5000"), (NOV[7], "-5000"), start="10000", account_id="acc2")
    other = moves((NOV[2], "-5000"), start="10000", account_id="acc3", customer_id="cus2")
    firings = fired(LARGE_WITHDRAWAL, [history(checking, "10000"), history(savings, "10000", account_id="acc2"),
                                       history(other, "10000", account_id="acc3", customer_id="cus2")],
                    cooldown=WEEK)
    # cus1: 2 Nov fires; 3, 4 and 8 Nov are within the week after it (either account); 10 Nov fires.
    assert [(f.customer_id, f.account_id, f.day) for f in firings] == [
        ("cus1", "acc1", NOV[1]), ("cus1", "acc1", NOV[9]), ("cus2", "acc3", NOV[2])]


def test_a_crossing_inside_the_cool_down_is_not_fired_later():
    postings = moves((NOV[1], "50"), (NOV[2], "100"), (NOV[3], "-100"), (NOV[4], "-10"), (NOV[20], "200"),
                     (NOV[21], "-250"))
    firings = fired(BELOW_100, [history(postings)], cooldown=WEEK)
    # 50 fires; 150 false; 50 crosses within the week: held back; 40 still true: no crossing; 240 false;
    # -10 crosses after the week: fires.
    assert [f.day for f in firings] == [NOV[1], NOV[21]]


def test_reference_example_one_fires_when_the_average_drops_below_100():
    condition = AllOf((Negation(SegmentLeaf(Holds("OVERDRAFT_PROTECTION"))),
                       MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, Window(WindowKind.DAYS, 30)),
                                     Comparator.LT, D(100))))
    postings = moves((dt.date(2026, 10, 1), "300"), (NOV[0], "-280"))
    protected = CustomerFacts(holdings=frozenset({"OVERDRAFT_PROTECTION"}))
    plain = history(postings)
    other = history(moves((dt.date(2026, 10, 1), "300"), (NOV[0], "-280"), account_id="acc2", customer_id="cus2"),
                     facts=protected, account_id="acc2", customer_id="cus2")
    firings = fired(condition, [plain, other])
    # The average falls day by day without a posting; the daily re-check sees it cross. The 30 days ending
    # 21 Nov: 9 x 300 + 21 x 20 = 3120 / 30 = 104; ending 22 Nov: 8 x 300 + 22 x 20 = 2840 / 30 = 94.67.
    assert [(f.customer_id, f.day, f.transaction_id) for f in firings] == [("cus1", NOV[21], None)]
    assert firings[0].values == {"average_collected_balance(30d)": "94.6667"}
    assert firings[0].fired_at == at(NOV[21], 0)


def test_reference_example_two_needs_two_consecutive_months():
    condition = MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, Window(WindowKind.LAST_MONTH)),
                              Comparator.GT, D(1000), months=2)
    two_months = history(moves((dt.date(2026, 9, 1), "1500")))
    one_month = history(moves((dt.date(2026, 9, 1), "500"), (dt.date(2026, 10, 1), "1000"), account_id="acc2",
                              customer_id="cus2"), account_id="acc2", customer_id="cus2")
    firings = fired(condition, [two_months, one_month], start=dt.date(2026, 10, 15), end=dt.date(2026, 11, 30))
    assert [(f.customer_id, f.day, f.transaction_id) for f in firings] == [("cus1", NOV[0], None)]
    assert firings[0].values == {"average_collected_balance(2026-10)": "1500.0000",
                                 "average_collected_balance(2026-09)": "1500.0000"}
    # A month later the second customer has two months too.
    later = fired(condition, [one_month], start=dt.date(2026, 11, 15), end=dt.date(2026, 12, 31))
    assert [(f.customer_id, f.day) for f in later] == [("cus2", dt.date(2026, 12, 1))]


def test_a_new_overdraft_and_the_overdraft_count():
    postings = moves((NOV[1], "-20"), (NOV[1], "-5"), (NOV[2], "40"), (NOV[3], "-50"), start="10")
    assert [f.transaction_id for f in fired(OVERDRAFT, [history(postings, "10")])] == ["acc1-t0", "acc1-t3"]
    twice = MetricCompare(Metric(MetricName.OVERDRAFT_COUNT, Window(WindowKind.DAYS, 30)), Comparator.GE, D(2))
    firings = fired(twice, [history(postings, "10")])
    assert [(f.transaction_id, f.values) for f in firings] == [("acc1-t3", {"overdraft_count(30d)": "2"})]


def test_a_fed_balance_re_checks_state_conditions_at_the_end_of_its_day():
    firings = fired(BELOW_100, [history(moves((NOV[1], "500")), fed=[(NOV[3], D(50))])])
    assert firings == []  # balance is the current balance: the fed end-of-day balance does not move it
    average = MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, Window(WindowKind.DAYS, 1)),
                            Comparator.LT, D(100))
    firings = fired(average, [history(moves((NOV[1], "500")), fed=[(NOV[3], D(50))])], end=NOV[3])
    assert [(f.day, f.fired_at, f.transaction_id) for f in firings] == [(NOV[3], at(NOV[4], 0), None)]


def test_the_daily_re_check_follows_a_quiet_account_until_its_last_row_leaves_the_window():
    condition = MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, Window(WindowKind.DAYS, 7)),
                              Comparator.LT, D(150))
    firings = fired(condition, [history(moves((NOV[0], "1000"), (NOV[1], "-1000")))])
    # 1,000 on 1 Nov then 0: 1000/6 = 166.67 on the 6th, 1000/7 = 142.86 on the 7th (the re-check fires),
    # 0 from the 8th on (still true, no crossing).
    assert [(f.day, f.transaction_id, f.values) for f in firings] == [
        (NOV[6], None, {"average_collected_balance(7d)": "142.8571"})]


def test_history_before_the_period_moves_the_series_but_fires_nothing():
    postings = moves((dt.date(2026, 10, 5), "-2000"), (NOV[2], "-1500"), start="10000")
    firings = fired(LARGE_WITHDRAWAL, [history(postings, "10000")])
    assert [f.transaction_id for f in firings] == ["acc1-t1"]


def test_a_deposit_over_half_the_balance():
    condition = PostingCompare(Direction.CREDIT, Comparator.GT, D(50), RelativeTo.BALANCE)
    postings = moves((NOV[1], "60"), (NOV[2], "50"), (NOV[3], "100"), start="100")
    firings = fired(condition, [history(postings, "100")])
    # 60 of 100 fires; 50 of 160 and 100 of 210 do not.
    assert [(f.transaction_id, f.values["deposit_percent_of_balance"]) for f in firings] == [("acc1-t0", "60.0000")]


# --- replay against a live simulation ------------------------------------------------------------------

CONDITIONS = [
    BELOW_100,
    OVERDRAFT,
    LARGE_WITHDRAWAL,
    PostingCompare(Direction.CREDIT, Comparator.GT, D(50), RelativeTo.BALANCE),
    MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, Window(WindowKind.DAYS, 7)), Comparator.LT, D(200)),
    MetricCompare(Metric(MetricName.MIN_BALANCE, Window(WindowKind.MONTH_TO_DATE)), Comparator.LT, D(0)),
    MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, Window(WindowKind.LAST_MONTH)), Comparator.GE,
                  D(300), months=2),
    AllOf((Negation(SegmentLeaf(Holds("OVERDRAFT_PROTECTION"))),
           MetricCompare(Metric(MetricName.MIN_BALANCE, Window(WindowKind.LAST_MONTH)), Comparator.LT, D(50)))),
]
FIRST = dt.date(2026, 9, 20)
steps = st.lists(st.tuples(st.integers(0, 80), st.sampled_from([-1500, -300, -80, -5, 10, 90, 400, 2000]),
                           st.booleans()), max_size=30)


def live(condition, postings, fed, start, end, cooldown):
    """One account as the live handlers and the daily cron would see it, hour by hour: a separate loop
    over time, not replay's schedule."""
    kind = ConditionKind.of(is_event_condition(condition))
    daily = kind is ConditionKind.STATE and is_calendar_dependent(condition)
    account = snapshot("0")
    state = False
    last: dt.datetime | None = None
    result = []

    def check(at_, as_of, p, before):
        nonlocal state, last
        evaluation = evaluate(condition, snapshot=account, as_of=as_of, posting=p, before=before, facts=CustomerFacts())
        fires = decide_fire(kind, state, evaluation.matched, last, cooldown, at_)
        state = evaluation.matched
        if fires:
            last = at_
            result.append((as_of, at_, p.transaction_id if p else None, dict(evaluation.values)))

    day = FIRST - dt.timedelta(days=1)
    pending = list(postings)
    while day <= end:
        if daily and start <= day:
            check(at(day, 0), day, None, None)
        while pending and pending[0].booking_date == day:
            p = pending.pop(0)
            before = account
            account, row = apply_posting(account, p)
            if start <= row.day <= end:
                check(p.posted_at, row.day, p, before)
        if day in fed:
            account, _ = apply_fed_balance(account, day, fed[day])
            if kind is ConditionKind.STATE and start <= day:
                check(at(day + dt.timedelta(days=1), 0), day, None, None)
        day += dt.timedelta(days=1)
    return result


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CONDITIONS), steps, st.integers(0, 40), st.sampled_from([NONE, dt.timedelta(days=3), WEEK]))
def test_replay_fires_as_live_evaluation_would(condition, moves_, start_offset, cooldown):
    start = FIRST + dt.timedelta(days=start_offset)
    end = start + dt.timedelta(days=30)
    balance = D(0)
    postings = []
    fed: dict[dt.date, D] = {}
    for n, (offset, amount, is_fed) in enumerate(sorted(moves_, key=lambda m: m[0])):
        day = FIRST + dt.timedelta(days=offset)
        if is_fed:
            fed[day] = D(amount) + 100
            continue
        balance += amount
        postings.append(posting(day, D(amount), balance, f"t{n}", minute=n))
    expected = live(condition, postings, fed, start, end, cooldown)
    firings = fired(condition, [history(postings, fed=sorted(fed.items()))], start=start, end=end, cooldown=cooldown)
    assert [(f.day, f.fired_at, f.transaction_id, dict(f.values)) for f in firings] == expected
