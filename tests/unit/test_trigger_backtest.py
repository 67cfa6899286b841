"""The backtest's pure parts: the period and unit costs checked, what one firing sends per channel, the
estimates' exact cost, the tally, the opening balance of an account, and the kept JSON read back as
the proto the RPC answers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st

from engage.triggers.v1 import trigger_rules_service_pb2 as pb
from server.domain.errors import InvalidArgument
from server.domain.money import to_scaled
from server.domain.triggers import backtest
from server.domain.triggers.backtest import Tally, UnitCost
from server.domain.triggers.firing import Firing
from server.domain.triggers.rules import BankNotificationAction, BannerAction, MessageAction
from server.services.triggers.backtest import Before, opening_balance
from server.store.repositories.trigger_backtest import BacktestAccount, FirstPosting

DAY = dt.date(2024, 1, 1)
WEEK = dt.timedelta(days=7)


def field_of(error: InvalidArgument) -> str:
    return error.violations[0].field


@pytest.mark.parametrize(("start", "end", "field"), [
    (None, DAY, "start_date"), (DAY, None, "end_date"), (DAY, DAY - dt.timedelta(days=1), "end_date"),
    (DAY, DAY + dt.timedelta(days=366), "end_date"),
    # The calendar's ends: the warm-up before the start and the day after the end must exist.
    (dt.date(1, 1, 1), dt.date(1, 1, 2), "start_date"), (dt.date(9999, 12, 31), dt.date(9999, 12, 31), "end_date")])
def test_a_bad_period_is_refused(start, end, field):
    with pytest.raises(InvalidArgument) as refused:
        backtest.check_period(start, end)
    assert refused.value.code == "TRIGGER_BACKTEST_INVALID" and field_of(refused.value) == field


def test_one_day_and_366_days_are_periods():
    assert backtest.check_period(DAY, DAY) == (DAY, DAY)
    assert backtest.check_period(DAY, DAY + dt.timedelta(days=365))[1] == dt.date(2024, 12, 31)


@pytest.mark.parametrize(("costs", "field"), [
    ([UnitCost("FAX", Decimal(1), "EUR")], "unit_costs[0].channel"),
    ([UnitCost("SMS", Decimal(1), "EUR"), UnitCost("SMS", Decimal(2), "EUR")], "unit_costs[1].channel"),
    ([UnitCost("SMS", Decimal(-1), "EUR")], "unit_costs[0].unit_cost"),
    ([UnitCost("SMS", Decimal(1), "")], "unit_costs[0].unit_cost")])
def test_bad_unit_costs_are_refused(costs, field):
    with pytest.raises(InvalidArgument) as refused:
        backtest.check_unit_costs(costs)
    assert field_of(refused.value) == field


def test_a_firing_sends_a_banner_a_note_and_a_message_per_channel_of_the_event():
    actions = (BannerAction("t", "b", "l", "https://x", WEEK), BankNotificationAction("n"), MessageAction("atm"))
    assert backtest.sends_per_firing(actions, {"atm": ["EMAIL", "SMS", "EMAIL"]}) == \
        {"BANNER": 1, "BANK_NOTIFICATION": 1, "EMAIL": 1, "SMS": 1}
    assert backtest.sends_per_firing((MessageAction("gone"),), {}) == {}


@given(st.integers(0, 10**7), st.decimals(min_value=0, max_value=1000, places=4))
def test_an_estimates_cost_is_messages_times_the_unit_cost_exactly(firings, unit):
    [sms, push] = backtest.estimate(firings, {"PUSH": 1, "SMS": 2}, {"SMS": UnitCost("SMS", unit, "CZK")})
    assert (sms.channel, sms.messages, push.channel, push.messages, push.cost) == ("SMS", 2 * firings, "PUSH",
                                                                                  firings, None)
    assert sms.cost == UnitCost("SMS", unit * 2 * firings, "CZK")


def test_the_tally_counts_days_accounts_customers_and_keeps_a_sample():
    tally = Tally()
    at = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    for n in range(25):
        tally.add(Firing(f"a{n % 3}", f"c{n % 2}", DAY + dt.timedelta(days=n % 2), at, None, {"balance": "-1"}))
    result = tally.result("r", 2, DAY, DAY + dt.timedelta(days=2), (), at)
    assert (result.firing_count, result.account_count, result.customer_count, len(result.sample)) == (25, 3, 2, 20)
    assert [count for _, count in result.days] == [13, 12, 0]
    kept = json_format.ParseDict(backtest.to_json(result), pb.TriggerRuleBacktest())
    assert (kept.rule_version, kept.firing_count, kept.sample_firings[0].customer, kept.days[2].date.day) == \
        (2, 25, "customers/c0", 3)
    assert kept.sample_firings[0].fire_time.ToDatetime(dt.UTC) == at and kept.sample_firings[0].transaction_id == ""


ACCOUNT = BacktestAccount("a", "c", "CHECKING", "EUR", Decimal("-60"), Decimal("-60"))


def first(amount: str, running: str | None = None) -> FirstPosting:
    return FirstPosting(to_scaled(Decimal(amount)), None if running is None else to_scaled(Decimal(running)))


def test_the_opening_balance_prefers_the_fed_balance_then_the_running_balance_then_the_current_one():
    total = Decimal("-160")  # -150 + 90 in the span read, -100 after it
    fed = Before((dt.date(2024, 1, 1), Decimal("100")), dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC))
    assert opening_balance(ACCOUNT, first("-150", "-50"), None, fed) == Decimal("100")
    stale = Before((dt.date(2023, 12, 31), Decimal("7")), dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC))
    assert opening_balance(ACCOUNT, first("-150", "-50"), None, stale) == Decimal("100")  # -50 - (-150)
    assert opening_balance(ACCOUNT, first("-150"), None, Before()) is None  # the total is needed
    assert opening_balance(ACCOUNT, first("-150"), total, Before()) == Decimal("-60") + 100 + 150 - 90
    assert opening_balance(ACCOUNT, None, Decimal(0), Before()) == Decimal("-60")
