"""A tenant without live rules moves its accounts' day series in one statement
(TriggerRuntimeRepository.apply_postings) instead of posting by posting in Python (apply_posting): on
random postings over several accounts and days, with and without day rows stored before (fed
balances, negative balances, postings booked before the latest day), the rows come out the same, on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.bootstrap import Services
from server.domain.events import Posting
from server.domain.triggers.scaled_series import scaled_day
from server.domain.triggers.series import AccountDay, AccountSnapshot, apply_posting
from server.store.uow import UnitOfWork
from tests.unit.trigger_helpers import posting

START = dt.date(2026, 11, 1)
EPOCH = dt.date(1900, 1, 1)
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # no state changes: when does not matter
cents = st.integers(min_value=-50_000, max_value=50_000).map(lambda n: Decimal(n) / 100)
maybe_cents = st.none() | cents


@st.composite
def stored_rows(draw: st.DrawFn) -> list[AccountDay]:
    days = sorted(draw(st.sets(st.integers(min_value=0, max_value=8), max_size=4)))
    rows = []
    for offset in days:
        closing, fed = draw(maybe_cents), draw(maybe_cents)
        count = 0 if closing is None else draw(st.integers(min_value=1, max_value=5))
        rows.append(AccountDay(START + dt.timedelta(days=offset), closing, fed,
                               None if closing is None else draw(cents), count,
                               Decimal(0) if closing is None else abs(draw(cents)),
                               closing is not None and draw(st.booleans())))
    return rows


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, list[AccountDay]], list[Posting]]:
    accounts = [f"a{i}" for i in range(draw(st.integers(min_value=1, max_value=3)))]
    stored = {a: draw(stored_rows()) for a in accounts}
    balances = {a: draw(cents) for a in accounts}
    postings = []
    for n in range(draw(st.integers(min_value=0, max_value=25))):
        account = draw(st.sampled_from(accounts))
        amount = draw(cents)
        balances[account] += amount
        day = START + dt.timedelta(days=draw(st.integers(min_value=0, max_value=10)))
        postings.append(posting(day, amount, balances[account], f"t{n}", account_id=account,
                                hour=draw(st.integers(min_value=0, max_value=23))))
    return stored, postings


def _in_python(stored: dict[str, list[AccountDay]], postings: list[Posting]) -> dict[str, list[AccountDay]]:
    snapshots = {a: AccountSnapshot(a, "cus1", "USD", Decimal(0), Decimal(0), tuple(rows))
                 for a, rows in stored.items()}
    for p in postings:
        snapshots[p.account_id], _ = apply_posting(snapshots[p.account_id], p)
    return {a: list(s.days) for a, s in snapshots.items() if s.days}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
async def test_one_statement_moves_the_series_as_apply_posting_does(services: Services, tenant: str,
                                                                    case: tuple[dict[str, list[AccountDay]],
                                                                                list[Posting]]) -> None:
    stored, postings = case
    prefix = uuid.uuid4().hex[:8]  # each example its own accounts in the one tenant
    renamed = {f"{prefix}{a}": rows for a, rows in stored.items()}
    postings = [posting(p.booking_date, p.amount.amount, p.balance_after.amount, p.transaction_id,
                        account_id=f"{prefix}{p.account_id}", hour=p.posted_at.hour) for p in postings]
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.trigger_runtime.save_series(((a, row) for a, rows in renamed.items() for row in rows), [], [], NOW)
        await uow.trigger_runtime.apply_postings(postings)
        await uow.commit()
    async with UnitOfWork(services.database, tenant) as uow:
        found = (await uow.trigger_runtime.series(list(renamed), EPOCH, [], [], [])).days
    assert dict(found) == _in_python(renamed, postings)


async def test_the_days_read_are_the_window_and_the_latest_row_before_it(services: Services, tenant: str) -> None:
    rows = {a: [AccountDay(START + dt.timedelta(days=d), Decimal(d), None if d % 3 else Decimal(-d), Decimal(-1),
                           d, Decimal("0.0001") * d, d == 5) for d in days]
            for a, days in {"x": [1, 3, 5, 7], "y": [2], "z": []}.items()}
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.trigger_runtime.save_series(
            ((a, row) for a, account_rows in rows.items() for row in account_rows), [], [], NOW)
        await uow.commit()
    async with UnitOfWork(services.database, tenant) as uow:
        for since, expected in [(START + dt.timedelta(days=4), {"x": rows["x"][1:], "y": rows["y"]}),
                                (START, {"x": rows["x"], "y": rows["y"]}),
                                (START + dt.timedelta(days=9), {"x": rows["x"][-1:], "y": rows["y"]})]:
            # The read of an evaluation (on PostgreSQL one statement with the states and firings).
            assert dict((await uow.trigger_runtime.series(["x", "y", "z", "w"], since, [], [], [])).days) == expected
            # The live evaluation's: the rows as stored, as columns (on PostgreSQL one row of arrays an account).
            scaled = (await uow.trigger_runtime.series(["x", "y", "z", "w"], since, [], [], [], scaled=True))
            assert {a: columns.rows() for a, columns in scaled.scaled_columns.items()} == {
                a: [scaled_day(row) for row in account_rows] for a, account_rows in expected.items()}
            assert all(type(flag) is bool for columns in scaled.scaled_columns.values() for flag in columns.overdraft)


async def test_a_save_after_a_read_writes_new_days_and_changes_the_others(services: Services, tenant: str) -> None:
    """After a `series` read, a day after an account's latest row is inserted as new and any other upserted
    (on PostgreSQL in two parts of one statement): a row read, a day between two rows (a fed balance), a
    day of an account with no rows and of one the read did not take all land as written."""
    def row(day: int, closing: int) -> AccountDay:
        return AccountDay(START + dt.timedelta(days=day), Decimal(closing), None, Decimal(closing), 1, Decimal(1),
                          False)

    async with UnitOfWork(services.database, tenant) as uow:
        await uow.trigger_runtime.save_series([("x", row(1, 1)), ("x", row(5, 5)), ("y", row(2, 2))], [], [], NOW)
        await uow.commit()
    written = [("x", row(3, 30)), ("x", row(5, 50)), ("x", row(6, 60)), ("y", row(2, 20)), ("z", row(4, 40)),
               ("w", row(7, 70))]
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.trigger_runtime.series(["x", "y", "z"], START, [], [], [])
        await uow.trigger_runtime.save_series(written, [], [], NOW)
        # The read was spent by that save: a second save upserts all it is given.
        await uow.trigger_runtime.save_series([("x", row(6, 61))], [], [], NOW)
        await uow.commit()
    async with UnitOfWork(services.database, tenant) as uow:
        found = (await uow.trigger_runtime.series(["x", "y", "z", "w"], EPOCH, [], [], [])).days
    assert dict(found) == {"x": [row(1, 1), row(3, 30), row(5, 50), row(6, 61)], "y": [row(2, 20)],
                           "z": [row(4, 40)], "w": [row(7, 70)]}
