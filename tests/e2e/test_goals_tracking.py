"""The calculation behind the scenes, through the real gRPC server and the real arq worker: a posting in a
target account reallocates its goals from the balance, records cash flows, marks goals achieved, and a
milestone reaches the feed and the customer's phone (GOAL_MILESTONE bound to a push) exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from decimal import Decimal

import grpc
import pytest
from sqlalchemy import select

from engage.engagement.v1 import engagement_service_pb2 as epb
from engage.goals.v1 import goals_service_pb2 as gpb
from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.insights.v1 import insights_service_pb2 as inpb
from engage.type.v1 import money_pb2
from server.domain.auth import Role
from server.store.goals_models import GoalCashFlowRow, GoalHistoryRow
from server.store.models import FeedItemRow
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import failure, transaction
from tests.support.yes_bank import add_customer, set_up_yes_bank

# Also on SQLite: this path goes through SQLite's own store code (tests/conftest.py).
pytestmark = pytest.mark.sqlite_too

CUSTOMER = "u1"
ACCOUNT = "u1-chk"


def czk(amount: str) -> money_pb2.Money:
    units, _, fraction = amount.partition(".")
    nanos = int((fraction + "000000000")[:9]) if fraction else 0
    return money_pb2.Money(currency_code="CZK", units=int(units), nanos=nanos)


def amount(money: money_pb2.Money) -> Decimal:
    return Decimal(money.units) + Decimal(money.nanos) / Decimal(10**9)


async def goals_bank(server, tenant, service_stubs, smtp_sink, provider_sink, *, push: bool = True):  # type: ignore[no-untyped-def]
    """Yes Bank, u1 with a current account enrolled in goals, and GOAL_MILESTONE bound to a push."""
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app, CUSTOMER, email="", phone="")
        if push:
            event = await admin.engagement.CreateEvent(epb.CreateEventRequest(event=epb.Event(
                display_name="Goal milestone", description="Push when a goal reaches a milestone",
                event_type=bank.event_type, app=bank.app, messages=[epb.EventMessage(
                    channel=epb.CHANNEL_PUSH, content=epb.MessageContent(push=epb.PushContent(
                        title="Goal milestone",
                        body="{{ insight.figures.change_percent }}% saved: {{ insight.figures.change_amount }}")))])))
            await admin.engagement.CreateInsightNotification(epb.CreateInsightNotificationRequest(
                insight_notification=epb.InsightNotification(insight_name="GOAL_MILESTONE", event=event.name)))
    await service_stubs.goals.EnrollInGoals(gpb.EnrollInGoalsRequest(parent=f"customers/{CUSTOMER}",
                                                                     account_id=ACCOUNT))
    return bank


async def create_goal(stubs, name: str, target: str, priority: int) -> str:  # type: ignore[no-untyped-def]
    goal = await stubs.goals.CreateGoal(gpb.CreateGoalRequest(parent=f"customers/{CUSTOMER}", goal=gpb.Goal(
        display_name=name, category=gpb.GOAL_CATEGORY_CUSTOM, target=czk(target), priority=priority)))
    return str(goal.name)


async def ingest(stubs, *transactions: ipb.Transaction, backfill: bool = False) -> None:  # type: ignore[no-untyped-def]
    async def requests():  # type: ignore[no-untyped-def]
        yield ipb.IngestTransactionsRequest(transactions=list(transactions), backfill=backfill)

    await stubs.ingest.IngestTransactions(requests())


def posting(transaction_id: str, value: str, direction: str = "CREDIT", day: int = 15) -> ipb.Transaction:
    return transaction(transaction_id, ACCOUNT, value, direction, dt.date(2024, 1, day), currency="CZK")


async def saved(stubs, *names: str) -> list[tuple[Decimal, int]]:  # type: ignore[no-untyped-def]
    goals = [await stubs.goals.GetGoal(gpb.GetGoalRequest(name=name)) for name in names]
    return [(amount(g.saved), g.state) for g in goals]


async def milestone_items(stubs) -> list[str]:  # type: ignore[no-untyped-def]
    feed = await stubs.insights.GetFeed(inpb.GetFeedRequest(customer_id=CUSTOMER, insight_names=["GOAL_MILESTONE"]))
    return sorted(item.period for item in feed.feed)


async def test_a_deposit_reallocates_achieves_and_pushes_milestones_once(server, services, settings, tenant,
                                                                         service_stubs, smtp_sink, provider_sink):
    await goals_bank(server, tenant, service_stubs, smtp_sink, provider_sink)
    emergency = await create_goal(service_stubs, "Emergency", "1000.00", 1)
    trip = await create_goal(service_stubs, "Trip", "2000.00", 2)

    await ingest(service_stubs, posting("pay", "1500.00"))
    await run_worker(settings)
    assert await saved(service_stubs, emergency, trip) == [(Decimal("1000"), gpb.GOAL_STATE_ACHIEVED),
                                                           (Decimal("500"), gpb.GOAL_STATE_ACTIVE)]
    e_id, t_id = emergency.rsplit("/", 1)[1], trip.rsplit("/", 1)[1]
    assert await milestone_items(service_stubs) == sorted([f"goal:{e_id}:percent:100", f"goal:{t_id}:percent:25"])
    pushes = await provider_sink.wait_for("fcm", 2)
    assert sorted(p.body["message"]["notification"]["body"] for p in pushes) == [
        "100.0% saved: 1000.0000", "25.0% saved: 500.0000"]
    async with services.database.sessions() as session:
        flows = (await session.execute(select(GoalCashFlowRow.goal_id, GoalCashFlowRow.transaction_id,
                                              GoalCashFlowRow.amount).where(GoalCashFlowRow.tenant_id == tenant))).all()
        achieved = (await session.execute(select(GoalHistoryRow.goal_id, GoalHistoryRow.actor).where(
            GoalHistoryRow.tenant_id == tenant, GoalHistoryRow.kind == "GOAL_ACHIEVED"))).all()
    assert sorted(flows) == sorted([(e_id, "pay", Decimal("1000")), (t_id, "pay", Decimal("500"))])
    assert achieved == [(e_id, "SERVICE")]
    goal = await service_stubs.goals.GetGoal(gpb.GetGoalRequest(name=trip))
    assert list(goal.milestones_reached) == ["percent:25"]

    # A withdrawal releases the lowest priority first; the recovery announces nothing again.
    await ingest(service_stubs, posting("rent", "1200.00", "DEBIT", 16))
    await run_worker(settings)
    assert await saved(service_stubs, emergency, trip) == [(Decimal("300"), gpb.GOAL_STATE_ACHIEVED),
                                                           (Decimal("0"), gpb.GOAL_STATE_ACTIVE)]
    await ingest(service_stubs, posting("refund", "1200.00", "CREDIT", 17))
    await run_worker(settings)
    assert await saved(service_stubs, emergency, trip) == [(Decimal("1000"), gpb.GOAL_STATE_ACHIEVED),
                                                           (Decimal("500"), gpb.GOAL_STATE_ACTIVE)]
    assert len(await milestone_items(service_stubs)) == 2
    await run_worker(settings)
    assert len(provider_sink.received("fcm")) == 2
    async with services.database.sessions() as session:
        rent = (await session.execute(select(GoalCashFlowRow.goal_id, GoalCashFlowRow.amount).where(
            GoalCashFlowRow.tenant_id == tenant, GoalCashFlowRow.transaction_id == "rent"))).all()
    assert sorted(rent) == sorted([(t_id, Decimal("-500")), (e_id, Decimal("-700"))])

    # Past the dip, a new milestone is news again.
    await ingest(service_stubs, posting("bonus", "600.00", "CREDIT", 18))
    await run_worker(settings)
    assert await milestone_items(service_stubs) == sorted(
        [f"goal:{e_id}:percent:100", f"goal:{t_id}:percent:25", f"goal:{t_id}:percent:50"])


async def test_paused_customers_get_no_milestones_and_backfill_no_news(server, services, settings, tenant,
                                                                       service_stubs, smtp_sink, provider_sink):
    await goals_bank(server, tenant, service_stubs, smtp_sink, provider_sink)
    trip = await create_goal(service_stubs, "Trip", "1000.00", 1)
    t_id = trip.rsplit("/", 1)[1]

    await ingest(service_stubs, posting("old", "300.00", day=2), backfill=True)
    await run_worker(settings)
    assert await saved(service_stubs, trip) == [(Decimal("300"), gpb.GOAL_STATE_ACTIVE)]
    assert await milestone_items(service_stubs) == []
    goal = await service_stubs.goals.GetGoal(gpb.GetGoalRequest(name=trip))
    assert list(goal.milestones_reached) == ["percent:25"]  # reached in history: never announced later

    enrolment = f"customers/{CUSTOMER}/goalsEnrolment"
    await service_stubs.goals.PauseGoalsEnrolment(gpb.PauseGoalsEnrolmentRequest(name=enrolment))
    await ingest(service_stubs, posting("pay", "300.00", day=20))
    await run_worker(settings)
    assert await saved(service_stubs, trip) == [(Decimal("600"), gpb.GOAL_STATE_ACTIVE)]  # allocations go on
    assert await milestone_items(service_stubs) == []

    await service_stubs.goals.ResumeGoalsEnrolment(gpb.ResumeGoalsEnrolmentRequest(name=enrolment))
    await ingest(service_stubs, posting("more", "200.00", day=21))
    await run_worker(settings)
    assert await milestone_items(service_stubs) == [f"goal:{t_id}:percent:75"]
    assert len(await provider_sink.wait_for("fcm", 1)) == 1


async def test_concurrent_batches_on_one_account_end_on_the_final_balance(server, services, settings, tenant,
                                                                          service_stubs, smtp_sink, provider_sink):
    await goals_bank(server, tenant, service_stubs, smtp_sink, provider_sink, push=False)
    targets = [("1000.00", 1), ("700.00", 2), ("2500.00", 2), ("400.00", 3)]
    names = [await create_goal(service_stubs, f"Goal {i}", target, priority) for i, (target, priority) in
             enumerate(targets)]
    amounts = [("CREDIT", "900.00"), ("DEBIT", "250.00"), ("CREDIT", "1300.00"), ("CREDIT", "75.50"),
               ("DEBIT", "600.00"), ("CREDIT", "2000.00"), ("DEBIT", "1999.99"), ("CREDIT", "444.44")]

    async def one_stream(number: int) -> None:
        rows = [posting(f"s{number}-{i}", value, direction, day=1 + i % 27)
                for i, (direction, value) in enumerate(amounts[number:] + amounts[:number])]
        await ingest(service_stubs, *rows[:4])
        await ingest(service_stubs, *rows[4:])

    await asyncio.gather(*(one_stream(n) for n in range(4)))
    await run_worker(settings)

    # Independently: the sum of the postings, shared by priority then creation order.
    balance = sum((Decimal(v) if d == "CREDIT" else -Decimal(v)) for d, v in amounts) * 4
    expected = []
    left = max(balance, Decimal(0))
    for target, _ in targets:  # created in priority order already (ties: oldest first)
        share = min(Decimal(target), left)
        expected.append(share)
        left -= share
    assert [s for s, _ in await saved(service_stubs, *names)] == expected
    async with services.database.sessions() as session:
        flows = (await session.execute(select(GoalCashFlowRow.goal_id, GoalCashFlowRow.amount).where(
            GoalCashFlowRow.tenant_id == tenant))).all()
    # Each posting's cash flows are its own effect on the allocation: they add up to it only when the
    # postings were handled in order, so only their count is checked (keyed by goal and transaction).
    assert len({(g, a) for g, a in flows}) <= len(flows)


async def test_the_goal_tracker_shows_each_goal_with_its_projection(server, services, settings, tenant,
                                                                   service_stubs, smtp_sink, provider_sink):
    await goals_bank(server, tenant, service_stubs, smtp_sink, provider_sink, push=False)
    first = await create_goal(service_stubs, "Emergency", "1000.00", 1)
    await create_goal(service_stubs, "Trip", "5000.00", 2)
    today = dt.datetime.now(dt.UTC).date()
    month_ago = today.replace(day=1) - dt.timedelta(days=20)
    await ingest(service_stubs, transaction("salary", ACCOUNT, "1600.00", "CREDIT", month_ago, currency="CZK"),
                 transaction("shop", ACCOUNT, "400.00", "DEBIT", month_ago, currency="CZK"))
    await run_worker(settings)
    user = server.stubs(server.token(tenant, Role.USER, CUSTOMER))
    tracker = await user.goals.GetGoalTracker(gpb.GetGoalTrackerRequest(name=f"customers/{CUSTOMER}/goalTracker"))
    await user.close()
    assert tracker.name == f"customers/{CUSTOMER}/goalTracker"
    assert tracker.lines[0].goal == first
    emergency, trip = tracker.lines
    assert (emergency.percent, emergency.track_status) == ("100.0", gpb.TRACK_STATUS_NO_TARGET_DATE)
    assert (amount(trip.saved), trip.percent) == (Decimal("200"), "4.0")
    assert amount(trip.monthly_pace) == Decimal("200")  # 1200 in the last month, 0 in the five before
    assert trip.explanation.startswith("4800.0000 to go at 200.00 a month")
    assert tracker.safe_to_save_explanation


async def test_engagectl_goals_tracker_draws_a_bar_per_goal(server, services, settings, tenant, service_stubs,
                                                           smtp_sink, provider_sink, engagectl):
    await goals_bank(server, tenant, service_stubs, smtp_sink, provider_sink, push=False)
    await create_goal(service_stubs, "Emergency", "1000.00", 1)
    await create_goal(service_stubs, "Trip", "2000.00", 2)
    await ingest(service_stubs, posting("pay", "1500.00"))
    await run_worker(settings)
    user = server.token(tenant, Role.USER, CUSTOMER)
    shown = await engagectl("goals", "tracker", CUSTOMER, token=user, terminal_columns=200)
    assert shown.exit_code == 0, shown.stdout
    assert "████████████████████ 100.0%" in shown.stdout
    assert "█████░░░░░░░░░░░░░░░  25.0%" in shown.stdout
    assert "Safe to save this month" in shown.stdout
    listed = await engagectl("--json", "goals", "tracker", CUSTOMER, "--since", "2024-01-01", "--until",
                             "2024-01-31", token=user)
    assert listed.exit_code == 0, listed.stderr
    lines = json.loads(listed.stdout)["lines"]
    assert [(line["display_name"], line["percent"], Decimal(line["period_cash_flow"]["amount"])) for line in lines] == [
        ("Emergency", "100.0", Decimal(1000)), ("Trip", "25.0", Decimal(500))]


async def test_tracker_and_at_risk_insights_come_with_the_batch_not_while_paused(server, services, settings, tenant,
                                                                                service_stubs, smtp_sink,
                                                                                provider_sink):
    await goals_bank(server, tenant, service_stubs, smtp_sink, provider_sink, push=False)
    today = dt.datetime.now(dt.UTC).date()
    soon = today + dt.timedelta(days=100)
    await create_goal(service_stubs, "Emergency", "1000.00", 1)
    car = await service_stubs.goals.CreateGoal(gpb.CreateGoalRequest(parent=f"customers/{CUSTOMER}", goal=gpb.Goal(
        display_name="Car", category=gpb.GOAL_CATEGORY_CAR, target=czk("10000.00"), priority=2,
        target_date={"year": soon.year, "month": soon.month, "day": soon.day})))
    last_month = today.replace(day=1) - dt.timedelta(days=10)
    await ingest(service_stubs, transaction("salary", ACCOUNT, "1600.00", "CREDIT", last_month, currency="CZK"),
                 transaction("shop", ACCOUNT, "400.00", "DEBIT", last_month, currency="CZK"))
    await run_worker(settings)
    names = ["GOAL_TRACKER", "GOAL_AT_RISK"]
    as_of = {"year": today.year, "month": today.month, "day": today.day}

    enrolment = f"customers/{CUSTOMER}/goalsEnrolment"
    await service_stubs.goals.PauseGoalsEnrolment(gpb.PauseGoalsEnrolmentRequest(name=enrolment))
    async with server.stubs(server.token(tenant, Role.USER, CUSTOMER)) as user:
        paused = await user.insights.TriggerInsights(inpb.TriggerInsightsRequest(insight_names=names, as_of=as_of))
    assert list(paused.generated) == []
    assert {(n.insight_name, n.reason) for n in paused.not_generated} == {
        ("GOAL_TRACKER", "CONDITION_NOT_MET"), ("GOAL_AT_RISK", "CONDITION_NOT_MET")}

    await service_stubs.goals.ResumeGoalsEnrolment(gpb.ResumeGoalsEnrolmentRequest(name=enrolment))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as admin:
        await admin.insights.RunInsightBatch(inpb.RunInsightBatchRequest(as_of=as_of))
    await run_worker(settings)
    feed = await service_stubs.insights.GetFeed(inpb.GetFeedRequest(customer_id=CUSTOMER, insight_names=names))
    items = {item.insight_name: item for item in feed.feed}
    assert set(items) == set(names)
    tracker = items["GOAL_TRACKER"]
    assert [(c.change_type, c.change_percent) for c in tracker.change_values] == [
        ("GOAL_PROGRESS", "100.0"), ("GOAL_PROGRESS", "2.0")]
    at_risk = items["GOAL_AT_RISK"]
    # 9800 still to save at 200.00 a month (1200 last month, nothing in the five before) by the target date.
    assert len(at_risk.change_values) == 1 and at_risk.change_values[0].change_type == "GOAL_SHORTFALL"
    async with services.database.sessions() as session:
        payload = await session.scalar(select(FeedItemRow.payload).where(
            FeedItemRow.tenant_id == tenant, FeedItemRow.insight_name == "GOAL_AT_RISK"))
    [risk] = payload["goals"]
    assert (risk["goalId"], risk["pace"]["amount"], risk["remaining"]["amount"]) == (
        car.name.rsplit("/", 1)[1], "200.00", "9800.0000")


async def test_the_tracker_is_the_callers_own_and_its_name_is_checked(server, services, settings, tenant,
                                                                     service_stubs, smtp_sink, provider_sink):
    await goals_bank(server, tenant, service_stubs, smtp_sink, provider_sink, push=False)
    name = f"customers/{CUSTOMER}/goalTracker"
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with server.stubs(server.token(other)) as intruder:
        code, reason, _ = await failure(intruder.goals.GetGoalTracker(gpb.GetGoalTrackerRequest(name=name)))
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "CUSTOMER_NOT_FOUND")
    async with server.stubs(server.token(tenant, Role.USER, "someone-else")) as stranger:
        code, reason, _ = await failure(stranger.goals.GetGoalTracker(gpb.GetGoalTrackerRequest(name=name)))
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_YOUR_DATA")
    code, reason, _ = await failure(service_stubs.goals.GetGoalTracker(gpb.GetGoalTrackerRequest(
        name=f"customers/{CUSTOMER}/goals")))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "RESOURCE_NAME_INVALID")
    await service_stubs.goals.CancelGoalsEnrolment(gpb.CancelGoalsEnrolmentRequest(
        name=f"customers/{CUSTOMER}/goalsEnrolment"))
    code, reason, _ = await failure(service_stubs.goals.GetGoalTracker(gpb.GetGoalTrackerRequest(name=name)))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_ENROLLED")
