"""Campaign audiences and transaction alert conditions: built (and validated) from request values, and
through the store's JSON unchanged, in the shape the columns held before they were value objects."""

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.engagement.alerts import (
    ACCOUNT_TYPES,
    DIRECTIONS,
    MAX_LIST,
    OPERATION_PRESETS,
    AlertCondition,
    alert_condition,
)
from server.domain.engagement.audience import MAX_LISTED_CUSTOMERS, CampaignAudience, campaign_audience
from server.domain.errors import InvalidArgument
from server.store.engagement_policies import (
    audience_from_json,
    audience_to_json,
    condition_from_json,
    condition_to_json,
)

words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=100).filter(str.strip)
amounts = st.decimals(min_value=0, allow_nan=False, allow_infinity=False)
word_lists = st.lists(words, max_size=5)


@st.composite
def condition_requests(draw: st.DrawFn) -> dict:
    """Valid request values: an operation preset, or categories and description fragments, not both."""
    operation = draw(st.sampled_from(["", *OPERATION_PRESETS]))
    return {"operation": operation,
            "directions": draw(st.lists(st.sampled_from(sorted(DIRECTIONS)), max_size=3)),
            "categories": [] if operation else draw(word_lists),
            "description_contains": [] if operation else draw(word_lists),
            "min_amount": draw(st.none() | amounts.map(str)) or "",
            "account_types": draw(st.lists(st.sampled_from(sorted(ACCOUNT_TYPES)), max_size=3))}


def through_the_store(stored: dict) -> dict:
    """The column is JSON: what is read back is what json makes of what was written."""
    return json.loads(json.dumps(stored))


@given(condition_requests())
def test_a_valid_condition_keeps_what_the_operator_gave(request):
    condition = alert_condition(**request)
    assert condition.operation == request["operation"]
    for field in ("directions", "categories", "description_contains", "account_types"):
        assert getattr(condition, field) == tuple(request[field])
    assert condition.min_amount == (Decimal(request["min_amount"]) if request["min_amount"] else None)


@given(condition_requests())
def test_a_condition_comes_back_from_the_store_as_it_went_in(request):
    condition = alert_condition(**request)
    assert condition_from_json(through_the_store(condition_to_json(condition))) == condition


@given(condition_requests())
def test_a_condition_is_stored_in_the_shape_the_column_always_held(request):
    """The shape the store wrote when the condition was a dict of the request's fields: no migration."""
    stored = condition_to_json(alert_condition(**request))
    assert stored == request
    assert condition_to_json(condition_from_json(through_the_store(stored))) == stored


def test_an_older_stored_condition_reads_as_the_same_values():
    stored = {"directions": [], "categories": [], "description_contains": [], "operation": "ATM_WITHDRAWAL",
              "min_amount": "1e2", "account_types": ["CHECKING"]}
    assert condition_from_json(stored) == AlertCondition(operation="ATM_WITHDRAWAL", min_amount=Decimal(100),
                                                         account_types=("CHECKING",))
    assert condition_from_json({}) == AlertCondition()


@given(condition_requests())
def test_the_effective_condition_follows_the_preset_unless_directions_are_given(request):
    effective = alert_condition(**request).effective()
    preset = OPERATION_PRESETS.get(request["operation"])
    assert effective.directions == (frozenset(request["directions"]) or (preset.directions if preset
                                                                         else frozenset()))
    assert effective.categories == (preset.categories if preset
                                    else frozenset(c.upper() for c in request["categories"]))
    assert effective.description_contains == tuple(p.lower() for p in request["description_contains"])


def violated_fields(**request) -> set[str]:
    with pytest.raises(InvalidArgument) as caught:
        alert_condition(**request)
    assert caught.value.code == "TRANSACTION_ALERT_INVALID"
    return {v.field for v in caught.value.violations}


@given(condition_requests(), st.text(max_size=20).filter(lambda d: d not in DIRECTIONS))
def test_an_unknown_direction_is_named(request, direction):
    assert "transaction_alert.directions" in violated_fields(**{**request, "directions": [direction]})


@given(condition_requests(), st.decimals(max_value=Decimal("-0.0001")) | st.just(Decimal("NaN"))
       | st.sampled_from(["Infinity", "one hundred", "100 CZK", "--1"]))
def test_a_min_amount_that_is_not_a_decimal_of_0_or_more_is_named(request, min_amount):
    assert violated_fields(**{**request, "min_amount": str(min_amount)}) == {"transaction_alert.min_amount"}


@given(st.sampled_from(sorted(OPERATION_PRESETS)), st.sampled_from(["categories", "description_contains"]), words)
def test_an_operation_is_not_given_with_categories_or_descriptions(operation, field, word):
    assert violated_fields(operation=operation, **{field: [word]}) == {"transaction_alert.operation"}


@given(st.sampled_from(["categories", "description_contains"]),
       st.lists(words, min_size=MAX_LIST + 1, max_size=MAX_LIST + 3) | st.just(["  "]) | st.just(["x" * 101]))
def test_too_many_or_blank_or_long_values_are_named(field, values):
    assert violated_fields(**{field: values}) == {f"transaction_alert.{field}"}


audience_requests = st.one_of(
    st.just({"all_customers": True}),
    st.builds(lambda ids: {"customer_ids": ids}, st.lists(words, min_size=1, max_size=20)),
    st.builds(lambda equals: {"attributes": equals}, st.dictionaries(words, st.text(max_size=20), min_size=1,
                                                                     max_size=5)))


@given(audience_requests)
def test_an_audience_comes_back_from_the_store_as_it_went_in(request):
    audience = campaign_audience(**request)
    assert audience_from_json(through_the_store(audience_to_json(audience))) == audience


@given(audience_requests)
def test_an_audience_is_stored_in_the_shape_the_column_always_held(request):
    stored = audience_to_json(campaign_audience(**request))
    if "customer_ids" in request:
        assert stored == {"customer_ids": sorted(set(request["customer_ids"]))}
    else:
        assert stored == request


@given(st.dictionaries(words, st.text(max_size=5), min_size=1, max_size=3),
       st.dictionaries(words, st.text(max_size=5), max_size=5))
def test_an_attribute_filter_takes_customers_with_every_value(equals, attributes):
    audience = campaign_audience(attributes=equals)
    assert audience.includes(attributes) == all(attributes.get(k) == v for k, v in equals.items())
    assert audience.includes({**attributes, **equals})
    assert campaign_audience(all_customers=True).includes(attributes)


@given(st.booleans(), st.lists(words, max_size=3), st.dictionaries(words, words, max_size=3))
def test_an_audience_is_exactly_one_kind(all_customers, customer_ids, attributes):
    kinds = [all_customers, bool(customer_ids), bool(attributes)].count(True)
    if kinds == 1:
        assert isinstance(campaign_audience(all_customers=all_customers, customer_ids=customer_ids,
                                            attributes=attributes), CampaignAudience)
        return
    with pytest.raises(InvalidArgument) as caught:
        campaign_audience(all_customers=all_customers, customer_ids=customer_ids, attributes=attributes)
    assert caught.value.code == "CAMPAIGN_INVALID"
    assert [v.field for v in caught.value.violations] == ["campaign.audience"]


def test_a_customer_list_is_bounded():
    with pytest.raises(InvalidArgument) as caught:
        campaign_audience(customer_ids=[str(n) for n in range(MAX_LISTED_CUSTOMERS + 1)])
    assert [v.field for v in caught.value.violations] == ["campaign.audience.customer_list"]
