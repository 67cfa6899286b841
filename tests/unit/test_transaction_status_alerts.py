"""Transaction statuses, balance thresholds and unusual-activity baselines as alert criteria: the pure
rules (server.domain.engagement.alerts, .baseline) and the outbox shape of AuthorizationsRecorded."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.engagement.alerts import alert_condition, matches
from server.domain.engagement.baseline import Baseline, above_baseline, percentile
from server.domain.errors import InvalidArgument
from server.domain.events import AuthorizationsRecorded, Money, Posting
from server.domain.ingest.model import Direction
from server.store.engagement_policies import condition_from_json, condition_to_json
from server.store.event_payloads import decode, encode

POSTED = dt.datetime(2024, 3, 31, 12, tzinfo=dt.UTC)

amounts = st.decimals(min_value=Decimal(0), max_value=Decimal("1e9"), places=4, allow_nan=False)
histories = st.lists(amounts, min_size=1, max_size=60)
percentiles = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2, allow_nan=False)


def posting(amount: str, balance_after: str, *, status: str = "BOOKED", account_type: str = "CHECKING",
            category: str = "VYBER") -> Posting:
    signed = Decimal(amount)
    return Posting("t1", "a1", "c1", account_type, "BANK", Money(signed, "CZK"), Money(Decimal(balance_after), "CZK"),
                   POSTED, Direction.CREDIT if signed >= 0 else Direction.DEBIT, category, "ATM Prague", status)


# -- percentile and baseline -------------------------------------------------------------------------

@given(histories, percentiles)
def test_a_percentile_lies_between_the_smallest_and_the_largest(values, p):
    assert min(values) <= percentile(values, p) <= max(values)


@given(histories, percentiles, percentiles)
def test_a_higher_percentile_is_never_lower(values, p, q):
    low, high = sorted((p, q))
    assert percentile(values, low) <= percentile(values, high)


@given(histories, percentiles, st.randoms())
def test_the_order_of_the_history_does_not_matter(values, p, rng):
    shuffled = list(values)
    rng.shuffle(shuffled)
    assert percentile(shuffled, p) == percentile(values, p)


@given(histories)
def test_the_ends_are_the_smallest_and_the_largest(values):
    assert percentile(values, Decimal(0)) == min(values)
    assert percentile(values, Decimal(100)) == max(values)


def test_the_percentile_interpolates_between_ranks_as_numpy_does():
    values = [Decimal(n) for n in (10, 20, 30, 40)]
    assert percentile(values, Decimal(50)) == Decimal(25)
    assert percentile(values, Decimal(99)) == Decimal("39.70")
    assert percentile([Decimal(7)], Decimal(99)) == Decimal(7)


@given(histories, st.integers(min_value=1, max_value=60), percentiles)
def test_no_baseline_below_the_minimum_history(values, min_history, p):
    judged = above_baseline(max(values) + 1, values, Baseline(p, 90, min_history))
    assert judged is (None if len(values) < min_history else True)


@given(histories, percentiles)
def test_nothing_at_or_below_the_smallest_is_unusual_and_above_the_largest_always_is(values, p):
    baseline = Baseline(p, 90, 1)
    assert above_baseline(min(values), values, baseline) is False
    assert above_baseline(max(values) + Decimal("0.0001"), values, baseline) is True


# -- statuses and balance thresholds -------------------------------------------------------------------

def test_an_alert_without_statuses_matches_booked_transactions_only():
    condition = alert_condition(operation="ATM_WITHDRAWAL").effective()
    assert matches(condition, posting("-100", "900"))
    assert not matches(condition, posting("-100", "1000", status="DECLINED"))
    assert not matches(condition, posting("-100", "1000", status="PENDING"))


def test_a_declined_alert_matches_declined_transactions_only():
    condition = alert_condition(directions=["DEBIT"], statuses=["DECLINED"]).effective()
    assert matches(condition, posting("-100", "1000", status="DECLINED"))
    assert not matches(condition, posting("-100", "900"))


@given(st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=2),
       st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=2),
       st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=2))
def test_balance_below_matches_exactly_the_postings_that_cross_the_threshold(amount, after, threshold):
    condition = alert_condition(balance_below=str(threshold)).effective()
    before = after - amount
    assert matches(condition, posting(str(amount), str(after))) is (after < threshold <= before)
    # Not booked: the balance did not move, so it did not cross.
    assert not matches(dataclasses.replace(condition, statuses=frozenset({"PENDING"})),
                       posting(str(amount), str(after), status="PENDING"))


def test_gift_and_prepaid_cards_are_account_types_of_alerts():
    condition = alert_condition(account_types=["GIFT_CARD", "PREPAID_CARD"]).effective()
    assert matches(condition, posting("-5", "20", account_type="GIFT_CARD"))
    assert not matches(condition, posting("-5", "20", account_type="CHECKING"))


@pytest.mark.parametrize(("fields", "expected"), [
    ({"statuses": ["SETTLED"]}, ["transaction_alert.statuses"]),
    ({"statuses": [""]}, ["transaction_alert.statuses"] * 2),  # unknown, and empty
    ({"balance_below": "lots"}, ["transaction_alert.balance_below"]),
    ({"balance_below": "NaN"}, ["transaction_alert.balance_below"]),
    ({"baseline": ("101", 0, 0)}, ["transaction_alert.baseline.percentile"]),
    ({"baseline": ("0", 0, 0)}, ["transaction_alert.baseline.percentile"]),
    ({"baseline": ("99.999", 0, 0)}, ["transaction_alert.baseline.percentile"]),
    ({"baseline": ("", -1, 1001)}, ["transaction_alert.baseline.days", "transaction_alert.baseline.min_history"]),
    ({"baseline": ("", 731, 0)}, ["transaction_alert.baseline.days"]),
])
def test_bad_criteria_are_named(fields, expected):
    with pytest.raises(InvalidArgument) as raised:
        alert_condition(**fields)
    assert raised.value.code == "TRANSACTION_ALERT_INVALID"
    assert [v.field for v in raised.value.violations] == expected


def test_a_baseline_takes_its_defaults_and_survives_storage():
    condition = alert_condition(operation="ATM_WITHDRAWAL", statuses=["BOOKED", "DECLINED"], balance_below="-10.5",
                                baseline=("", 0, 0))
    assert condition.baseline == Baseline(Decimal(99), 90, 10)
    assert condition_from_json(orjson.loads(orjson.dumps(condition_to_json(condition)))) == condition
    # Conditions stored before these criteria existed read back without them.
    old = {"directions": ["DEBIT"], "categories": [], "description_contains": [], "operation": "", "min_amount": "",
           "account_types": []}
    assert condition_from_json(old) == alert_condition(directions=["DEBIT"])


def test_authorizations_survive_the_outbox():
    event = AuthorizationsRecorded((posting("-12.5", "87.5", status="DECLINED"), posting("3", "90", status="PENDING")))
    kind, payload = encode(event)
    assert decode(kind, orjson.loads(orjson.dumps(payload))) == event
