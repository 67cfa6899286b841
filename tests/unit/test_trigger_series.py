"""The per-account day series of triggers: postings and fed balances into day rows, and the metrics."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.triggers.series import (
    AccountDay,
    AccountSnapshot,
    apply_fed_balance,
    apply_posting,
    average_collected_balance,
    collected_balance_on,
    min_balance,
    overdraft_count,
    posting_totals,
    previous_month,
)
from tests.unit.trigger_helpers import D, posting, snapshot

NOV = [dt.date(2026, 11, d) for d in range(1, 31)]  # NOV[0] is 1 November


def test_a_posting_opens_its_day_and_later_ones_update_it():
    account, row = apply_posting(snapshot("50"), posting(NOV[2], "-80", "-30", "a"))
    assert row == AccountDay(NOV[2], D("-30"), None, D("-30"), 1, D("80"), True)
    account, row = apply_posting(account, posting(NOV[2], "100", "70", "b"))
    assert row == AccountDay(NOV[2], D("70"), None, D("-30"), 2, D("180"), True)
    assert (account.balance, account.available_balance) == (D("70"), D("70"))
    account, row = apply_posting(account, posting(NOV[3], "-5", "65", "c"))
    assert [r.day for r in account.days] == [NOV[2], NOV[3]]
    assert row == AccountDay(NOV[3], D("65"), None, D("65"), 1, D("5"), False)


def test_a_posting_booked_before_the_latest_day_counts_on_the_latest_day():
    account, _ = apply_posting(snapshot("0"), posting(NOV[4], "10", "10"))
    account, row = apply_posting(account, posting(NOV[1], "5", "15", "late"))
    assert row.day == NOV[4] and row.closing_balance == D("15") and row.postings == 2
    assert len(account.days) == 1


def test_the_available_balance_moves_with_the_balance():
    start = AccountSnapshot("acc1", "cus1", "USD", D("100"), D("80"))
    account, _ = apply_posting(start, posting(NOV[0], "-30", "70"))
    assert account.available_balance == D("50")


def test_a_fed_balance_fills_its_day_in_order_and_replaces_an_earlier_feed():
    account, _ = apply_posting(snapshot("0"), posting(NOV[1], "10", "10"))
    account, _ = apply_posting(account, posting(NOV[5], "10", "20"))
    account, row = apply_fed_balance(account, NOV[3], D("12"))
    assert [r.day for r in account.days] == [NOV[1], NOV[3], NOV[5]]
    assert row == AccountDay(NOV[3], fed_balance=D("12"))
    account, row = apply_fed_balance(account, NOV[5], D("21"))
    account, row = apply_fed_balance(account, NOV[5], D("22"))
    assert row.fed_balance == D("22") and row.closing_balance == D("20") and row.postings == 1
    assert account.balance == D("20")  # the current balance is the accounts' own


def test_average_collected_balance_with_fed_carried_and_unknown_days():
    # 1-2 Nov: before the first known balance; 3rd: 100 after a posting; 4th: carried;
    # 5th: a posting leaves 150 but the bank fed 200; 6th: 200 carried.
    account, _ = apply_posting(snapshot("0"), posting(NOV[2], "100", "100"))
    account, _ = apply_posting(account, posting(NOV[4], "50", "150"))
    account, _ = apply_fed_balance(account, NOV[4], D("200"))
    assert average_collected_balance(account, NOV[0], NOV[5]) == D("150.0000")
    assert average_collected_balance(account, NOV[0], NOV[1]) is None
    assert average_collected_balance(account, NOV[5], NOV[9]) == D("200.0000")  # carried in
    assert average_collected_balance(account, NOV[3], NOV[5]) == D("166.6667")  # rounded half-up
    assert collected_balance_on(account, NOV[3]) == D("100")
    assert collected_balance_on(account, NOV[1]) is None


def test_min_balance_counts_the_balance_carried_into_the_window():
    account, _ = apply_posting(snapshot("10"), posting(NOV[2], "-20", "-10"))
    account, _ = apply_posting(account, posting(NOV[2], "40", "30", "b"))
    account, _ = apply_posting(account, posting(NOV[6], "-5", "25", "c"))
    assert min_balance(account, NOV[0], NOV[9]) == D("-10")
    assert min_balance(account, NOV[3], NOV[9]) == D("25")  # 30 carried in, 25 on the 7th
    assert min_balance(account, NOV[6], NOV[9]) == D("25")  # the 7th opens at 30
    assert min_balance(account, NOV[0], NOV[1]) is None
    account, _ = apply_fed_balance(account, NOV[7], D("24"))
    assert min_balance(account, NOV[7], NOV[9]) == D("24")
    account, _ = apply_fed_balance(account, NOV[5], D("5"))  # the bank's end of the 6th: below the postings'
    assert min_balance(account, NOV[6], NOV[9]) == D("5")


def test_overdraft_count_counts_the_days_the_balance_went_below_zero():
    account, _ = apply_posting(snapshot("10"), posting(NOV[2], "-20", "-10", "a"))
    account, _ = apply_posting(account, posting(NOV[2], "-5", "-15", "b"))  # still overdrawn: same day
    account, _ = apply_posting(account, posting(NOV[3], "-5", "-20", "c"))  # already below: not a new one
    account, _ = apply_posting(account, posting(NOV[4], "40", "20", "d"))
    account, _ = apply_posting(account, posting(NOV[5], "-30", "-10", "e"))
    assert overdraft_count(account, NOV[0], NOV[9]) == 2
    assert overdraft_count(account, NOV[3], NOV[4]) == 0
    assert overdraft_count(account, NOV[0], NOV[1]) is None
    assert overdraft_count(account, NOV[7], NOV[9]) == 0  # balance known (carried), no overdraft


def test_posting_totals():
    account, _ = apply_posting(snapshot("0"), posting(NOV[2], "-20", "-20", "a"))
    account, _ = apply_posting(account, posting(NOV[4], "30", "10", "b"))
    assert posting_totals(account, NOV[0], NOV[9]) == (2, D("50"))
    assert posting_totals(account, NOV[3], NOV[9]) == (1, D("30"))


def test_previous_month():
    assert previous_month(dt.date(2026, 1, 15)) == (dt.date(2025, 12, 1), dt.date(2025, 12, 31))
    assert previous_month(dt.date(2026, 3, 31)) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert previous_month(dt.date(2026, 3, 1), 2) == (dt.date(2026, 1, 1), dt.date(2026, 1, 31))


# --- against a day-by-day computation ----------------------------------------------------------------

FIRST = dt.date(2026, 1, 1)
amounts = st.decimals(min_value=-500, max_value=500, places=2, allow_nan=False, allow_infinity=False)
happenings = st.lists(
    st.tuples(st.integers(0, 60), st.booleans(), amounts),  # (day offset, fed?, amount or fed balance)
    max_size=40)


def _build(events: list[tuple[int, bool, Decimal]]):
    """The snapshot built from postings in day order (fed balances interleaved anywhere), and the same
    facts kept plainly: each day's balances after postings, and its fed balance."""
    account = snapshot("0")
    balance = D(0)
    after: dict[dt.date, list[Decimal]] = {}
    fed: dict[dt.date, Decimal] = {}
    for n, (offset, is_fed, amount) in enumerate(sorted(events, key=lambda e: e[0])):
        day = FIRST + dt.timedelta(days=offset)
        if is_fed:
            account, _ = apply_fed_balance(account, day, amount)
            fed[day] = amount
        else:
            balance += amount
            account, _ = apply_posting(account, posting(day, amount, balance, f"t{n}"))
            after.setdefault(day, []).append(balance)
    return account, after, fed


def _collected_day_by_day(after, fed, last: dt.date) -> dict[dt.date, Decimal]:
    known: dict[dt.date, Decimal] = {}
    value = None
    day = FIRST
    while day <= last:
        if day in fed:
            value = fed[day]
        elif day in after:
            value = after[day][-1]
        if value is not None:
            known[day] = value
        day += dt.timedelta(days=1)
    return known


@settings(max_examples=200, deadline=None)
@given(happenings, st.integers(0, 70), st.integers(1, 40))
def test_average_collected_balance_is_the_mean_of_the_days(events, end_offset, length):
    account, after, fed = _build(events)
    end = FIRST + dt.timedelta(days=end_offset)
    start = end - dt.timedelta(days=length - 1)
    known = _collected_day_by_day(after, fed, end)
    counted = [known[d] for d in known if start <= d <= end]
    expected = (sum(counted) / len(counted)).quantize(D("0.0001"), ROUND_HALF_UP) if counted else None
    assert average_collected_balance(account, start, end) == expected


@settings(max_examples=200, deadline=None)
@given(happenings, st.integers(0, 70), st.integers(1, 40))
def test_min_balance_and_overdraft_count_day_by_day(events, end_offset, length):
    account, after, _ = _build([e for e in events if not e[1]])
    end = FIRST + dt.timedelta(days=end_offset)
    start = end - dt.timedelta(days=length - 1)
    balances: list[Decimal] = []  # every balance the account had on the window's known days
    overdrafts = 0
    known_days = 0
    previous = D(0)  # the balance before the first posting (known from the first posting's day on)
    day = FIRST
    while day <= end:
        known = bool(after) and day >= min(after)
        todays = [previous, *after.get(day, [])]
        if start <= day and known:
            known_days += 1
            balances.extend(todays)
            overdrafts += any(a >= 0 > b for a, b in pairwise(todays))
        previous = todays[-1]
        day += dt.timedelta(days=1)
    assert min_balance(account, start, end) == (min(balances) if balances else None)
    assert overdraft_count(account, start, end) == (overdrafts if known_days else None)


@settings(max_examples=150, deadline=None)
@given(happenings, st.lists(st.tuples(st.integers(0, 70), st.integers(1, 40)), min_size=1, max_size=5))
def test_running_sums_shared_between_snapshots_agree_with_fresh_ones(events, windows):
    """Snapshots derived from one another share running sums; querying them in any order, and branching
    two ways from one snapshot, gives what a snapshot of the same rows computed afresh gives."""
    account = snapshot("0")
    balance = D(0)
    seen = []
    for n, (offset, is_fed, amount) in enumerate(sorted(events, key=lambda e: e[0])):
        day = FIRST + dt.timedelta(days=offset)
        if is_fed:
            account, _ = apply_fed_balance(account, day, amount)
        else:
            balance += amount
            sibling, _ = apply_posting(account, posting(day + dt.timedelta(days=1), "1", balance + 1, "s"))
            average_collected_balance(sibling, FIRST, day)  # the sibling extends the shared sums first
            account, _ = apply_posting(account, posting(day, amount, balance, f"t{n}"))
            seen.append(sibling)
        average_collected_balance(account, FIRST, day)  # and the chain itself as it goes
        seen.append(account)
    for end_offset, length in windows:
        end = FIRST + dt.timedelta(days=end_offset)
        start = end - dt.timedelta(days=length - 1)
        for shared in reversed(seen):
            fresh = AccountSnapshot("acc1", "cus1", "USD", shared.balance, shared.balance, shared.days)
            for metric in (average_collected_balance, overdraft_count, posting_totals, min_balance):
                assert metric(shared, start, end) == metric(fresh, start, end)
