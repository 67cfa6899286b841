"""The demo data generator: deterministic, realistic, and its balances add up (no server)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest

from clients.demo_data import DemoData, DemoSpec, default_until, generate, profiles
from engage.ingest.v1 import ingest_service_pb2 as pb
from server.domain.money import units_nanos_to_decimal

UNTIL = dt.date(2026, 10, 31)
INCOME = {"SALARY", "PENSION"}


def _decimal(money) -> Decimal:  # type: ignore[no-untyped-def]
    return units_nanos_to_decimal(money.units, money.nanos)


def _signed(txn: pb.Transaction) -> Decimal:
    return _decimal(txn.amount) if txn.direction == pb.DIRECTION_CREDIT else -_decimal(txn.amount)


def _day(txn: pb.Transaction) -> dt.date:
    return txn.post_time.ToDatetime(tzinfo=dt.UTC).date()


def _serialized(data: DemoData) -> list[bytes]:
    return [m.SerializeToString(deterministic=True)
            for m in (*data.customers, *data.accounts, *data.transactions, *data.balances)]


@pytest.fixture(scope="module")
def spec() -> DemoSpec:
    return DemoSpec(customers=40, months=6, seed=7, until=UNTIL)


@pytest.fixture(scope="module")
def data(spec: DemoSpec) -> DemoData:
    return generate(spec)


def test_the_same_spec_gives_identical_messages(spec, data):
    assert _serialized(generate(spec)) == _serialized(data)


def test_another_seed_gives_other_data():
    first = generate(DemoSpec(customers=3, months=2, seed=7, until=UNTIL))
    other = generate(DemoSpec(customers=3, months=2, seed=8, until=UNTIL))
    assert [c.customer_id for c in first.customers] == [c.customer_id for c in other.customers]
    assert [c.attributes for c in first.customers] != [c.attributes for c in other.customers]
    assert {t.SerializeToString(deterministic=True) for t in first.transactions}.isdisjoint(
        t.SerializeToString(deterministic=True) for t in other.transactions)


def test_a_customer_does_not_depend_on_how_many_are_made():
    few = generate(DemoSpec(customers=2, months=2, seed=7, until=UNTIL))
    more = generate(DemoSpec(customers=5, months=2, seed=7, until=UNTIL))
    mine = [t for t in more.transactions if t.account_id.startswith(("demo-a0001-", "demo-a0002-"))]
    assert [t.SerializeToString() for t in few.transactions] == [t.SerializeToString() for t in mine]


def test_ids_and_account_kinds(data):
    assert [c.customer_id for c in data.customers] == [f"demo-c{i:04d}" for i in range(1, 41)]
    by_suffix = defaultdict(list)
    for account in data.accounts:
        by_suffix[account.account_id.rsplit("-", 1)[1]].append(account)
        assert not account.HasField("current_balance")  # the service derives balances from transactions
    assert len(by_suffix["chk"]) == 40
    assert {(a.type, a.container) for a in by_suffix["chk"]} == {(pb.ACCOUNT_TYPE_CHECKING, pb.CONTAINER_BANK)}
    assert {(a.type, a.container) for a in by_suffix["sav"]} == {(pb.ACCOUNT_TYPE_SAVINGS, pb.CONTAINER_BANK)}
    assert {(a.type, a.container) for a in by_suffix["cc"]} == {(pb.ACCOUNT_TYPE_CREDIT, pb.CONTAINER_CREDIT_CARD)}
    assert 20 < len(by_suffix["sav"]) < 40 and 3 < len(by_suffix["cc"]) < 25  # usually, sometimes
    assert len({t.transaction_id for t in data.transactions}) == len(data.transactions)


def test_customers_have_persona_attributes(data):
    for customer in data.customers:
        assert {"birth_year", "segment", "city", "occupation", "household_size", "customer_since"} <= set(
            customer.attributes)
    assert len({c.attributes["segment"] for c in data.customers}) >= 4


def test_amounts_are_positive_cents_in_the_currency(data):
    for txn in data.transactions:
        amount = _decimal(txn.amount)
        assert amount > 0 and amount == amount.quantize(Decimal("0.01")), txn.transaction_id
        assert txn.amount.currency_code == txn.running_balance.currency_code == "EUR"
        assert txn.direction in (pb.DIRECTION_CREDIT, pb.DIRECTION_DEBIT) and txn.category


def test_balances_follow_from_the_transactions(spec, data):
    days = (spec.until - spec.start).days + 1
    transactions = defaultdict(list)
    for txn in data.transactions:
        transactions[txn.account_id].append(txn)
    balances = defaultdict(list)
    for balance in data.balances:
        balances[balance.account_id].append(balance)
    assert set(balances) == {a.account_id for a in data.accounts}
    for account_id, series in balances.items():
        assert len(series) == days  # one end-of-day balance per account per day
        ordered = sorted(transactions[account_id], key=lambda t: (t.post_time.seconds, t.transaction_id))
        running, by_day = Decimal(0), {}
        for txn in ordered:
            running += _signed(txn)
            assert _decimal(txn.running_balance) == running, txn.transaction_id
            by_day[_day(txn)] = running
        current = Decimal(0)
        for balance in series:
            day = dt.date(balance.date.year, balance.date.month, balance.date.day)
            current = by_day.get(day, current)
            assert _decimal(balance.balance) == current, (account_id, day)
        assert current == sum((_signed(t) for t in ordered), Decimal(0))


def test_opening_balances_arrive_as_the_first_transaction(spec, data):
    openings = [t for t in data.transactions if t.category == "OPENING_BALANCE"]
    assert {t.account_id for t in openings} >= {a.account_id for a in data.accounts if a.account_id.endswith("-chk")}
    for txn in openings:
        assert txn.direction == pb.DIRECTION_CREDIT and _day(txn) == spec.start
        assert txn.transaction_id.endswith(f"-{spec.start:%Y%m%d}-01")


def test_every_month_has_a_salary_or_pension(spec, data):
    months = {(d.year, d.month) for d in spec.days()}
    paid = defaultdict(set)
    for txn in data.transactions:
        if txn.category in INCOME and txn.direction == pb.DIRECTION_CREDIT and txn.account_id.endswith("-chk"):
            paid[txn.account_id].add((_day(txn).year, _day(txn).month))
    for account in data.accounts:
        if account.account_id.endswith("-chk"):
            assert paid[account.account_id] == months, account.account_id


def test_everyday_spending_has_categories(data):
    categories = {t.category for t in data.transactions if t.direction == pb.DIRECTION_DEBIT}
    assert {"GROCERIES", "RESTAURANTS", "TRANSPORT", "SHOPPING", "UTILITIES", "CASH"} <= categories
    assert {"RENT", "MORTGAGE"} & categories


def test_savings_transfers_are_a_debit_and_a_matching_credit(data):
    out = sorted((t.account_id.removesuffix("-chk"), t.post_time.seconds, _decimal(t.amount))
                 for t in data.transactions if t.category == "SAVINGS" and t.direction == pb.DIRECTION_DEBIT)
    into = sorted((t.account_id.removesuffix("-sav"), t.post_time.seconds, _decimal(t.amount))
                  for t in data.transactions if t.category == "SAVINGS" and t.direction == pb.DIRECTION_CREDIT)
    assert out == into and len(out) > 40


def test_some_customers_run_into_overdraft(data):
    overdrawn = {b.account_id for b in data.balances
                 if b.account_id.endswith("-chk") and _decimal(b.balance) < 0}
    assert 0 < len(overdrawn) < 40
    assert any(t.category == "FEES" for t in data.transactions)  # overdraft interest


def test_savings_and_cards_stay_within_their_limits(spec, data):
    limits = {p.account("credit_card").account_id: p.card_limit for p in profiles(spec) if p.account("credit_card")}
    for balance in data.balances:
        amount = _decimal(balance.balance)
        if balance.account_id.endswith("-sav"):
            assert amount >= 0
        if balance.account_id in limits:
            assert -limits[balance.account_id] <= amount <= 0


def test_large_deposits_and_withdrawals_happen_now_and_then(data):
    large = [t for t in data.transactions if _decimal(t.amount) >= 300 and t.category not in (
        "OPENING_BALANCE", "SALARY", "PENSION", "RENT", "MORTGAGE", "SAVINGS", "CARD_REPAYMENT", "TRAVEL")]
    assert any(t.direction == pb.DIRECTION_CREDIT for t in large)
    assert any(t.direction == pb.DIRECTION_DEBIT for t in large)


def test_a_period_ending_mid_month_stops_on_until():
    spec = DemoSpec(customers=2, months=2, seed=1, until=dt.date(2026, 3, 14), currency="CZK")
    data = generate(spec)
    assert spec.start == dt.date(2026, 2, 1)
    assert max(_day(t) for t in data.transactions) <= spec.until
    assert max(dt.date(b.date.year, b.date.month, b.date.day) for b in data.balances) == spec.until
    assert {t.amount.currency_code for t in data.transactions} == {"CZK"}
    assert {a.currency_code for a in data.accounts} == {"CZK"}


def test_default_until_is_the_end_of_the_previous_month():
    assert default_until(dt.date(2026, 3, 15)) == dt.date(2026, 2, 28)
    assert default_until(dt.date(2026, 1, 1)) == dt.date(2025, 12, 31)


@pytest.mark.parametrize("bad", [{"customers": 0}, {"months": 0}, {"months": 121}, {"currency": "eur"}])
def test_spec_refuses_nonsense(bad):
    with pytest.raises(ValueError):
        DemoSpec(**{"customers": 1, "months": 1, "seed": 1, "until": UNTIL, **bad})
