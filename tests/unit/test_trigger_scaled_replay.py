"""The backtest's fast replay of balance conditions (server.domain.triggers.scaled_replay) gives exactly
replay()'s firings, values included, on random histories and rules: postings out of time order, booked
before the opening's day, running balances that jump, fed balances, several accounts per customer,
unknown openings, accounts cut short, cool-downs."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.events import Money, Posting
from server.domain.ingest.model import Direction
from server.domain.money import from_scaled
from server.domain.segments.attributes import AttributeCatalogue
from server.domain.segments.evaluate import CustomerFacts
from server.domain.triggers.parser import parse_condition
from server.domain.triggers.replay import AccountHistory, replay
from server.domain.triggers.scaled_replay import ScaledHistory, ScaledPosting, scaled_replay, supports
from server.domain.triggers.series import AccountDay, AccountSnapshot

FIRST = dt.date(2026, 3, 1)  # the warm-up's first day

thresholds = st.sampled_from(["-50", "0", "100", "250.5", "1000", "99.9999", "-0.0001", "100.5"])
comparators = st.sampled_from(["<", "<=", ">", ">=", "=", "!="])
windows = st.sampled_from(["1d", "3d", "10d", "month", "last_month"])
leaf = st.one_of(
    st.builds("average_collected_balance({}) {} {}".format, windows, comparators, thresholds),
    st.builds("min_balance({}) {} {}".format, windows, comparators, thresholds),
    st.builds("balance {} {}".format, comparators, thresholds),
    st.builds("available_balance {} {}".format, comparators, thresholds),
    st.builds("average_collected_balance(last_month) {} {} FOR 2 MONTHS".format, comparators, thresholds),
    st.builds("min_balance(last_month) {} {} FOR 3 MONTHS".format, comparators, thresholds),
    st.builds("NOT balance {} {}".format, comparators, thresholds))
conditions = st.one_of(leaf, st.builds("{} AND {}".format, leaf, leaf), st.builds("{} OR {}".format, leaf, leaf),
                       st.builds("({} OR {}) AND NOT ({})".format, leaf, leaf, leaf))

amounts = st.sampled_from([-900_000, -200_000, -30_000, -5_000, -1, 10_000, 90_000, 400_000, 1_500_000])
# (day offset from FIRST, hour, amount, the running balance: carried, jumping to a stored figure)
postings_ = st.lists(st.tuples(st.integers(-3, 100), st.sampled_from([0, 9, 23]), amounts,
                               st.sampled_from([None, None, None, 5_000_000, -70_000])), max_size=25)
fed_ = st.dictionaries(st.integers(0, 100), st.integers(-5_000_000, 30_000_000), max_size=5)
account = st.tuples(st.integers(-10_000_000, 50_000_000), st.booleans(), st.integers(0, 300_000), postings_,
                    st.booleans(), fed_, st.one_of(st.none(), st.integers(0, 100)))
customers = st.lists(st.lists(account, min_size=1, max_size=3), min_size=1, max_size=3)


def _histories(customers_: list) -> tuple[list[AccountHistory], list[ScaledHistory]]:  # type: ignore[type-arg]
    general, scaled = [], []
    opening_day = FIRST - dt.timedelta(days=1)
    for c, accounts in enumerate(customers_):
        for a, (opening, known, held, moves, in_order, fed, last) in enumerate(accounts):
            account_id, customer_id = f"c{c}a{a}", f"c{c}"
            if in_order:
                moves = sorted(moves, key=lambda m: (m[0], m[1]))
            balance = opening
            plain, lean = [], []
            for n, (offset, hour, amount, jump) in enumerate(moves):
                balance = balance + amount if jump is None else jump
                posted_at = dt.datetime.combine(FIRST + dt.timedelta(days=offset), dt.time(hour), tzinfo=dt.UTC)
                transaction_id = f"{account_id}t{n}"
                plain.append(Posting(transaction_id, account_id, customer_id, "CHECKING", "BANK",
                                     Money(from_scaled(amount), "EUR"), Money(from_scaled(balance), "EUR"), posted_at,
                                     Direction.CREDIT if amount > 0 else Direction.DEBIT))
                lean.append(ScaledPosting(transaction_id, posted_at, posted_at.date(), balance, amount))
            fed_days = sorted((FIRST + dt.timedelta(days=offset), value) for offset, value in fed.items())
            last_day = None if last is None else FIRST + dt.timedelta(days=last)
            start = from_scaled(opening)
            days = (AccountDay(opening_day, closing_balance=start, min_balance=start),) if known else ()
            general.append(AccountHistory(
                AccountSnapshot(account_id, customer_id, "EUR", start, start - from_scaled(held), days), tuple(plain),
                tuple((day, from_scaled(value)) for day, value in fed_days), CustomerFacts(), last_day))
            scaled.append(ScaledHistory(account_id, customer_id, opening, held, opening_day if known else None,
                                        tuple(lean), tuple(fed_days), last_day))
    return general, scaled


@settings(max_examples=400, deadline=None)
@given(text=conditions, customers_=customers, start_offset=st.integers(0, 60), length=st.integers(0, 60),
       cooldown_days=st.sampled_from([0, 3, 20]), daily_hour=st.sampled_from([0, 0, 9]))
def test_scaled_replay_fires_as_replay(text: str, customers_: list, start_offset: int, length: int,  # type: ignore[type-arg]
                                       cooldown_days: int, daily_hour: int) -> None:
    condition = parse_condition(text, AttributeCatalogue.of(()))
    assert supports(condition)
    general, scaled = _histories(customers_)
    start = FIRST + dt.timedelta(days=start_offset)
    end = start + dt.timedelta(days=length)
    options = {"start": start, "end": end, "cooldown": dt.timedelta(days=cooldown_days),
               "daily_at": dt.time(daily_hour)}
    assert list(scaled_replay(condition, scaled, **options)) == list(
        replay(condition, general, prefilter=False, **options))


@pytest.mark.parametrize("text", ["withdrawal > 100", "change(balance, 7d) < -200", "overdraft_count(month) >= 1",
                                  "balance < 0 AND holds('OVERDRAFT_PROTECTION')",
                                  "balance < 0 OR deposit > 10"])
def test_conditions_reading_more_than_balances_are_left_to_replay(text: str) -> None:
    condition = parse_condition(text, AttributeCatalogue.of(()))
    assert not supports(condition)
    with pytest.raises(ValueError):
        list(scaled_replay(condition, [], start=FIRST, end=FIRST, cooldown=dt.timedelta(0)))


def test_firing_values_are_the_general_replays_text() -> None:
    condition = parse_condition("average_collected_balance(3d) < 100 AND balance >= 0", AttributeCatalogue.of(()))
    general, scaled = _histories([[(1_000_000, True, 0, [(1, 9, -995_000, None), (2, 9, 1, None)], True, {}, None)]])
    firings = list(scaled_replay(condition, scaled, start=FIRST, end=FIRST + dt.timedelta(days=5),
                                 cooldown=dt.timedelta(0)))
    assert firings == list(replay(condition, general, start=FIRST, end=FIRST + dt.timedelta(days=5),
                                  cooldown=dt.timedelta(0), prefilter=False))
    assert [dict(f.values) for f in firings] == [
        {"average_collected_balance(3d)": "66.8333", "balance": "0.5000"}]
