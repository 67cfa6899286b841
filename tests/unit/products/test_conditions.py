"""Intervals and conditions: open and closed ends, strict types, missing values."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.events import Money
from server.domain.products.conditions import (
    AmountIn,
    InPersona,
    NumberIn,
    QuoteContext,
    Rule,
    TermIn,
    ValueIn,
    check,
    evaluate,
)
from server.domain.products.intervals import Interval

numbers = st.decimals(min_value=-1000, max_value=1000, places=1, allow_nan=False, allow_infinity=False)
bounds = st.none() | numbers
intervals = st.builds(Interval, bounds, bounds, st.booleans(), st.booleans())


def context(**attributes):
    return QuoteContext(Money(Decimal(5000), "EUR"), 12, frozenset({"globetrotter"}), attributes)


def test_open_and_closed_ends():
    assert Interval.above(5000).contains(Decimal("5000.01")) and not Interval.above(5000).contains(5000)
    assert Interval.at_least(5000).contains(5000) and Interval.closed(5000, 10000).contains(Decimal("10000.00"))
    assert not Interval.open(5000, 10000).contains(10000) and Interval.everything().contains(-(10**9))
    assert [str(i) for i in (Interval.above(5), Interval.at_most(5), Interval.exactly(5), Interval.open(1, 2),
                             Interval(Decimal(1), Decimal(2), True, False))] == ["> 5", "≤ 5", "= 5", "in (1, 2)",
                                                                                 "in [1, 2)"]


@given(intervals, intervals, numbers)
def test_the_intersection_holds_what_both_hold(a, b, x):
    assert a.intersect(b).contains(x) == (a.contains(x) and b.contains(x))


@given(intervals, numbers)
def test_an_empty_interval_holds_nothing_and_a_representative_is_inside(interval, x):
    if interval.is_empty():
        assert not interval.contains(x)
    else:
        assert interval.contains(interval.representative())
    if not interval.is_empty(integral=True):
        assert interval.contains(interval.representative(integral=True))
    elif not interval.is_empty():
        assert not interval.contains(x.to_integral_value())


@pytest.mark.parametrize(("condition", "attributes", "held"), [
    (ValueIn("is_globetrotter", frozenset({True})), {"is_globetrotter": True}, True),
    (ValueIn("is_globetrotter", frozenset({True})), {"is_globetrotter": 1}, False),  # a number is not a bool
    (ValueIn("risk", frozenset({"LOW", "MEDIUM"})), {"risk": "MEDIUM"}, True),
    (ValueIn("risk", frozenset({"LOW"})), {"risk": "low"}, False),
    (NumberIn("income", Interval.above(5000)), {"income": 5001}, True),
    (NumberIn("income", Interval.above(5000)), {"income": True}, False),  # a bool is not a number
    (NumberIn("income", Interval.above(5000)), {"income": "6000"}, False),  # nor is text
    (NumberIn("income", Interval.above(5000)), {}, False),  # missing
    (InPersona("globetrotter", member=False), {}, False),
    (InPersona("luxury", member=False), {}, True),
    (AmountIn(Interval.closed(5000, 10000)), {}, True),
    (TermIn(Interval.above(12)), {}, False),
])
def test_conditions(condition, attributes, held):
    assert check(condition, context(**attributes)).held is held


def test_a_rule_reports_every_failed_condition():
    outcome = evaluate(Rule("r", (NumberIn("age", Interval.closed(30, 45)), ValueIn("risk", frozenset({"LOW"})),
                                  InPersona("globetrotter"))), context(age=50))
    assert not outcome.held
    assert str(outcome) == "r: fails on age in [30, 45]: no (age = 50); risk = LOW: no (risk missing)"
    assert evaluate(Rule("empty"), context()).held
