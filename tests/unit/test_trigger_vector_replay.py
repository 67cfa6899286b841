"""The backtest's array replay of balance conditions (server.domain.triggers.vector_replay) gives exactly
scaled_replay's firings, and so replay()'s, values included, on random histories and rules: postings out
of time order, booked before the opening's day or on a window's edge, running balances that jump, fed
balances, unknown openings, accounts without postings or cut short, several accounts per customer, calendar
months, FOR n MONTHS, NOT and OR, thresholds met exactly, cool-downs."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from server.domain.segments.attributes import AttributeCatalogue
from server.domain.triggers.parser import parse_condition
from server.domain.triggers.replay import replay
from server.domain.triggers.scaled_replay import ScaledHistory, ScaledPosting, prepare, scaled_replay
from server.domain.triggers.vector_replay import histories_of, page_of, vector_fired, vector_replay
from tests.unit.test_trigger_scaled_replay import FIRST, _histories, conditions, customers

# Thresholds a balance reaches exactly (the openings and stored balances below) besides the generated ones.
exact = st.sampled_from(["100", "0", "-7", "500"])
leaf_exact = st.one_of(
    st.builds("balance {} {}".format, st.sampled_from(["=", "<=", ">=", "!="]), exact),
    st.builds("min_balance({}) {} {}".format, st.sampled_from(["1d", "2d", "month", "last_month"]),
              st.sampled_from(["=", "<", "<=", ">"]), exact),
    st.builds("average_collected_balance({}) {} {}".format, st.sampled_from(["1d", "2d", "7d", "month"]),
              st.sampled_from(["=", ">=", "<"]), exact))
rules = st.one_of(conditions, leaf_exact, st.builds("NOT ({}) OR {}".format, leaf_exact, conditions))

_OPTIONS = {"start": FIRST + dt.timedelta(days=5), "end": FIRST + dt.timedelta(days=40),
            "cooldown": dt.timedelta(0), "daily_at": dt.time(0)}


def _compare(text: str, customers_: list, **options: object) -> None:  # type: ignore[type-arg]
    condition = parse_condition(text, AttributeCatalogue.of(()))
    general, scaled = _histories(customers_)
    prepared = prepare(condition)
    page = page_of(scaled)
    vector = vector_replay(prepared, page, **options)  # type: ignore[arg-type]
    assert vector == list(scaled_replay(prepared, scaled, **options))  # type: ignore[arg-type]
    assert vector == list(replay(condition, general, prefilter=False, **options))  # type: ignore[arg-type]
    # Counted only, on a page read without its transaction ids (a backtest's sample full): the same firings.
    assert vector_fired(prepared, dataclasses.replace(page, transaction_ids=None), **options) == [  # type: ignore[arg-type]
        (f.account_id, f.customer_id, f.day) for f in vector]


@settings(max_examples=500, deadline=None)
@given(text=rules, customers_=customers, start_offset=st.integers(0, 60), length=st.integers(0, 60),
       cooldown_days=st.sampled_from([0, 3, 20]), cooldown_hours=st.sampled_from([0, 9]),
       daily_hour=st.sampled_from([0, 0, 0, 9]))
# No postings; postings on the first and last day of a 2-day window and of a month; an exact threshold.
@example(text="min_balance(2d) = 500 OR balance = 100", customers_=[[(1_000_000, True, 0, [], True, {}, None)]],
         start_offset=0, length=10, cooldown_days=0, cooldown_hours=0, daily_hour=0)
@example(text="average_collected_balance(2d) >= 0 AND NOT min_balance(month) < 0",
         customers_=[[(0, False, 0, [(4, 0, -5_000, None), (6, 23, 5_000, None), (31, 0, -1, None)], True, {}, None),
                      (-70_000, True, 3, [(30, 23, 70_000, 0)], True, {30: -70_000}, 40)]],
         start_offset=3, length=40, cooldown_days=0, cooldown_hours=9, daily_hour=0)
@example(text="average_collected_balance(last_month) < 100 FOR 2 MONTHS",
         customers_=[[(900_000, True, 0, [(0, 0, 100_000, None), (30, 9, -1, None)], True, {31: 1_000_000}, None)]],
         start_offset=59, length=40, cooldown_days=20, cooldown_hours=0, daily_hour=0)
def test_vector_replay_fires_as_scaled_replay(text: str, customers_: list, start_offset: int, length: int,  # type: ignore[type-arg]
                                              cooldown_days: int, cooldown_hours: int, daily_hour: int) -> None:
    start = FIRST + dt.timedelta(days=start_offset)
    _compare(text, customers_, start=start, end=start + dt.timedelta(days=length),
             cooldown=dt.timedelta(days=cooldown_days, hours=cooldown_hours), daily_at=dt.time(daily_hour))


def test_a_page_survives_the_way_back_to_histories() -> None:
    """histories_of (the fallback's input) gives back the histories page_of took."""
    _, scaled = _histories([[(5, True, 1, [(2, 9, 10_000, None), (1, 0, -1, 7)], False, {3: 4}, 9)],
                            [(0, False, 0, [], True, {}, None)]])
    assert histories_of(page_of(scaled)) == [
        ScaledHistory(h.account_id, h.customer_id, h.opening, h.held, h.opening_day, list(h.postings),
                      list(h.fed_balances), h.last_day) for h in scaled]


def test_a_rechecked_day_at_another_hour_falls_back_to_the_step_replay() -> None:
    _compare("average_collected_balance(3d) < 100", [[(1_000_000, True, 0, [(1, 9, -995_000, None)], True, {}, None)]],
             **{**_OPTIONS, "start": FIRST, "daily_at": dt.time(9)})


def test_a_page_without_its_transaction_ids_is_only_counted() -> None:
    prepared = prepare(parse_condition("balance < 0", AttributeCatalogue.of(())))
    with pytest.raises(ValueError, match="without its transaction ids"):
        vector_replay(prepared, dataclasses.replace(page_of([]), transaction_ids=None), start=FIRST, end=FIRST,
                      cooldown=dt.timedelta(0))


def test_an_empty_page_fires_nothing() -> None:
    assert vector_fired(prepare(parse_condition("balance < 0", AttributeCatalogue.of(()))), page_of([]),
                        start=FIRST, end=FIRST, cooldown=dt.timedelta(0)) == []
    assert vector_replay(prepare(parse_condition("balance < 0", AttributeCatalogue.of(()))), page_of([]),
                         **_OPTIONS) == []  # type: ignore[arg-type]


def test_a_firing_shows_the_values_read_in_order() -> None:
    condition = parse_condition("balance < 0 OR min_balance(last_month) < 1 FOR 2 MONTHS", AttributeCatalogue.of(()))
    history = ScaledHistory("a", "c", 0, 0, FIRST - dt.timedelta(days=1), (
        ScaledPosting("t", dt.datetime(2026, 5, 2, 9, tzinfo=dt.UTC), dt.date(2026, 5, 2), 20_000, 20_000),))
    firings = vector_replay(prepare(condition), page_of([history]), start=dt.date(2026, 5, 1),
                            end=dt.date(2026, 5, 3), cooldown=dt.timedelta(0))
    assert [(f.day, f.transaction_id, dict(f.values)) for f in firings] == [
        (dt.date(2026, 5, 1), None, {"balance": "0.0000", "min_balance(2026-04)": "0.0000",
                                     "min_balance(2026-03)": "0.0000"})]
