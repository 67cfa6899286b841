"""The calculation after postings as the store runs it (PostgreSQL in SQL, SQLite through the domain
functions): each posting's cash flows and the settled allocation are those of
server.domain.goals.allocation, whatever the goals (ties on priority and creation time, paused, achieved
and archived goals, balances at, below and above the targets), and every account that has a new
milestone is among those it hands back to be checked."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.bootstrap import Services
from server.domain.events import Direction, Money, Posting, TransactionsPosted
from server.domain.goals.allocation import allocate, allocation_order, cash_flows, settle
from server.domain.goals.milestones import Milestone, MilestonePolicy, ReachedMilestones, new_milestones
from server.domain.goals.model import Goal, GoalCategory, GoalStatus
from server.store.goals_models import GoalCashFlowRow, GoalRow
from server.store.models import AccountRow, CustomerRow
from server.store.uow import UnitOfWork

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
ACCOUNTS = 24
STATUSES = [GoalStatus.ACTIVE] * 5 + [GoalStatus.PAUSED, GoalStatus.ACHIEVED, GoalStatus.ARCHIVED]
MILESTONES = [[], [], ["percent:25"], ["percent:50", "amount:100"], ["percent:100"], ["percent:7.5"]]


def _goals(rng: random.Random, customer_id: str, account_id: str) -> list[tuple[Goal, list[str]]]:
    goals = []
    for n in range(rng.randint(1, 6)):
        status = rng.choice(STATUSES)
        goals.append((Goal(goal_id=f"{account_id}-{rng.randint(0, 99):02d}{n}", customer_id=customer_id,
                           account_id=account_id, name=f"Goal {n}", category=GoalCategory.CUSTOM,
                           target=Money(Decimal(rng.choice([1, 250, 999, 1000, 4000])) + Decimal("0.0001")
                                        * rng.randint(0, 9), "EUR"),
                           target_date=None, priority=rng.randint(1, 3), status=status,
                           saved=Decimal(rng.choice([0, 0, 10, 250])),
                           created_at=NOW - dt.timedelta(days=rng.choice([1, 1, 2])),
                           achieved_at=NOW - dt.timedelta(days=1) if status == GoalStatus.ACHIEVED else None,
                           archived_at=NOW if status == GoalStatus.ARCHIVED else None), rng.choice(MILESTONES)))
    return goals


async def _insert_accounts(session: AsyncSession, tenant: str, balances: dict[str, Decimal]) -> None:
    """A checking account of each balance, account `a` owned by customer `ca`."""
    await session.execute(insert(CustomerRow), [
        {"tenant_id": tenant, "customer_id": f"c{a}", "attributes": {}, "created_at": NOW, "updated_at": NOW}
        for a in balances])
    await session.execute(insert(AccountRow), [
        {"tenant_id": tenant, "account_id": a, "customer_id": f"c{a}", "authorized_customer_ids": [],
         "account_type": "CHECKING", "container": "BANK", "currency": "EUR", "current_balance": balance,
         "available_balance": balance, "attributes": {}, "created_at": NOW, "updated_at": NOW}
        for a, balance in balances.items()])


@pytest.mark.parametrize("policy", [MilestonePolicy(), MilestonePolicy(amount_step=Decimal(100))],
                         ids=["percentages", "amount_steps"])
async def test_cash_flows_and_settlement_follow_the_domain_rule(services: Services, tenant: str,
                                                                 policy: MilestonePolicy) -> None:
    rng = random.Random(18)
    balances = {f"a{n:02d}": Decimal(rng.choice([-300, 0, 1, 250, 1000, 1250, 2500, 5000, 20000]))
                + Decimal("0.0001") * rng.randint(0, 9) for n in range(ACCOUNTS)}
    goals = {account_id: _goals(rng, f"c{account_id}", account_id) for account_id in balances}
    async with services.database.sessions() as session:
        await _insert_accounts(session, tenant, balances)
        await session.execute(insert(GoalRow), [
            {"tenant_id": tenant, "goal_id": g.goal_id, "customer_id": g.customer_id, "account_id": g.account_id,
             "name": g.name, "category": g.category.value, "target": g.target.amount, "currency": "EUR",
             "target_date": None, "priority": g.priority, "status": g.status.value, "saved": g.saved,
             "milestones": keys, "request_id": None, "created_at": g.created_at, "updated_at": g.created_at,
             "achieved_at": g.achieved_at, "archived_at": g.archived_at}
            for account_goals in goals.values() for g, keys in account_goals])
        await session.commit()
    postings = []
    for n, (account_id, balance) in enumerate(balances.items()):
        for i in range(3):
            amount = Decimal(rng.choice([-2000, -250, -1, 1, 250, 999, 3000]))
            postings.append(Posting(f"t{n}-{i}", account_id, f"c{account_id}", "CHECKING", "BANK",
                                    Money(amount, "EUR"), Money(balance - 1000 * i, "EUR"), NOW,
                                    Direction.CREDIT if amount > 0 else Direction.DEBIT))
    postings.append(Posting("t-none", "no-goals", "cx", "CHECKING", "BANK", Money(Decimal(5), "EUR"),
                            Money(Decimal(5), "EUR"), NOW, Direction.CREDIT))

    async with UnitOfWork(services.database, tenant) as uow:
        accounts = await uow.goal_cash_flows.accounts_with_goals({p.account_id for p in postings})
        await uow.goals.hold_accounts(accounts)
        settled = await uow.goal_cash_flows.record_and_settle(postings, accounts, NOW, policy)
        await uow.commit()
    async with UnitOfWork(services.database, tenant) as uow:  # again: nothing new, nothing moves
        assert await uow.goal_cash_flows.accounts_with_goals({p.account_id for p in postings}) == accounts
        await uow.goals.hold_accounts(accounts)
        again = await uow.goal_cash_flows.record_and_settle(postings, accounts, NOW, policy)
        await uow.commit()
    assert (again.achieved, again.moved) == ([], [])

    live = {a: allocation_order([g for g, _ in account_goals]) for a, account_goals in goals.items()}
    assert accounts == {a for a, account_goals in live.items() if account_goals}
    expected_flows = set()
    for p in postings:
        after = p.balance_after.amount
        plain = live.get(p.account_id, [])
        for goal_id, amount in cash_flows(allocate(after - p.amount.amount, plain), allocate(after, plain)).items():
            expected_flows.add((goal_id, p.transaction_id, amount))
    async with services.database.sessions() as session:
        stored_flows = set((await session.execute(select(
            GoalCashFlowRow.goal_id, GoalCashFlowRow.transaction_id, GoalCashFlowRow.amount).where(
            GoalCashFlowRow.tenant_id == tenant))).all())
        stored = {row.goal_id: row for row in await session.scalars(select(GoalRow).where(GoalRow.tenant_id == tenant))}
    assert stored_flows == expected_flows

    expected_achieved = []
    must_check: dict[str, list[Milestone]] = {}
    for account_id, plain in live.items():
        allocation = allocate(balances[account_id], plain)
        changes = settle(plain, allocation, NOW)
        for goal in plain:
            assert stored[goal.goal_id].saved == allocation[goal.goal_id]
        for updated, achieved in changes:
            assert stored[updated.goal_id].status == updated.status.value
            if achieved:
                expected_achieved.append((updated.goal_id, "ACTIVE"))
                assert stored[updated.goal_id].achieved_at == NOW
        reached = ReachedMilestones({g.goal_id: frozenset(k) for g, k in goals[account_id]})
        if changes and new_milestones(policy, plain, reached, saved=allocation):
            must_check[account_id] = new_milestones(policy, plain, reached, saved=allocation)
    assert sorted((g.goal_id, before) for g, before in settled.achieved) == sorted(expected_achieved)
    assert {g.goal_id for g, _ in settled.achieved} and must_check  # the data exercises both
    handed = {held[0].goal.account_id: (held, allocation) for held, allocation in settled.moved}
    assert set(must_check) <= set(handed)
    for account_id, (held, allocation) in handed.items():
        order = [g.goal_id for g in live[account_id]]
        assert [h.goal.goal_id for h in held] == [i for i in order if i in allocation]  # allocation order
        assert allocation.items() <= allocate(balances[account_id], live[account_id]).items()
        assert [h.goal.saved for h in held] == [allocation[h.goal.goal_id] for h in held]
        assert [h.milestones for h in held] == [dict((g.goal_id, k) for g, k in goals[account_id])[h.goal.goal_id]
                                                for h in held]
        if policy.amount_step is not None:  # amount steps: every goal of the account
            assert [h.goal.goal_id for h in held] == order
        # The goals handed are enough: the milestones found in them are those of all the account's goals.
        reached = ReachedMilestones({h.goal.goal_id: frozenset(h.milestones) for h in held})
        assert new_milestones(policy, [h.goal for h in held], reached, saved=allocation) == must_check.get(
            account_id, [])


async def _accounts_with_goals(services: Services, tenant: str, accounts: list[str], balances: list[Decimal],
                               targets: tuple[Decimal, ...]) -> None:
    async with services.database.sessions() as session:
        await _insert_accounts(session, tenant, dict(zip(accounts, balances, strict=True)))
        await session.execute(insert(GoalRow), [
            {"tenant_id": tenant, "goal_id": f"{a}-g{n}", "customer_id": f"c{a}", "account_id": a, "name": f"Goal {n}",
             "category": "CUSTOM", "target": target, "currency": "EUR", "target_date": None, "priority": n + 1,
             "status": "ACTIVE", "saved": Decimal(0), "milestones": [], "request_id": None, "created_at": NOW,
             "updated_at": NOW, "achieved_at": None, "archived_at": None}
            for a in accounts for n, target in enumerate(targets)])
        await session.commit()


def _posted(*postings: tuple[str, str, str, str]) -> TransactionsPosted:
    """(transaction, account, amount, balance after) each, in the order they moved the balances."""
    return TransactionsPosted(tuple(
        Posting(transaction_id, account_id, f"c{account_id}", "CHECKING", "BANK", Money(Decimal(amount), "EUR"),
                Money(Decimal(after), "EUR"), NOW, Direction.CREDIT if Decimal(amount) > 0 else Direction.DEBIT)
        for transaction_id, account_id, amount, after in postings))


async def _saved(services: Services, tenant: str) -> dict[str, Decimal]:
    async with services.database.sessions() as session:
        return {row.goal_id: row.saved for row in await session.scalars(select(GoalRow).where(
            GoalRow.tenant_id == tenant))}


async def _handle(services: Services, tenant: str, event: TransactionsPosted) -> None:
    async with UnitOfWork(services.database, tenant) as uow:
        await services.goal_tracking.on_transactions_posted(uow, tenant, event)
        await uow.commit()


async def test_a_settle_hands_back_only_the_goals_past_a_new_percentage(services: Services, tenant: str) -> None:
    """Without amount steps a goal's milestones are its own: PostgreSQL hands back the goal that crossed a
    percentage it has no key for, not the one whose key is there (SQLite hands back the account's goals)."""
    await _accounts_with_goals(services, tenant, ["a1"], [Decimal(150)], (Decimal(100), Decimal(100)))
    async with services.database.sessions() as session:
        await session.execute(update(GoalRow).where(GoalRow.tenant_id == tenant, GoalRow.goal_id == "a1-g0")
                              .values(milestones=["percent:100"]))
        await session.commit()
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.goals.hold_accounts(["a1"])
        settled = await uow.goal_cash_flows.record_and_settle([], ["a1"], NOW, MilestonePolicy())
        await uow.commit()
    [(held, allocation)] = settled.moved
    handed = ["a1-g1"] if services.database.dialect == "postgresql" else ["a1-g0", "a1-g1"]
    assert [h.goal.goal_id for h in held] == handed
    assert allocation == {goal_id: {"a1-g0": Decimal(100), "a1-g1": Decimal(50)}[goal_id] for goal_id in handed}
    assert [g.goal_id for g, _ in settled.achieved] == ["a1-g0"]


async def test_concurrent_events_on_overlapping_accounts_end_on_the_final_balances(services: Services,
                                                                                  tenant: str) -> None:
    """Batches over overlapping accounts, all committed, their events handled all at once in a shuffled
    order (their holds wait for each other): each account ends allocated from its final balance."""
    rng = random.Random(84)
    accounts = [f"a{n}" for n in range(6)]
    targets = (Decimal(300), Decimal(700), Decimal(2000))
    running = dict.fromkeys(accounts, Decimal(0))
    events = []
    for batch in range(12):
        postings = []
        for i, account_id in enumerate(rng.sample(accounts, 4)):
            amount = Decimal(rng.choice([-500, -120, 80, 250, 640, 1100]))
            running[account_id] += amount
            postings.append((f"b{batch}-{i}", account_id, str(amount), str(running[account_id])))
        events.append(_posted(*postings))
    await _accounts_with_goals(services, tenant, accounts, [running[a] for a in accounts], targets)
    rng.shuffle(events)

    await asyncio.gather(*(_handle(services, tenant, event) for event in events))

    saved = await _saved(services, tenant)
    for account_id in accounts:
        left = max(running[account_id], Decimal(0))
        for n, target in enumerate(targets):
            assert saved[f"{account_id}-g{n}"] == min(target, left)
            left -= min(target, left)
