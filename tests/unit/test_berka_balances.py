"""End-of-day balances from the bank's running balance: the day's chain, not trans_id order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from clients.berka.balances import Posting, chain_day, derive_daily_balances

DAY = dt.date(1993, 1, 31)


def posting(transaction_id: str, amount: str, balance: str, day: dt.date = DAY, account_id: str = "1") -> Posting:
    return Posting(account_id=account_id, day=day, transaction_id=transaction_id, signed_amount=Decimal(amount),
                   balance=Decimal(balance))


def ids(chain: list[Posting] | None) -> list[str] | None:
    return None if chain is None else [p.transaction_id for p in chain]


def closings(postings: list[Posting]) -> dict[dt.date, Decimal]:
    return {c.day: c.balance for c in derive_daily_balances(postings).closings}


def test_a_single_row_is_its_own_chain():
    assert ids(chain_day([posting("1", "900.00", "900.00")], Decimal(0))) == ["1"]


def test_rows_follow_the_balances_not_the_ids():
    # The statement fee has the lower id but comes after the interest.
    fee, interest = posting("10", "-14.60", "1085.40"), posting("99", "100.00", "1100.00")
    assert ids(chain_day([fee, interest], Decimal("1000.00"))) == ["99", "10"]


def test_rounded_interest_is_within_tolerance_but_a_larger_gap_is_not():
    assert ids(chain_day([posting("1", "448.70", "72940.60")], Decimal("72492.00"))) == ["1"]
    assert chain_day([posting("1", "448.70", "72940.50")], Decimal("72492.00")) is None


def test_without_a_previous_closing_any_row_may_start():
    deposit, withdrawal = posting("2", "41179.00", "133546.00"), posting("1", "-25700.00", "107846.00")
    assert ids(chain_day([withdrawal, deposit], None)) == ["2", "1"]


def test_exact_fits_win_over_rounded_ones():
    # Both orders chain; 1-2-3 needs 0.10 of rounding in total, 3-2-1 only 0.05.
    rows = [posting("3", "10.00", "110.00"), posting("2", "-10.00", "100.05"), posting("1", "10.00", "110.05")]
    assert ids(chain_day(rows, Decimal("100.00"))) == ["3", "2", "1"]


def test_equally_good_orders_keep_trans_id_order():
    rows = [posting("3", "10.00", "110.00"), posting("2", "-10.00", "100.00"), posting("1", "10.00", "110.00")]
    assert ids(chain_day(rows, Decimal("100.00"))) == ["1", "2", "3"]


def test_closing_is_the_end_of_the_chain_and_every_day_passes_the_check():
    rows = [posting("1", "700.00", "700.00", dt.date(1993, 1, 1)),
            posting("5", "-200.00", "600.00", dt.date(1993, 1, 2)),
            posting("4", "100.00", "800.00", dt.date(1993, 1, 2)),
            posting("3", "50.00", "650.00", dt.date(1993, 1, 3))]
    derivation = derive_daily_balances(rows)
    assert {c.day: c.balance for c in derivation.closings} == {
        dt.date(1993, 1, 1): Decimal("700.00"), dt.date(1993, 1, 2): Decimal("600.00"),
        dt.date(1993, 1, 3): Decimal("650.00")}
    assert (derivation.days_checked, derivation.failures) == (3, [])
    assert derivation.last_balances() == {"1": Decimal("650.00")}


def test_accounts_are_chained_separately():
    rows = [posting("1", "100.00", "100.00", account_id="a"), posting("2", "5.00", "5.00", account_id="b")]
    assert derive_daily_balances(rows).last_balances() == {"a": Decimal("100.00"), "b": Decimal("5.00")}


def test_a_day_missing_a_row_fails_the_check_keeps_the_bank_balance_and_the_next_day_recovers():
    # Like the cut trans.asc: the day's interest row is gone, the statement fee stays.
    rows = [posting("1", "1000.00", "1000.00", dt.date(1993, 1, 1)),
            posting("2", "-14.60", "1035.40", dt.date(1993, 1, 31)),
            posting("3", "-35.40", "1000.00", dt.date(1993, 2, 1))]
    derivation = derive_daily_balances(rows)
    assert [c.balance for c in derivation.closings] == [Decimal("1000.00"), Decimal("1035.40"), Decimal("1000.00")]
    assert [(f.day, f.expected, f.derived) for f in derivation.failures] == [
        (dt.date(1993, 1, 31), Decimal("985.40"), Decimal("1035.40"))]
    assert derivation.restarted_days == 1
    assert "1993-01-31" in str(derivation.failures[0])


def test_rows_that_form_no_chain_take_the_row_nearest_the_arithmetic_closing():
    rows = [posting("1", "100.00", "100.00", dt.date(1993, 1, 1)),
            posting("2", "10.00", "110.00"), posting("3", "5.00", "200.00")]
    derivation = derive_daily_balances(rows)
    assert derivation.closings[-1].balance == Decimal("110.00")  # 100 + 10 + 5 = 115 is nearest 110
    assert (derivation.unchained_days, len(derivation.failures)) == (1, 1)


def test_real_rows_of_account_2378_where_trans_id_order_is_wrong():
    # trans.asc, account 2378, 1993-05-18..31, in the file's order. On the 19th the file lists the withdrawal
    # before the deposit it follows; on the 31st the interest (highest id, rounded by 0.10) comes first,
    # then the fee, then the withdrawal with the lowest id, which ends the day.
    may = {day: dt.date(1993, 5, day) for day in (18, 19, 22, 31)}
    rows = [posting("695261", "41179.00", "133546.00", may[18]),
            posting("695566", "-25700.00", "107846.00", may[18]),
            posting("695567", "-50600.00", "100883.00", may[19]),
            posting("695256", "43637.00", "151483.00", may[19]),
            posting("695252", "31609.00", "132492.00", may[22]),
            posting("695568", "-60000.00", "72492.00", may[22]),
            posting("695569", "-24500.00", "48426.00", may[31]),
            posting("695493", "-14.60", "72926.00", may[31]),
            posting("3608596", "448.70", "72940.60", may[31])]
    derivation = derive_daily_balances(rows)
    assert {c.day: c.balance for c in derivation.closings} == {
        may[18]: Decimal("107846.00"), may[19]: Decimal("100883.00"), may[22]: Decimal("72492.00"),
        may[31]: Decimal("48426.00")}
    assert derivation.failures == []
    assert ids(chain_day(rows[6:], Decimal("72492.00"))) == ["3608596", "695493", "695569"]
