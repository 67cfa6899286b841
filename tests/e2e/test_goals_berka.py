"""Real accounts with goals, then their history replayed as backfill: the allocation the worker ends on is
the one computed here independently, straight from trans.asc (the sum of each account's amounts, shared
by priority then creation order), and history announces no milestone."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from clients.berka.reader import read_berka
from clients.berka.records import account_message, customer_message, transaction_message
from engage.goals.v1 import goals_service_pb2 as gpb
from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.insights.v1 import insights_service_pb2 as inpb
from tests.e2e.test_berka_import import BERKA, signed, table
from tests.e2e.test_goals_tracking import amount, czk
from tests.integration.test_insight_batches import run_worker

pytestmark = pytest.mark.skipif(not (BERKA / "trans.asc").is_file(), reason=f"the Berka data set is not at {BERKA}")

ACCOUNTS = 60
BATCH = 500
# (target, priority) of each account's goals, created in this order: the second goal shares the first's
# priority and is younger, so it is filled after it.
GOALS = [("2000.00", 1), ("15000.00", 1), ("40000.00", 3), ("1000000.00", 2)]


def expected_allocation(balance: Decimal) -> list[Decimal]:
    """Plain test code: goals by priority, then creation order, each up to its target."""
    order = sorted(range(len(GOALS)), key=lambda i: (GOALS[i][1], i))
    shares = [Decimal(0)] * len(GOALS)
    left = max(balance, Decimal(0))
    for i in order:
        shares[i] = min(Decimal(GOALS[i][0]), left)
        left -= shares[i]
    return shares


async def test_history_replayed_as_backfill_ends_on_the_independent_allocation(server, services, settings, tenant,
                                                                               service_stubs):
    data = read_berka(BERKA)
    raw, _ = table("trans.asc")
    busy: dict[str, int] = defaultdict(int)
    for row in raw:
        busy[row[1]] += 1
    owners = {d.account_id: d.client_id for d in data.dispositions if d.type == "OWNER"}
    chosen = sorted(sorted(busy, key=lambda a: (-busy[a], a))[:ACCOUNTS])
    clients = {c.client_id: c for c in data.clients}
    accounts = {a.account_id: a for a in data.accounts}

    goal_names: dict[str, list[str]] = {}
    for account_id in chosen:
        owner = owners[account_id]
        await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(
            customer=customer_message(clients[owner], data)))
        await service_stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(
            account=account_message(accounts[account_id], owner, [], data)))
        await service_stubs.goals.EnrollInGoals(gpb.EnrollInGoalsRequest(parent=f"customers/{owner}",
                                                                         account_id=account_id))
        goal_names[account_id] = [(await service_stubs.goals.CreateGoal(gpb.CreateGoalRequest(
            parent=f"customers/{owner}", goal=gpb.Goal(display_name=f"Goal {i}", category=gpb.GOAL_CATEGORY_CUSTOM,
                                                       target=czk(target), priority=priority)))).name
            for i, (target, priority) in enumerate(GOALS)]

    history = sorted((t for t in data.transactions if t.account_id in goal_names), key=lambda t: (t.day, t.trans_id))
    for start in range(0, len(history), BATCH):
        async def requests(rows=history[start:start + BATCH]):  # type: ignore[no-untyped-def]
            yield ipb.IngestTransactionsRequest(transactions=[transaction_message(r) for r in rows], backfill=True)

        response = await service_stubs.ingest.IngestTransactions(requests())
        assert response.accepted_count == len(history[start:start + BATCH])
    await run_worker(settings)

    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in raw:
        if row[1] in goal_names:
            totals[row[1]] += signed(row)
    milestones = 0
    for account_id, names in goal_names.items():
        goals = [await service_stubs.goals.GetGoal(gpb.GetGoalRequest(name=name)) for name in names]
        assert [amount(g.saved) for g in goals] == expected_allocation(totals[account_id]), account_id
        milestones += sum(len(g.milestones_reached) for g in goals)
        feed = await service_stubs.insights.GetFeed(inpb.GetFeedRequest(customer_id=owners[account_id],
                                                                        insight_names=["GOAL_MILESTONE"]))
        assert list(feed.feed) == []
    assert milestones > 0  # reached in history, recorded, never announced
