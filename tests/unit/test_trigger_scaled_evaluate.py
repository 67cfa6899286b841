"""The live evaluation's scaled path (server.domain.triggers.scaled_series and scaled_evaluate) decides every
condition as the Decimal one (series + evaluate) does, at every posting, on random stored rows and postings
(booked before the latest row too, balances that jump, rows without a balance, fed balances) and random
conditions of every leaf kind; the rows it writes back are the Decimal series' own."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.events import Money, Posting
from server.domain.ingest.model import Direction
from server.domain.money import from_scaled, to_scaled
from server.domain.segments.attributes import AttributeCatalogue
from server.domain.segments.evaluate import CustomerFacts
from server.domain.triggers.evaluate import PointEvaluation, compiled
from server.domain.triggers.parser import parse_condition
from server.domain.triggers.scaled_evaluate import ScaledPoint, scaled_compiled
from server.domain.triggers.scaled_series import ScaledAccount, ScaledDay, decimal_day
from server.domain.triggers.series import AccountSnapshot, apply_posting

TODAY = dt.date(2026, 3, 3)  # a posting's day: early in a month, so that month windows are short
CATALOGUE = AttributeCatalogue.of([])

amounts = st.sampled_from(["-50", "0", "100", "250.5", "1000", "99.9999", "-0.0001", "3"])
percents = st.sampled_from(["0", "10", "50", "99.5", "100", "150", "400"])
comparators = st.sampled_from(["<", "<=", ">", ">=", "=", "!="])
windows = st.sampled_from(["1d", "3d", "10d", "30d", "month", "last_month"])
windowed = st.sampled_from(["average_collected_balance", "min_balance"])
changed = st.one_of(st.just("balance"), st.builds("average_collected_balance({})".format, windows))
leaf = st.one_of(
    st.builds("{}({}) {} {}".format, windowed, windows, comparators, amounts),
    st.builds("overdraft_count({}) {} {}".format, windows, comparators, st.sampled_from(["0", "1", "2"])),
    st.builds("{} {} {}".format, st.sampled_from(["balance", "available_balance"]), comparators, amounts),
    st.builds("{}(last_month) {} {} FOR {} MONTHS".format, windowed, comparators, amounts, st.integers(1, 3)),
    st.builds("overdraft_count(last_month) {} {} FOR 2 MONTHS".format, comparators, st.sampled_from(["0", "1"])),
    st.builds("change({}, {}) {} {}".format, changed, windows, comparators, amounts),
    st.builds("change({}, {}) {} {}%".format, changed, windows, comparators, percents),
    st.builds("{} {} {}".format, st.sampled_from(["deposit", "withdrawal"]), comparators,
              st.sampled_from(["0", "5", "100", "250.5"])),
    st.builds("{} {} {}% OF {}".format, st.sampled_from(["deposit", "withdrawal"]), comparators, percents,
              st.sampled_from(["balance", "average_transaction"])),
    st.just("holds('SAVINGS')"), st.just("overdraft"))
conditions = st.one_of(leaf, st.builds("{} AND {}".format, leaf, leaf), st.builds("{} OR {}".format, leaf, leaf),
                       st.builds("NOT ({} AND {})".format, leaf, leaf))

scaled_amounts = st.sampled_from([-9_000_000, -2_000_000, -300_000, -5_000, -1, 1, 10_000, 900_000, 4_000_000])
# Small odd balances too: averages that end in exactly half a ten-thousandth, either sign.
balances = st.one_of(st.none(), st.sampled_from([-3, -1, 0, 1, 2, 3]), st.integers(-5_000_000, 20_000_000))
# A stored row: days back from TODAY, closing, fed and lowest balance, postings, magnitudes, overdraft began.
stored_row = st.tuples(st.integers(1, 140), balances, st.one_of(st.none(), st.none(), balances), balances,
                       st.integers(0, 4), st.integers(0, 3_000_000), st.booleans())
# A posting: days before TODAY it is booked (0: today), amount, a balance it jumps to first (None: carried),
# and whether its Decimal amounts carry four places (the text the values show; the decision must not care).
move = st.tuples(st.sampled_from([0, 0, 0, 1, 40]), scaled_amounts, st.sampled_from([None, None, -20_000, 0]),
                 st.booleans())


def _rows(drawn: list[tuple[int, int | None, int | None, int | None, int, int, bool]]) -> list[ScaledDay]:
    by_day = {TODAY - dt.timedelta(days=back): rest for back, *rest in drawn}
    return [(day, *by_day[day]) for day in sorted(by_day)]  # type: ignore[misc]


def _decimal(scaled: int, four_places: bool) -> Decimal:
    return from_scaled(scaled) if four_places else from_scaled(scaled).normalize() + 0


@settings(max_examples=600, deadline=None)
@given(st.lists(stored_row, max_size=8), st.integers(-3_000_000, 8_000_000), st.integers(-100_000, 100_000),
       st.lists(move, min_size=1, max_size=6), st.lists(conditions, min_size=1, max_size=4), st.booleans())
def test_the_scaled_evaluation_decides_as_the_decimal_one(drawn_rows: list[Any], opening: int, held: int,
                                                          moves: list[Any], texts: list[str], saver: bool) -> None:
    rows = _rows(drawn_rows)
    parsed = [parse_condition(text, CATALOGUE) for text in texts]
    facts = CustomerFacts(holdings=frozenset({"SAVINGS"} if saver else set()))
    account = ScaledAccount(opening, held, rows)
    snapshot = AccountSnapshot("a", "c", "USD", from_scaled(opening), from_scaled(opening + held),
                               tuple(decimal_day(row) for row in rows))
    balance = opening
    for number, (back, amount, jump, four_places) in enumerate(moves):
        balance = (balance if jump is None else jump) + amount
        day = TODAY - dt.timedelta(days=back)
        posting = Posting(f"t{number}", "a", "c", "CHECKING", "BANK", Money(_decimal(amount, four_places), "USD"),
                          Money(_decimal(balance, four_places), "USD"),
                          dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC),
                          Direction.CREDIT if amount >= 0 else Direction.DEBIT)
        before_scaled, before = account.balance, snapshot
        ordinal = account.apply_posting(balance, amount, day.toordinal())
        snapshot, row = apply_posting(snapshot, posting)
        assert ordinal == row.day.toordinal()
        decimal_point = PointEvaluation(snapshot, row.day, posting, before, facts)
        point = ScaledPoint(account, row.day, posting.direction, abs(amount), before_scaled, facts,
                            partial(PointEvaluation, snapshot, row.day, posting, before, facts))
        for condition, text in zip(parsed, texts, strict=True):
            expected = decimal_point.run(compiled(condition))
            assert point.holds(scaled_compiled(condition)) is expected[0], (text, number)
            assert point.readings(compiled(condition)) == expected
    assert [account.row(i) for i in range(len(account.days))] == [
        (d.day, _scaled(d.closing_balance), _scaled(d.fed_balance), _scaled(d.min_balance), d.postings,
         to_scaled(d.posting_total), d.overdraft_began) for d in snapshot.days]


def _scaled(amount: Decimal | None) -> int | None:
    return None if amount is None else to_scaled(amount)

def _one_posting(rows: list[ScaledDay], amount: int, balance: int, text: str) -> tuple[bool, bool]:
    """The scaled and the Decimal decision of `text` at one posting of `amount` leaving `balance`."""
    condition = parse_condition(text, CATALOGUE)
    account = ScaledAccount(balance - amount, 0, rows)
    snapshot = AccountSnapshot("a", "c", "USD", from_scaled(balance - amount), from_scaled(balance - amount),
                               tuple(decimal_day(row) for row in rows))
    posting = Posting("t", "a", "c", "CHECKING", "BANK", Money(from_scaled(amount), "USD"),
                      Money(from_scaled(balance), "USD"), dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC),
                      Direction.CREDIT if amount >= 0 else Direction.DEBIT)
    account.apply_posting(balance, amount, TODAY.toordinal())
    after, row = apply_posting(snapshot, posting)
    decimal_point = PointEvaluation(after, row.day, posting, snapshot, CustomerFacts())
    point = ScaledPoint(account, row.day, posting.direction, abs(amount), balance - amount, CustomerFacts(),
                        lambda: decimal_point)
    return point.holds(scaled_compiled(condition)), decimal_point.run(compiled(condition))[0]


def test_an_average_of_exactly_half_a_ten_thousandth_rounds_away_from_zero() -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    for balance, text in ((1, "average_collected_balance(2d) = 0.0001"),
                          (-1, "average_collected_balance(2d) = -0.0001")):
        # yesterday 0, today `balance`: the mean is half a ten-thousandth
        assert _one_posting([(yesterday, 0, None, 0, 1, 0, False)], balance, balance, text) == (True, True)


def test_a_first_posting_has_no_average_transaction() -> None:
    for comparator in ("<=", ">=", "="):
        assert _one_posting([], 5_000, 5_000, f"deposit {comparator} 0% OF average_transaction") == (False, False)


@settings(max_examples=400, deadline=None)
@given(st.lists(stored_row, max_size=10), st.lists(st.tuples(st.integers(-150, 5), st.integers(0, 60)), min_size=1,
                                                   max_size=6))
def test_the_metrics_over_a_windows_rows_equal_the_running_sums(drawn_rows: list[Any],
                                                                 windows: list[tuple[int, int]]) -> None:
    """average_of_rows, posting_totals and collected_on, read off a window's rows, give what the running sums
    (sums_before, as `average` reads them) give, for windows before, across and after the rows."""
    account = ScaledAccount(0, 0, _rows(drawn_rows))
    today = TODAY.toordinal()
    for back, length in windows:
        first, last = today + back - length, today + back
        assert account.average_of_rows(first, last) == account.average(first, last)
        _, _, _, postings_before, magnitude_before, _ = account.sums_before(first)
        _, _, _, postings, magnitude, _ = account.sums_before(last + 1)
        assert account.posting_totals(first, last) == (postings - postings_before, magnitude - magnitude_before)
        assert account.collected_on(last) == account.sums_before(last + 1)[0]
