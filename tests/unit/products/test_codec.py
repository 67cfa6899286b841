"""ProductTerms as JSON: every terms round-trips exactly, and malformed JSON is PRODUCT_INVALID naming the path."""

import copy
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import InvalidArgument
from server.domain.products.codec import terms_from_json, terms_to_json
from server.domain.products.conditions import AmountIn, InPersona, NumberIn, Rule, TermIn, ValueIn
from server.domain.products.intervals import Interval
from server.domain.products.pricing import Charge, ChargeBasis, ChargeFrequency, Discount, InsuranceItem, InterestList
from server.domain.products.terms import ProductTerms
from tests.unit.products.globetrotter import TERMS

decimals = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False)
ordered = st.tuples(decimals, decimals).map(sorted)
intervals = st.one_of(st.builds(lambda b: Interval.closed(*b), ordered), st.builds(Interval.above, decimals),
                      st.builds(Interval.at_most, decimals.filter(lambda d: d > 0)))
names = st.text("abcdefghij _-", min_size=1, max_size=8).filter(str.strip)
conditions = st.one_of(
    st.builds(InPersona, names, st.booleans()), st.builds(NumberIn, names, intervals),
    st.builds(ValueIn, names, st.frozensets(names, min_size=1) | st.frozensets(st.booleans(), min_size=1)),
    st.builds(AmountIn, intervals),
    st.builds(TermIn, st.builds(lambda b: Interval.closed(int(b[0]), int(b[1])), ordered)),
)
charges = st.builds(Charge, names, st.sampled_from(ChargeBasis), decimals, st.sampled_from(ChargeFrequency))


def unique(items):
    return tuple({item.name: item for item in items}.values())


terms = st.builds(
    ProductTerms, st.sampled_from(["EUR", "JPY"]), st.builds(lambda b: Interval.closed(*b), ordered),
    st.builds(lambda b: Interval.closed(int(b[0]) + 1, int(b[1]) + 1), ordered),
    st.lists(st.builds(Rule, names, st.lists(conditions, max_size=2).map(tuple)), max_size=2).map(unique),
    st.lists(st.builds(InterestList, names, decimals, st.lists(charges, max_size=2).map(unique),
                       st.lists(conditions, max_size=3).map(tuple), st.integers(-5, 5)), max_size=3).map(unique),
    st.lists(st.builds(InsuranceItem, names, charges, st.lists(conditions, max_size=2).map(tuple)),
             max_size=2).map(unique),
    st.lists(st.builds(Discount, names, st.lists(conditions, max_size=2).map(tuple), decimals,
                       st.decimals(min_value=0, max_value=100, places=2)), max_size=2).map(unique),
)


@given(terms)
def test_terms_round_trip_through_json_text(original):
    encoded = json.dumps(terms_to_json(original))
    try:
        decoded = terms_from_json(json.loads(encoded))
    except InvalidArgument as invalid:  # generated terms may be invalid (an attribute both number and value)
        assert invalid.code == "PRODUCT_INVALID"
        return
    assert decoded == original


def test_the_reference_round_trips():
    assert terms_from_json(terms_to_json(TERMS)) == TERMS
    assert terms_to_json(TERMS)["interest_lists"][0]["conditions"][1] == {
        "kind": "number", "attribute": "monthly_income", "interval": {"low": "5000", "low_closed": False}}


def _broken(change):
    value = copy.deepcopy(terms_to_json(TERMS))
    change(value)
    return value


@pytest.mark.parametrize(("change", "path"), [
    (lambda v: v.pop("currency"), "currency"),
    (lambda v: v["amount_limits"].update(low="five"), "amount_limits.low"),
    (lambda v: v["amount_limits"].update(low="NaN"), "amount_limits.low"),
    (lambda v: v["interest_lists"][0]["conditions"][0].update(kind="regex"), "interest_lists[0].conditions[0].kind"),
    (lambda v: v["interest_lists"][1].update(priority=True), "interest_lists[1].priority"),
    (lambda v: v["interest_lists"][1]["commissions"][0].update(basis="SOMETIMES"), "interest_lists[1].commissions[0]"),
    (lambda v: v["availability"][1]["conditions"][0].update(values=[1]), "availability[1].conditions[0].values"),
    (lambda v: v["insurances"].append("life"), "insurances[1]"),
    (lambda v: v["discounts"].append({"name": "d", "rate_points": "-1"}), "discounts[0].rate_points"),
])
def test_malformed_json_names_the_path(change, path):
    with pytest.raises(InvalidArgument) as caught:
        terms_from_json(_broken(change))
    assert caught.value.code == "PRODUCT_INVALID"
    assert caught.value.violations[0].field == path


def test_not_an_object():
    with pytest.raises(InvalidArgument):
        terms_from_json([])
    assert Decimal(terms_to_json(TERMS)["interest_lists"][0]["annual_rate"]) == Decimal("5.3")
