"""The goals summary on each database: progress bands and milestones by month of the tenant's calendar, worked
out by hand from tests/support/metrics_seed.py's goals; and the recording of when milestones are reached."""

import datetime as dt
import random
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from server.domain.auth import Caller, Role
from server.domain.reporting.goals_summary import GoalsSummaryFilter, band_of
from server.store.goals_models import GoalMilestoneRow, GoalRow
from server.store.repositories.goal_cash_flows import HeldGoal
from server.store.repositories.goals import goal_from_row
from server.store.uow import UnitOfWork
from tests.support.metrics_seed import at, seed_goals_summary


async def _summary(services, tenant, since=None, until=None):
    return await services.goals_summary.summarize(Caller(tenant, "lisa", Role.BANK_ADMIN),
                                                  GoalsSummaryFilter(since, until))


def _months(summary):
    return [(m.month.isoformat(), m.milestone, m.reached) for m in summary.milestones]


@pytest.fixture
async def bank(services):
    tenant = (await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}")).tenant_id
    await seed_goals_summary(services.database, tenant)
    return tenant


async def test_goals_by_band_and_milestones_by_month(services, bank):
    summary = await _summary(services, bank)
    # Not archived: g-d 6.2% and g-g 0 (0-10), g-f 10.0% (9.96 shown rounded), g-a 25.0%, g-e 99.9%, g-b 100%.
    assert summary.goals == 6
    assert [(b.lower_percent, b.upper_percent, b.goals) for b in summary.progress] == [
        (0, 10, 2), (10, 20, 1), (20, 30, 1), (30, 40, 0), (40, 50, 0), (50, 60, 0), (60, 70, 0), (70, 80, 0),
        (80, 90, 0), (90, 100, 1), (100, 100, 1)]
    # Every milestone, the archived g-c's too: they were reached.
    assert _months(summary) == [
        ("2025-12-01", "percent:25", 1), ("2026-01-01", "percent:25", 2), ("2026-01-01", "percent:50", 1),
        ("2026-02-01", "percent:75", 1), ("2026-03-01", "percent:100", 1)]
    january_to_february = await _summary(services, bank, dt.date(2026, 1, 1), dt.date(2026, 2, 28))
    assert _months(january_to_february) == [
        ("2026-01-01", "percent:25", 2), ("2026-01-01", "percent:50", 1), ("2026-02-01", "percent:75", 1)]
    from_february = await _summary(services, bank, dt.date(2026, 2, 1))
    assert _months(from_february) == [("2026-02-01", "percent:75", 1), ("2026-03-01", "percent:100", 1)]


async def test_months_are_the_tenants(services):
    tokyo = (await services.tenants.create(f"tokyo-{uuid.uuid4().hex[:8]}", None, "Asia/Tokyo")).tenant_id
    await seed_goals_summary(services.database, tokyo)
    summary = await _summary(services, tokyo, dt.date(2026, 1, 1), dt.date(2026, 2, 28))
    # g-b's 50% at 23:30 UTC on 31 January was on 1 February in Tokyo.
    assert _months(summary) == [
        ("2026-01-01", "percent:25", 2), ("2026-02-01", "percent:50", 1), ("2026-02-01", "percent:75", 1)]


async def test_a_bank_without_goals(services):
    tenant = (await services.tenants.create(f"empty-{uuid.uuid4().hex[:8]}")).tenant_id
    summary = await _summary(services, tenant)
    assert (summary.goals, summary.milestones, [b.goals for b in summary.progress]) == (0, (), [0] * 11)


async def test_saving_milestones_dates_only_the_new_ones(services, bank):
    async with UnitOfWork(services.database, bank) as uow:
        goal = goal_from_row(await uow.session.scalar(select(GoalRow).where(
            GoalRow.tenant_id == bank, GoalRow.goal_id == "g-g")))
        await uow.goal_cash_flows.save_changes([], [HeldGoal(goal, ["percent:25"])], at("2026-04-01T10:00:00"))
        await uow.goal_cash_flows.save_changes([], [HeldGoal(goal, ["percent:25", "percent:50"])],
                                               at("2026-05-01T10:00:00"))
        await uow.commit()
    async with UnitOfWork(services.database, bank) as uow:
        rows = (await uow.session.execute(
            select(GoalMilestoneRow.milestone, GoalMilestoneRow.reached_at)
            .where(GoalMilestoneRow.tenant_id == bank, GoalMilestoneRow.goal_id == "g-g")
            .order_by(GoalMilestoneRow.reached_at))).all()
    assert [(key, when.isoformat()) for key, when in rows] == [
        ("percent:25", "2026-04-01T10:00:00+00:00"), ("percent:50", "2026-05-01T10:00:00+00:00")]


async def test_saving_milestones_finds_a_goal_whose_row_moved(services, bank):
    """save_changes finds a goal by the row the settle left (PostgreSQL: its ctid); a row rewritten since
    (here: the ctid of another goal) still gets its keys, by goal id, and the other goal keeps its own."""
    async with UnitOfWork(services.database, bank) as uow:
        rows = {row.goal_id: row for row in await uow.session.scalars(select(GoalRow).where(
            GoalRow.tenant_id == bank, GoalRow.goal_id.in_(["g-a", "g-g"])))}
        other_keys = list(rows["g-a"].milestones or ())
        moved_to = (0, 1)
        if uow.session.bind.dialect.name == "postgresql":
            moved_to = tuple(int(n) for n in (await uow.session.scalar(
                text("SELECT ctid::text FROM goals WHERE tenant_id = :t AND goal_id = 'g-a'"), {"t": bank})
            ).strip("()").split(","))
        await uow.goal_cash_flows.save_changes(
            [], [HeldGoal(goal_from_row(rows["g-g"]), ["percent:25"], moved_to)], at("2026-04-01T10:00:00"))
        await uow.commit()
    async with UnitOfWork(services.database, bank) as uow:
        kept = dict((await uow.session.execute(select(GoalRow.goal_id, GoalRow.milestones).where(
            GoalRow.tenant_id == bank, GoalRow.goal_id.in_(["g-a", "g-g"])))).all())
    assert (list(kept["g-g"]), list(kept["g-a"] or ())) == (["percent:25"], other_keys)


async def test_the_database_bands_goals_as_band_of_does(services):
    """The SQL's integer rounding against the Python rule, on goals at and around every band's edges."""
    tenant = (await services.tenants.create(f"bands-{uuid.uuid4().hex[:8]}")).tenant_id
    rng = random.Random(7)
    targets = [Decimal("1000"), Decimal("3"), Decimal("0.0007"), Decimal("123456.7891")]
    goals = []
    for index in range(120):
        target = rng.choice(targets)
        edge = Decimal(rng.randrange(0, 101)) / 100 * target + Decimal(rng.choice([-1, 0, 1])) / 10_000
        goals.append((f"g{index}", target, max(Decimal(0), edge.quantize(Decimal("0.0001")))))
    async with UnitOfWork(services.database, tenant) as uow:
        for goal_id, target, saved in goals:
            uow.session.add(GoalRow(tenant_id=tenant, goal_id=goal_id, customer_id="c", account_id="a", name="n",
                                    category="CUSTOM", target=target, saved=saved, currency="EUR", priority=1,
                                    status="ACTIVE", milestones=[], created_at=at("2026-01-01T00:00:00"),
                                    updated_at=at("2026-01-01T00:00:00")))
        await uow.commit()
    expected = Counter(band_of(saved, target) for _, target, saved in goals)
    summary = await _summary(services, tenant)
    assert {b.lower_percent: b.goals for b in summary.progress if b.goals} == dict(expected)
