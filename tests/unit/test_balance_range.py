"""Balances stay within what the store holds (±MAX_ABS_AMOUNT in whole ten-thousandths, a 64-bit
column): a transaction that would take one past it is rejected alone, and the sums made of stored
balances (a customer's savings over months) cannot fail on them."""

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from server.domain.ingest.balances import BALANCE_OUT_OF_RANGE, balance_fits, move_balances
from server.domain.ingest.model import Direction, IncomingTransaction
from server.domain.insights.definition import Duration, SubscriptionSettings, effective_subscription
from server.domain.insights.plugins import savings_increased as savings
from server.domain.money import MAX_ABS_AMOUNT, AmountError, fits_storage, from_scaled, to_scaled

MAX = to_scaled(MAX_ABS_AMOUNT)
INT64 = 2**63 - 1
stored = st.integers(-MAX, MAX)
# Around and far past the edges, as well as anywhere between.
any_scaled = st.one_of(stored, st.integers(-3 * MAX, 3 * MAX), st.integers(MAX - 3, MAX + 3),
                       st.integers(-MAX - 3, -MAX + 3))


@given(any_scaled, any_scaled)
def test_a_balance_fits_when_the_store_takes_it_back_exactly(balance, delta):
    try:
        to_scaled(from_scaled(balance + delta))
    except AmountError:
        storable = False
    else:
        storable = True
    assert balance_fits(balance, delta) == storable == fits_storage(balance + delta)
    if storable:
        assert -INT64 - 1 <= balance + delta <= INT64


def txn(transaction_id: str, account_id: str, amount: int, direction: Direction) -> IncomingTransaction:
    return IncomingTransaction(transaction_id, account_id, amount, "EUR", direction,
                               dt.datetime(2024, 1, 15, tzinfo=dt.UTC))


rows = st.lists(st.tuples(st.sampled_from(["a1", "a2"]), st.integers(0, MAX), st.sampled_from(list(Direction))),
                max_size=30)


@given(st.tuples(stored, stored), st.tuples(stored, stored), rows)
def test_moves_keep_every_balance_in_range_and_reject_only_what_would_leave_it(a1, a2, sent):
    balances = {"a1": a1, "a2": a2}
    transactions = [(i, txn(f"t{i}", account_id, amount, direction))
                    for i, (account_id, amount, direction) in enumerate(sent)]
    moves = move_balances(balances, transactions)

    # Replayed one by one: a row is rejected exactly when it would take either balance out of range.
    expected_rejected, now = [], dict(balances)
    for index, t in transactions:
        current, available = now[t.account_id]
        if -MAX <= current + t.signed_amount <= MAX and -MAX <= available + t.signed_amount <= MAX:
            now[t.account_id] = (current + t.signed_amount, available + t.signed_amount)
        else:
            expected_rejected.append(index)
    assert [r.index for r in moves.rejected] == expected_rejected
    assert all(r.reason == BALANCE_OUT_OF_RANGE and r.item_id == f"t{r.index}" for r in moves.rejected)
    for account_id, (current, available) in balances.items():
        delta = moves.deltas.get(account_id, 0)
        assert (current + delta, available + delta) == now[account_id]
        assert fits_storage(current + delta) and fits_storage(available + delta)


def test_ten_largest_credits_move_the_balance_once():
    credits = [(i, txn(f"max-{i}", "a1", MAX, Direction.CREDIT)) for i in range(10)]
    moves = move_balances({"a1": (0, 0)}, [*credits, (10, txn("debit", "a1", 1, Direction.DEBIT))])
    assert moves.deltas == {"a1": MAX - 1}
    assert [r.index for r in moves.rejected] == list(range(1, 10))
    assert "99,999,999,999,999.9999" in moves.rejected[0].message


@given(st.lists(st.tuples(stored, st.lists(stored, min_size=12, max_size=12)), min_size=1, max_size=40),
       st.sampled_from(list(Duration)), st.decimals(min_value=0, max_value=500, places=2))
def test_savings_of_accounts_at_any_storable_balance_are_figured_without_error(accounts, duration, threshold):
    # A customer's total and month-end totals add up many balances: Python integers and Decimal
    # figures (28 digits) hold them, and what is shown is a Decimal string, not a stored amount.
    subscription = effective_subscription(savings.DEFINITION, None, SubscriptionSettings(
        duration=duration, thresholds={"CHANGE": threshold}))
    item = savings.evaluate([savings.SavingsAccount(f"a{i}", "Bank", "Savings", "SAVINGS", "BANK", "EUR", balance,
                                                    tuple(months)) for i, (balance, months) in enumerate(accounts)],
                            subscription)
    if item is not None:
        total = Decimal(item["accountDerived"]["totalAvailableBalance"]["amount"])
        assert total == savings.round_money(from_scaled(sum(balance for balance, _ in accounts)))


def test_the_largest_savings_against_the_smallest_average_are_figured():
    subscription = effective_subscription(savings.DEFINITION, None, SubscriptionSettings(
        duration=Duration.LAST_THREE_MONTHS, thresholds={}))
    accounts = [savings.SavingsAccount("cent", "Bank", "Savings", "SAVINGS", "BANK", "EUR", MAX, (100,) * 12),
                *(savings.SavingsAccount(f"a{i}", "Bank", "Savings", "SAVINGS", "BANK", "EUR", MAX, (0,) * 12)
                  for i in range(999))]
    item = savings.evaluate(accounts, subscription)
    assert item is not None
    assert item["accountDerived"]["averageAvailableBalance"]["amount"] == "0.01"
    assert item["changeValue"][0]["changePercent"] == f"{(from_scaled(1000 * MAX) - Decimal('0.01')) * 10000:.2f}"
