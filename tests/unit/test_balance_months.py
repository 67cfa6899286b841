"""The account months ingestion writes (server.store.repositories.balance_months): each month's bounds of the
postings' balance values, and which months a process may leave out because it committed them covered."""

from __future__ import annotations

import datetime as dt

from server.domain.ingest.model import Direction, IncomingTransaction
from server.store.repositories.balance_months import CoveredMonths, month_bounds

PRAGUE = dt.timezone(dt.timedelta(hours=1))


def _posting(account_id: str, amount: int, direction: Direction, at: dt.datetime, running: int | None
             ) -> IncomingTransaction:
    return IncomingTransaction(f"{account_id}-{at.isoformat()}", account_id, amount, "EUR", direction, at,
                               running_balance=running)


def test_a_months_bounds_hold_each_postings_balance_before_and_after() -> None:
    bounds = month_bounds([
        _posting("a1", 300, Direction.CREDIT, dt.datetime(2024, 4, 3, tzinfo=dt.UTC), 800),  # 500 -> 800
        _posting("a1", 100, Direction.DEBIT, dt.datetime(2024, 4, 30, 23, tzinfo=dt.UTC), 450),  # 550 -> 450
        # 00:30 in Prague is still April in UTC; a posting without a running balance marks its month.
        _posting("a1", 50, Direction.CREDIT, dt.datetime(2024, 5, 1, 0, 30, tzinfo=PRAGUE), None),
        _posting("a1", 20, Direction.DEBIT, dt.datetime(2024, 5, 2, tzinfo=dt.UTC), 780),  # 800 -> 780
        _posting("a2", 5, Direction.DEBIT, dt.datetime(2024, 5, 31, tzinfo=dt.UTC), -5)])  # 0 -> -5
    assert bounds == {("a1", dt.date(2024, 4, 1)): [0, 800, 1], ("a1", dt.date(2024, 5, 1)): [780, 800, 0],
                      ("a2", dt.date(2024, 5, 1)): [-5, 0, 0]}


def test_only_months_not_known_covered_are_written() -> None:
    known = CoveredMonths()
    april, may = dt.date(2024, 4, 1), dt.date(2024, 5, 1)
    first = {("a1", april): [100, 200, 0], ("a1", may): [0, 0, 1]}
    assert known.not_covered("t", first) == first
    known.remember("t", first)
    later = {("a1", april): [120, 200, 0], ("a1", may): [0, 0, 1], ("a2", april): [1, 2, 0]}
    assert known.not_covered("t", later) == {("a2", april): [1, 2, 0]}
    assert known.not_covered("other", later) == later  # another tenant's months are its own
    wider = {("a1", april): [90, 150, 0]}
    assert known.not_covered("t", wider) == wider
    known.remember("t", wider)
    assert known.not_covered("t", {("a1", april): [90, 200, 0]}) == {}  # both batches' bounds, stored


def test_past_its_limit_it_forgets_and_writes_again() -> None:
    known = CoveredMonths(limit=2)
    months = {("a1", dt.date(2024, 4, 1)): [1, 2, 0], ("a2", dt.date(2024, 4, 1)): [1, 2, 0]}
    known.remember("t", months)
    assert known.not_covered("t", months) == {}
    known.remember("t", {("a3", dt.date(2024, 4, 1)): [1, 2, 0]})
    assert known.not_covered("t", months) == months
