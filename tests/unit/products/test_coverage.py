"""The coverage and overlap analysis: the reference grid's gaps exactly, overlaps with their winner, and a
property test that the analysis agrees with quoting on every request."""

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.events import Money
from server.domain.products.conditions import (
    AMOUNT,
    TERM,
    AmountIn,
    Dimension,
    DimensionKind,
    InPersona,
    NumberIn,
    QuoteContext,
    Rule,
    TermIn,
    ValueIn,
)
from server.domain.products.coverage import MAX_CELLS, analyse
from server.domain.products.intervals import Interval
from server.domain.products.pricing import InterestList, matching_lists
from server.domain.products.quote import quote
from server.domain.products.terms import ProductTerms
from server.domain.products.versions import new_draft
from tests.unit.products.globetrotter import GLOBETROTTER, INCOME, TERMS


def shape(region):
    return {str(s.dimension): s.interval if s.interval is not None else s.values for s in region.spans}


def test_the_reference_grid_has_exactly_its_three_gaps():
    report = analyse(TERMS)
    assert report.overlaps == () and not report.nothing_eligible
    assert [shape(g) for g in report.gaps] == [
        {INCOME: Interval.below(5000), "amount": Interval(Decimal(10000), Decimal(50000), False, True)},
        {INCOME: Interval.exactly(5000)},  # every amount
        {INCOME: Interval.above(5000), "amount": Interval.closed(5000, 10000)},
    ]
    assert [str(g) for g in report.gaps] == ["monthly_income < 5000, amount in (10000, 50000]",
                                             "monthly_income = 5000",
                                             "monthly_income > 5000, amount in [5000, 10000]"]


def test_amounts_below_the_4_5_percent_range_are_a_fourth_gap_when_the_limits_allow_them():
    # The reference sets no amount limits; read literally, its 4.5% list starts at 5,000, so a product
    # lending from 1,000 leaves incomes below 5,000 unpriced below 5,000 too.
    report = analyse(dataclasses.replace(TERMS, amount_limits=Interval.closed(1000, 50000)))
    assert [str(g) for g in report.gaps] == ["monthly_income < 5000, amount in [1000, 5000)",
                                             "monthly_income < 5000, amount in (10000, 50000]",
                                             "monthly_income = 5000",
                                             "monthly_income > 5000, amount in [1000, 10000]"]


def test_without_the_globetrotter_availability_rule_everyone_else_is_a_gap():
    report = analyse(dataclasses.replace(TERMS, availability=TERMS.availability[1:]))
    assert "not in persona globetrotter" in [str(g) for g in report.gaps]
    assert len(report.gaps) == 4


def test_every_gap_of_the_reference_refuses_a_quote_and_every_other_request_is_priced():
    version = new_draft("loan", 1, "alice", TERMS)
    gaps = analyse(TERMS).gaps
    for income in ("4999.99", "5000", "5000.01"):
        for amount in ("5000", "7500", "10000", "10000.01", "50000"):
            context = QuoteContext(Money(Decimal(amount), "EUR"), 36, frozenset({GLOBETROTTER}),
                                   {INCOME: Decimal(income), "age": 35, "risk_profile": "LOW"})
            in_gap = any(g.contains(context) for g in gaps)
            if in_gap:
                with pytest.raises(FailedPrecondition):
                    quote(version, context)
            else:
                assert quote(version, context).pricing is not None


def test_overlaps_with_different_prices_name_the_lists_and_the_one_applied():
    wide = InterestList("wide", Decimal("6"), conditions=(AmountIn(Interval.at_least(1000)),))
    offer = InterestList("offer", Decimal("5"), conditions=(InPersona(GLOBETROTTER), AmountIn(Interval.above(10000))))
    same = InterestList("same price", Decimal("6.0"), conditions=(AmountIn(Interval.closed(1000, 2000)),))
    terms = ProductTerms("EUR", Interval.closed(1000, 50000), Interval.closed(6, 84),
                         interest_lists=(wide, offer, same))
    report = analyse(terms)
    assert report.gaps == ()
    assert [(str(o.region), o.lists, o.rates, o.applied) for o in report.overlaps] == [
        ("in persona globetrotter, amount in (10000, 50000]", ("offer", "wide"), (Decimal(5), Decimal(6)), "offer"),
    ]


def test_value_axes_have_an_other_value_and_term_axes_whole_months():
    low = InterestList("low risk", Decimal("5"), conditions=(ValueIn("risk", frozenset({"LOW"})),
                                                             TermIn(Interval.at_most(12))))
    rest = InterestList("medium risk", Decimal("6"), conditions=(ValueIn("risk", frozenset({"LOW", "MEDIUM"})),
                                                                 TermIn(Interval.at_least(13))))
    report = analyse(ProductTerms("EUR", Interval.at_least(1), Interval.closed(1, 60), interest_lists=(low, rest)))
    risk = Dimension(DimensionKind.VALUE, "risk")
    # No gap between 12 and 13 months: no whole month lies there.
    assert [str(g) for g in report.gaps] == ["risk = MEDIUM, term (months) in [1, 12]", "risk not in {LOW, MEDIUM}"]
    assert report.gaps[0].span(risk).values == frozenset({"MEDIUM"})
    assert report.gaps[0].span(TERM).interval == Interval.closed(1, 12)


def test_nothing_eligible_and_a_clean_grid():
    everyone = InterestList("all", Decimal("5"))
    terms = ProductTerms("EUR", Interval.at_least(1), Interval.at_least(1), interest_lists=(everyone,))
    assert analyse(terms).clean
    never = (Rule("never", (NumberIn("age", Interval.above(50)), NumberIn("age", Interval.below(40)))),)
    assert analyse(dataclasses.replace(terms, availability=never)).nothing_eligible
    assert analyse(dataclasses.replace(terms, amount_limits=Interval.at_most(0))).nothing_eligible  # unvalidated


def test_a_grid_too_large_is_refused():
    lists = tuple(InterestList(f"l{i}", Decimal(1), conditions=(NumberIn(f"a{i}", Interval.above(i)),))
                  for i in range(12))  # 3 pieces on each of 12 axes: 3 ** 12 > MAX_CELLS
    assert 3 ** 12 * 3 > MAX_CELLS
    with pytest.raises(InvalidArgument) as caught:
        analyse(ProductTerms("EUR", Interval.at_least(1), Interval.at_least(1), interest_lists=lists))
    assert caught.value.code == "PRODUCT_GRID_TOO_LARGE"


# -- the analysis agrees with quoting, on random grids and requests ---------------------------------
POINTS = [Decimal(p) for p in (0, 1000, 5000, 10000)]
point_bounds = st.none() | st.sampled_from(POINTS)
intervals = st.builds(Interval, point_bounds, point_bounds, st.booleans(), st.booleans()).filter(
    lambda i: not i.is_empty())
conditions = st.one_of(
    st.builds(InPersona, st.just("p"), st.booleans()),
    st.builds(NumberIn, st.just("income"), intervals),
    st.builds(AmountIn, intervals),
    st.builds(ValueIn, st.just("risk"), st.frozensets(st.sampled_from(["LOW", "HIGH"]), min_size=1)),
    st.builds(TermIn, st.builds(Interval, st.none() | st.sampled_from([Decimal(12), Decimal(13), Decimal("24.5")]),
                                st.none() | st.sampled_from([Decimal(12), Decimal(13), Decimal(36)]),
                                st.booleans(), st.booleans()).filter(lambda i: not i.is_empty(integral=True))),
)
grids = st.lists(st.tuples(st.lists(conditions, max_size=3), st.sampled_from([Decimal(4), Decimal(5)])),
                 min_size=1, max_size=4).map(lambda lists: tuple(
                     InterestList(f"l{i}", rate, conditions=tuple(c)) for i, (c, rate) in enumerate(lists)))
near_points = st.sampled_from(POINTS).flatmap(lambda p: st.sampled_from([p - 1, p, p + Decimal("0.5")]))
requests = st.builds(
    lambda member, income, amount, risk, term: QuoteContext(Money(amount, "EUR"), term,
                                                            frozenset({"p"} if member else ()),
                                                            {"income": income, "risk": risk}),
    st.booleans(), near_points, near_points.filter(lambda a: a > 0), st.sampled_from(["LOW", "HIGH", "OTHER"]),
    st.sampled_from([1, 11, 12, 13, 24, 25, 36, 37]))


@settings(max_examples=300, deadline=None)
@given(grids, st.lists(requests, min_size=1, max_size=10))
def test_a_request_is_in_a_gap_exactly_when_no_list_prices_it(lists, contexts):
    terms = ProductTerms("EUR", Interval.above(0), Interval.at_least(1), interest_lists=lists)
    report = analyse(terms)
    for context in contexts:
        matching = matching_lists(lists, context)
        assert any(g.contains(context) for g in report.gaps) == (not matching)
        in_overlaps = [o for o in report.overlaps if o.region.contains(context)]
        if len({m.price() for m in matching}) > 1:
            assert [o.lists for o in in_overlaps] == [tuple(m.name for m in matching)]
        else:
            assert in_overlaps == []
    assert AMOUNT not in [s.dimension for g in report.gaps for s in g.spans if s.interval == Interval.above(0)]
