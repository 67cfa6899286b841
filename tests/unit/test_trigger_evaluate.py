"""Trigger conditions evaluated for one account on one day, and the values they read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.ingest.model import Direction
from server.domain.segments.evaluate import CustomerFacts
from server.domain.segments.evaluate import evaluate as holds_for_customer
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
    RelativeTo,
    SegmentLeaf,
    Window,
    WindowKind,
)
from server.domain.triggers.evaluate import (
    AccountMetrics,
    PointEvaluation,
    evaluate,
    required_direction,
    window_bounds,
)
from server.domain.triggers.series import AccountSnapshot, apply_fed_balance, apply_posting
from tests.unit.trigger_helpers import D, posting, snapshot

NO_FACTS = CustomerFacts()
DAYS_30 = Window(WindowKind.DAYS, 30)
LAST_MONTH = Window(WindowKind.LAST_MONTH)
ACB_30 = Metric(MetricName.AVERAGE_COLLECTED_BALANCE, DAYS_30)
BALANCE = Metric(MetricName.BALANCE)
OVERDRAFT = MetricCompare(BALANCE, Comparator.LT, D(0))


def at_state(account: AccountSnapshot, condition, as_of: dt.date, facts: CustomerFacts = NO_FACTS):
    return evaluate(condition, snapshot=account, as_of=as_of, posting=None, before=None, facts=facts)


def at_posting(account: AccountSnapshot, condition, p, facts: CustomerFacts = NO_FACTS, *, give_before=True):
    after, row = apply_posting(account, p)
    return evaluate(condition, snapshot=after, as_of=row.day, posting=p,
                    before=account if give_before else None, facts=facts)


def test_window_bounds():
    day = dt.date(2026, 3, 15)
    assert window_bounds(DAYS_30, day) == (dt.date(2026, 2, 14), day)
    assert window_bounds(Window(WindowKind.DAYS, 1), day) == (day, day)
    assert window_bounds(Window(WindowKind.MONTH_TO_DATE), day) == (dt.date(2026, 3, 1), day)
    assert window_bounds(LAST_MONTH, day) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))


def test_reference_example_one_overdraft_protection_offer():
    """Average collected balance below 100, for customers without overdraft protection."""
    condition = AllOf((Negation(SegmentLeaf(Holds("OVERDRAFT_PROTECTION"))),
                       MetricCompare(ACB_30, Comparator.LT, D(100))))
    day = dt.date(2026, 11, 10)
    account, _ = apply_posting(snapshot("0"), posting(dt.date(2026, 11, 1), "200", "200"))
    account, _ = apply_posting(account, posting(day, "-190", "10", "t2"))
    # 1-9 Nov at 200, the 10th at 10: (9 * 200 + 10) / 10 = 181 — not yet.
    result = at_state(account, condition, day)
    assert not result.matched and result.values == {"average_collected_balance(30d)": "181.0000"}
    later = dt.date(2026, 11, 28)  # 9 * 200 + 19 * 10 = 1990 / 28 = 71.0714...
    result = at_state(account, condition, later)
    assert result.matched and result.values == {"average_collected_balance(30d)": "71.0714"}
    protected = CustomerFacts(holdings=frozenset({"OVERDRAFT_PROTECTION"}))
    assert not at_state(account, condition, later, protected).matched


def test_reference_example_two_two_consecutive_months():
    condition = MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, LAST_MONTH), Comparator.GT,
                              D(1000), months=2)
    account, _ = apply_posting(snapshot("0"), posting(dt.date(2026, 9, 1), "500", "500"))
    account, _ = apply_posting(account, posting(dt.date(2026, 10, 1), "1000", "1500", "t2"))
    # September at 500, October at 1,500: one month only.
    result = at_state(account, condition, dt.date(2026, 11, 1))
    assert not result.matched
    assert result.values == {"average_collected_balance(2026-10)": "1500.0000",
                             "average_collected_balance(2026-09)": "500.0000"}
    result = at_state(account, condition, dt.date(2026, 12, 1))
    assert result.matched
    assert result.values == {"average_collected_balance(2026-11)": "1500.0000",
                             "average_collected_balance(2026-10)": "1500.0000"}
    # A month before the account's first known balance has no value: no pass.
    assert not at_state(account, condition, dt.date(2026, 10, 5)).matched


def test_a_metric_without_a_value_is_false_whatever_the_comparison():
    account = snapshot("0")
    for comparator in Comparator:
        result = at_state(account, MetricCompare(ACB_30, comparator, D(100)), dt.date(2026, 11, 1))
        assert not result.matched
        assert result.values == {"average_collected_balance(30d)": ""}
    # NOT is plain boolean logic over the leaf's result.
    assert at_state(account, Negation(MetricCompare(ACB_30, Comparator.LT, D(100))), dt.date(2026, 11, 1)).matched


def test_balance_overdraft_and_available_balance():
    account = AccountSnapshot("acc1", "cus1", "USD", D("-3.00"), D("97.00"))
    result = at_state(account, AllOf((OVERDRAFT, MetricCompare(Metric(MetricName.AVAILABLE_BALANCE),
                                                                Comparator.GE, D(50)))), dt.date(2026, 11, 1))
    assert result.matched and result.values == {"balance": "-3.00", "available_balance": "97.00"}


def test_min_balance_and_overdraft_count_conditions():
    day = dt.date(2026, 11, 5)
    account, _ = apply_posting(snapshot("10"), posting(dt.date(2026, 11, 1), "-20", "-10"))
    account, _ = apply_posting(account, posting(dt.date(2026, 11, 2), "30", "20", "t2"))
    account, _ = apply_posting(account, posting(dt.date(2026, 11, 3), "-25", "-5", "t3"))
    count = MetricCompare(Metric(MetricName.OVERDRAFT_COUNT, DAYS_30), Comparator.GE, D(2))
    low = MetricCompare(Metric(MetricName.MIN_BALANCE, Window(WindowKind.MONTH_TO_DATE)), Comparator.LT, D(-5))
    result = at_state(account, AllOf((count, low)), day)
    assert result.matched
    assert result.values == {"overdraft_count(30d)": "2", "min_balance(month)": "-10"}


def test_event_conditions_read_the_posting():
    account = snapshot("100")
    large_withdrawal = PostingCompare(Direction.DEBIT, Comparator.GT, D(1000))
    p = posting(dt.date(2026, 11, 2), "-1500", "-1400")
    result = at_posting(account, large_withdrawal, p)
    assert result.matched and result.values == {"withdrawal": "1500"}
    assert not at_posting(account, large_withdrawal, posting(dt.date(2026, 11, 2), "1500", "1600")).matched
    assert not at_state(account, large_withdrawal, dt.date(2026, 11, 2)).matched  # no posting: false


def test_a_deposit_over_half_of_the_balance_before_it():
    condition = PostingCompare(Direction.CREDIT, Comparator.GT, D(50), RelativeTo.BALANCE)
    account = snapshot("100")
    result = at_posting(account, condition, posting(dt.date(2026, 11, 2), "60", "160"))
    assert result.matched
    assert result.values == {"deposit": "60", "balance_before_posting": "100",
                             "deposit_percent_of_balance": "60.0000"}
    assert not at_posting(account, condition, posting(dt.date(2026, 11, 2), "50", "150")).matched  # exactly 50%
    assert not at_posting(account, condition, posting(dt.date(2026, 11, 2), "50", "150"), give_before=False).matched


def test_a_deposit_over_the_average_transaction():
    condition = PostingCompare(Direction.CREDIT, Comparator.GT, D(300), RelativeTo.AVERAGE_TRANSACTION)
    account, _ = apply_posting(snapshot("0"), posting(dt.date(2026, 8, 1), "5000", "5000", "old"))  # > 90 days
    account, _ = apply_posting(account, posting(dt.date(2026, 10, 1), "100", "5100", "a"))
    account, _ = apply_posting(account, posting(dt.date(2026, 11, 2), "-200", "4900", "b"))
    big = posting(dt.date(2026, 11, 2), "451", "5351", "c")
    for give_before in (True, False):
        result = at_posting(account, condition, big, give_before=give_before)
        assert result.matched
        assert result.values == {"deposit": "451", "average_transaction": "150.0000",
                                 "deposit_percent_of_average_transaction": "300.6667"}
    assert not at_posting(account, condition, posting(dt.date(2026, 11, 2), "450", "5350", "d")).matched
    first = at_posting(snapshot("0"), condition, posting(dt.date(2026, 11, 2), "10", "10"))
    assert not first.matched and first.values["average_transaction"] == ""


def test_change_of_balance_by_an_amount_and_a_percent():
    account, _ = apply_posting(snapshot("0"), posting(dt.date(2026, 10, 1), "1000", "1000"))
    account, _ = apply_posting(account, posting(dt.date(2026, 11, 20), "-250", "750", "t2"))
    day = dt.date(2026, 11, 25)  # the 30 days from 27 Oct: the balance at the end of 26 Oct was 1,000
    drop = ChangeCompare(BALANCE, DAYS_30, Comparator.LE, D(-20), percent=True)
    result = at_state(account, drop, day)
    assert result.matched
    assert result.values == {"change(balance, 30d)": "-250", "change_percent(balance, 30d)": "-25.0000"}
    assert not at_state(account, ChangeCompare(BALANCE, DAYS_30, Comparator.LT, D(-25), percent=True), day).matched
    assert at_state(account, ChangeCompare(BALANCE, DAYS_30, Comparator.EQ, D(-250)), day).matched
    # Before the first known balance there is nothing to change from.
    early = at_state(account, drop, dt.date(2026, 10, 15))
    assert not early.matched and early.values == {"change(balance, 30d)": ""}


def test_change_of_an_average_over_a_month():
    account, _ = apply_posting(snapshot("0"), posting(dt.date(2026, 9, 1), "100", "100"))
    account, _ = apply_posting(account, posting(dt.date(2026, 10, 16), "100", "200", "t2"))
    account, _ = apply_fed_balance(account, dt.date(2026, 10, 20), D("300"))
    condition = ChangeCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, Window(WindowKind.DAYS, 10)),
                              Window(WindowKind.MONTH_TO_DATE), Comparator.GE, D(100), percent=True)
    # As of 30 Sep: 10 days at 100. As of 20 Oct: 11-15 Oct at 100, 16-19 at 200, the 20th fed 300: 160.
    result = at_state(account, condition, dt.date(2026, 10, 20))
    assert result.values["change(average_collected_balance(10d), month)"] == "60.0000"
    assert result.values["change_percent(average_collected_balance(10d), month)"] == "60.0000"
    assert not result.matched
    assert at_state(account, condition, dt.date(2026, 10, 27)).matched  # 10 days of 200..300


def test_or_stops_at_the_first_true_part_and_reads_no_further():
    account = AccountSnapshot("acc1", "cus1", "USD", D("-1"), D("-1"))
    result = at_state(account, AnyOf((OVERDRAFT, MetricCompare(ACB_30, Comparator.LT, D(1)))), dt.date(2026, 1, 1))
    assert result.matched and result.values == {"balance": "-1"}


def test_shared_metrics_are_computed_once_per_snapshot_and_day():
    account, row = apply_posting(snapshot("0"), posting(dt.date(2026, 11, 1), "50", "50"))
    metrics = AccountMetrics(account, row.day)
    for threshold in (10, 100):
        evaluate(MetricCompare(ACB_30, Comparator.LT, D(threshold)), snapshot=account, as_of=row.day,
                 posting=None, before=None, facts=NO_FACTS, metrics=metrics)
    assert len(metrics._cache) == 1


amounts = st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)
percents = st.decimals(min_value=-500, max_value=500, places=4, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(amounts, amounts, percents, st.sampled_from(list(Comparator)))
def test_percent_of_balance_comparisons_are_exact(before_balance, amount, percent, comparator):
    direction = Direction.CREDIT if amount >= 0 else Direction.DEBIT
    condition = PostingCompare(direction, comparator, percent, RelativeTo.BALANCE)
    p = posting(dt.date(2026, 11, 2), amount, before_balance + amount)
    left, right = Fraction(abs(amount)), Fraction(percent) / 100 * Fraction(before_balance)
    expected = {Comparator.LT: left < right, Comparator.LE: left <= right, Comparator.GT: left > right,
                Comparator.GE: left >= right, Comparator.EQ: left == right, Comparator.NE: left != right}
    assert at_posting(snapshot(before_balance), condition, p).matched == expected[comparator]
    assert at_posting(snapshot(before_balance), condition, p, give_before=False).matched == expected[comparator]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 120), amounts), min_size=1, max_size=30), percents)
def test_average_transaction_with_and_without_the_snapshot_before(moves, percent):
    first = dt.date(2026, 1, 1)
    account = snapshot("0")
    balance = D(0)
    for n, (offset, amount) in enumerate(sorted(moves, key=lambda m: m[0])[:-1]):
        balance += amount
        account, _ = apply_posting(account, posting(first + dt.timedelta(days=offset), amount, balance, f"t{n}"))
    offset, amount = max(moves, key=lambda m: m[0])
    last = posting(first + dt.timedelta(days=offset), amount, balance + amount, "last")
    condition = PostingCompare(last.direction, Comparator.GT, percent, RelativeTo.AVERAGE_TRANSACTION)
    with_before = at_posting(account, condition, last)
    without = at_posting(account, condition, last, give_before=False)
    assert (with_before.matched, with_before.values) == (without.matched, without.values)
    Decimal(with_before.values["average_transaction"] or 0)  # a plain decimal or ""


SHARED = [  # conditions evaluated at one point with one PointEvaluation, in this order
    AllOf((PostingCompare(Direction.DEBIT, Comparator.GT, D(100)), Negation(SegmentLeaf(Holds("LOAN"))))),
    PostingCompare(Direction.CREDIT, Comparator.GT, D(50), RelativeTo.BALANCE),
    OVERDRAFT,
    MetricCompare(ACB_30, Comparator.LT, D(500)),
    AnyOf((PostingCompare(Direction.CREDIT, Comparator.GE, D(1)), OVERDRAFT)),
    ChangeCompare(BALANCE, DAYS_30, Comparator.LT, D(-10), percent=True),
    AllOf((MetricCompare(ACB_30, Comparator.GT, D(0)), PostingCompare(Direction.CREDIT, Comparator.LT, D(10_000)))),
    # Leaves of one shape with other thresholds, windows or months: what one computed is shared with the
    # next at the same point only where it reads the same.
    ChangeCompare(BALANCE, DAYS_30, Comparator.GT, D(5), percent=True),
    ChangeCompare(BALANCE, DAYS_30, Comparator.LT, D(-20)),
    ChangeCompare(BALANCE, Window(WindowKind.DAYS, 7), Comparator.LT, D(-20), percent=True),
    ChangeCompare(ACB_30, LAST_MONTH, Comparator.GT, D(0)),
    MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, LAST_MONTH), Comparator.GT, D(-50), months=2),
    MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, LAST_MONTH), Comparator.GT, D(-80), months=3),
    MetricCompare(Metric(MetricName.MIN_BALANCE, LAST_MONTH), Comparator.GT, D(-80), months=2),
    PostingCompare(Direction.CREDIT, Comparator.GT, D(10), RelativeTo.BALANCE),
    PostingCompare(Direction.DEBIT, Comparator.GT, D(10), RelativeTo.BALANCE),
    PostingCompare(Direction.CREDIT, Comparator.GT, D(150), RelativeTo.AVERAGE_TRANSACTION),
    PostingCompare(Direction.CREDIT, Comparator.LT, D(300), RelativeTo.AVERAGE_TRANSACTION),
    PostingCompare(Direction.DEBIT, Comparator.GT, D(80), RelativeTo.AVERAGE_TRANSACTION),
]


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 100), amounts), min_size=1, max_size=12), st.booleans())
def test_one_point_evaluation_for_many_conditions_reads_as_evaluate_does_each(moves, holds_loan):
    start = dt.date(2026, 10, 1)
    account, balance = snapshot("0"), D(0)
    for offset, amount in moves[:-1]:
        balance += amount
        account, _ = apply_posting(account, posting(start + dt.timedelta(days=offset), amount, balance))
    offset, amount = moves[-1]
    p = posting(start + dt.timedelta(days=offset), amount, balance + amount, "last")
    after, row = apply_posting(account, p)
    facts = CustomerFacts(holdings=frozenset({"LOAN"}) if holds_loan else frozenset())
    point = PointEvaluation(after, row.day, p, account, facts)
    for condition in SHARED:
        alone = evaluate(condition, snapshot=after, as_of=row.day, posting=p, before=account, facts=facts)
        assert point.test(condition) == (alone.matched, dict(alone.read))
        needed = required_direction(condition)
        if needed is not None and needed is not p.direction:
            assert not alone.matched  # what the live evaluation skips cannot hold


@given(st.frozensets(st.sampled_from(["LOAN", "SAVINGS", "OVERDRAFT_PROTECTION"]), max_size=3),
       st.sampled_from(["LOAN", "SAVINGS", "CARD"]))
def test_a_holds_leaf_is_compiled_to_what_the_segment_evaluator_answers(holdings, kind):
    # The compiled leaf tests the holdings itself (not through holds_for_customer's dispatch): the same answer.
    facts = CustomerFacts(holdings=holdings)
    account = snapshot("10")
    for condition, expected in [(SegmentLeaf(Holds(kind)), holds_for_customer(Holds(kind), facts)),
                                (Negation(SegmentLeaf(Holds(kind))), not holds_for_customer(Holds(kind), facts))]:
        assert at_state(account, condition, dt.date(2026, 10, 1), facts).matched is expected
