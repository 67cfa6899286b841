"""goal_allocation's skip on PostgreSQL (docs/goals-tracking.md, "Hold, then allocate"): an event skips the
accounts settled twice since it read their settle counters (after its postings were committed), and only
those. Concurrent events of batches on the same accounts end on the allocation of the final balances
while most of them settle nothing; an event that finds its accounts settled once since must settle them,
as that settle may have read the balance before the event's postings were committed."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, text, update

from server.bootstrap import Services
from server.domain.events import Direction, Money, Posting, TransactionsPosted
from server.store.goals_models import GoalAccountSettleRow, GoalRow
from server.store.models import AccountRow, CustomerRow
from server.store.uow import UnitOfWork

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
TARGETS = [(1, Decimal("300.00")), (2, Decimal("500.00")), (2, Decimal("1000.00")), (3, Decimal("250.50"))]
_WAITING = text("SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")


@pytest.fixture(autouse=True)
def _postgresql_only(services: Services) -> None:
    if services.database.dialect != "postgresql":
        pytest.skip("SQLite has one writer: every event settles its accounts")


async def _accounts(services: Services, tenant: str, count: int) -> list[str]:
    """`count` target accounts at balance 0, each with the goals of TARGETS (created in that order)."""
    accounts = [f"a{n}" for n in range(count)]
    async with services.database.sessions() as session:
        await session.execute(insert(CustomerRow), [
            {"tenant_id": tenant, "customer_id": f"c{a}", "attributes": {}, "created_at": NOW, "updated_at": NOW}
            for a in accounts])
        await session.execute(insert(AccountRow), [
            {"tenant_id": tenant, "account_id": a, "customer_id": f"c{a}", "authorized_customer_ids": [],
             "account_type": "CHECKING", "container": "BANK", "currency": "EUR", "current_balance": Decimal(0),
             "available_balance": Decimal(0), "attributes": {}, "created_at": NOW, "updated_at": NOW}
            for a in accounts])
        await session.execute(insert(GoalRow), [
            {"tenant_id": tenant, "goal_id": f"{a}-g{n}", "customer_id": f"c{a}", "account_id": a,
             "name": f"Goal {n}", "category": "CUSTOM", "target": target, "currency": "EUR", "target_date": None,
             "priority": priority, "status": "ACTIVE", "saved": Decimal(0), "milestones": [], "request_id": None,
             "created_at": NOW + dt.timedelta(seconds=n), "updated_at": NOW, "achieved_at": None,
             "archived_at": None}
            for a in accounts for n, (priority, target) in enumerate(TARGETS)])
        await session.commit()
    return accounts


async def _commit_postings(services: Services, tenant: str, name: str,
                           amounts: list[tuple[str, Decimal]]) -> TransactionsPosted:
    """Commits the postings (moves the accounts' balances, as ingestion does) and returns their event."""
    postings = []
    async with services.database.sessions() as session:
        for n, (account_id, amount) in enumerate(amounts):
            balance = await session.scalar(
                update(AccountRow).where(AccountRow.tenant_id == tenant, AccountRow.account_id == account_id)
                .values(current_balance=AccountRow.current_balance + amount).returning(AccountRow.current_balance))
            assert balance is not None
            postings.append(Posting(f"{name}-{n}", account_id, f"c{account_id}", "CHECKING", "BANK",
                                    Money(amount, "EUR"), Money(balance, "EUR"), NOW,
                                    Direction.CREDIT if amount > 0 else Direction.DEBIT))
        await session.commit()
    return TransactionsPosted(tuple(postings))


async def _handle(services: Services, tenant: str, event: TransactionsPosted) -> None:
    async with UnitOfWork(services.database, tenant) as uow:
        await services.goal_tracking.on_transactions_posted(uow, tenant, event)
        await uow.commit()


async def _until_waiting(services: Services, waiters: int) -> None:
    """Until `waiters` transactions wait for an advisory lock (the hold) in this database."""
    async with services.database.sessions() as session:
        while await session.scalar(_WAITING) != waiters:
            await session.rollback()
            await asyncio.sleep(0.01)


async def _epochs(services: Services, tenant: str) -> dict[str, int]:
    async with services.database.sessions() as session:
        rows = await session.execute(select(GoalAccountSettleRow.account_id, GoalAccountSettleRow.epoch).where(
            GoalAccountSettleRow.tenant_id == tenant))
        return {account_id: epoch for account_id, epoch in rows}


async def _saved(services: Services, tenant: str) -> dict[str, list[Decimal]]:
    async with services.database.sessions() as session:
        rows = await session.execute(select(GoalRow.account_id, GoalRow.saved).where(GoalRow.tenant_id == tenant)
                                     .order_by(GoalRow.account_id, GoalRow.goal_id))
    found: dict[str, list[Decimal]] = {}
    for account_id, saved in rows:
        found.setdefault(account_id, []).append(saved)
    return found


def _shares(balance: Decimal) -> list[Decimal]:
    """Independently of the code under test: by priority, then creation order (TARGETS' order here)."""
    left = max(balance, Decimal(0))
    shares = []
    for _, target in TARGETS:
        shares.append(min(target, left))
        left -= shares[-1]
    return shares


async def test_concurrent_events_skip_covered_accounts_and_end_on_the_final_balances(services: Services,
                                                                                     tenant: str) -> None:
    rng = random.Random(29)
    accounts = await _accounts(services, tenant, 5)
    totals = dict.fromkeys(accounts, Decimal(0))

    def batch() -> list[tuple[str, Decimal]]:
        amounts = [(a, Decimal(rng.choice([-400, -75, 120, 260, 333, 900])) + Decimal("0.01") * rng.randint(0, 99))
                   for a in accounts for _ in range(2)]
        for account_id, amount in amounts:
            totals[account_id] += amount
        return amounts

    # Six events queue on the hold (a holder keeps it), each having read the counters after its postings.
    async with UnitOfWork(services.database, tenant) as blocker:
        await blocker.goals.hold_accounts(accounts)
        queued = [asyncio.create_task(_handle(services, tenant, await _commit_postings(services, tenant, f"q{n}",
                                                                                        batch())))
                  for n in range(6)]
        await _until_waiting(services, 6)
    await asyncio.gather(*queued)
    # The first two settle every account; the four after them find it settled twice since and skip it.
    assert await _epochs(services, tenant) == dict.fromkeys(accounts, 2)
    assert await _saved(services, tenant) == {a: _shares(totals[a]) for a in accounts}

    # Then postings committed while earlier events are being handled, in any interleaving.
    running = []
    for n in range(8):
        running.append(asyncio.create_task(_handle(services, tenant, await _commit_postings(
            services, tenant, f"r{n}", batch()))))
        await asyncio.sleep(rng.choice([0, 0, 0.001, 0.01]))
    await asyncio.gather(*running)
    assert await _saved(services, tenant) == {a: _shares(totals[a]) for a in accounts}
    epochs = await _epochs(services, tenant)
    assert all(2 < epochs[a] <= 2 + 8 for a in accounts)


async def test_an_account_settled_once_since_is_settled_again(services: Services, tenant: str) -> None:
    [account] = await _accounts(services, tenant, 1)
    # A settle holds the account and reads its balance (0) before the event's postings are committed ...
    async with UnitOfWork(services.database, tenant) as earlier:
        await earlier.goals.hold_accounts([account])
        await earlier.goal_cash_flows.settle_accounts([account], NOW, None, seen={})
        event = await _commit_postings(services, tenant, "late", [(account, Decimal("900.00"))])
        handled = asyncio.create_task(_handle(services, tenant, event))  # reads the counter (0), then waits
        await _until_waiting(services, 1)
        await earlier.commit()  # ... and commits after the event read the counter: epoch 1 = read + 1
    await handled
    assert await _epochs(services, tenant) == {account: 2}  # the event settled it, not skipped
    assert await _saved(services, tenant) == {account: _shares(Decimal("900.00"))}
