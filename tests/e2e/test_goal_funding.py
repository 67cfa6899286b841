"""Funding programmes end to end on both databases: programmes through gRPC, the planning run and the rules
in the real worker, transfers on the real Redis Stream read as the bank's payment system would (consumer
group, XACK), and the bank's answer by ConfirmTransfer or by an ingested posting naming the transfer."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import select

from engage.goals.v1 import goals_service_pb2 as pb
from engage.ingest.v1 import ingest_service_pb2 as ingest
from engage.type.v1 import date_pb2, money_pb2
from server.domain.auth import Caller, Role
from server.services.goals.funding import GoalFundingService
from server.store.goals_models import GoalHistoryRow, GoalTransferRow
from server.transfer_stream import PAYMENTS_GROUP, RedisTransferStream, stream_name
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import account, amount_of, failure, seed_accounts, stream, transaction

FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
PERMISSION_DENIED = grpc.StatusCode.PERMISSION_DENIED


def money(amount: str, currency: str = "EUR") -> money_pb2.Money:
    units, _, fraction = amount.partition(".")
    return money_pb2.Money(currency_code=currency, units=int(units), nanos=int((fraction or "0").ljust(9, "0")))


def date(value: str) -> date_pb2.Date:
    day = dt.date.fromisoformat(value)
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


async def goal_of(services, stubs, tenant: str, customer_id: str = "alice", status: str = "ACTIVE") -> str:
    """A customer with a checking account (the source) and a savings account, enrolled with the savings
    account and holding one goal (archived when asked); returns the goal's name."""
    await seed_accounts(stubs, customer_id, f"{customer_id}-chk")
    await stubs.ingest.UpsertAccount(ingest.UpsertAccountRequest(account=account(
        f"{customer_id}-sav", customer_id, type=ingest.ACCOUNT_TYPE_SAVINGS)))
    # The same request id: enrolled once, however many goals the test asks for.
    await stubs.goals.EnrollInGoals(pb.EnrollInGoalsRequest(parent=f"customers/{customer_id}",
                                                            account_id=f"{customer_id}-sav", request_id="signup"))
    goal = await stubs.goals.CreateGoal(pb.CreateGoalRequest(parent=f"customers/{customer_id}", goal=pb.Goal(
        display_name="Holiday", category=pb.GOAL_CATEGORY_TRAVEL, target=money("1000.00"))))
    if status == "ARCHIVED":
        await stubs.goals.DeleteGoal(pb.DeleteGoalRequest(name=goal.name))
    return goal.name


def monthly(day_of_month: int, start: str, amount: str = "50.00") -> pb.FundingProgramme:
    return pb.FundingProgramme(source_account_id="alice-chk", fixed_schedule=pb.FixedSchedule(
        frequency=pb.SCHEDULE_FREQUENCY_MONTHLY, start_date=date(start), day_of_month=day_of_month,
        amount=money(amount)))


async def create(stubs, goal: str, programme: pb.FundingProgramme, request_id: str = "") -> pb.FundingProgramme:
    return await stubs.goals.CreateFundingProgramme(pb.CreateFundingProgrammeRequest(
        parent=goal, funding_programme=programme, request_id=request_id))


async def transfers(stubs, parent: str, **request) -> list[pb.Transfer]:
    found, token = [], ""
    while True:
        page = await stubs.goals.ListTransfers(pb.ListTransfersRequest(parent=parent, page_token=token, **request))
        found += page.transfers
        token = page.next_page_token
        if not token:
            return found


async def plan(services, settings, as_of: str) -> None:
    """The planning run, on demand, in the real worker."""
    await services.redis.enqueue_job("plan_goal_transfers", as_of, _queue_name=settings.queue_name)
    await run_worker(settings)


async def read_as_the_bank(services, settings, consumer: str = "bank-1") -> list[tuple[str, dict[str, str]]]:
    """XREADGROUP from the payments group, XACKing each instruction once taken."""
    name = stream_name(settings.queue_name)
    answer = await services.redis.xreadgroup(PAYMENTS_GROUP, consumer, {name: ">"}, count=1000)
    messages = []
    for _, entries in answer:
        for entry_id, fields in entries:
            decoded = {k.decode(): v.decode() for k, v in fields.items()}
            messages.append((entry_id.decode(), decoded))
            await services.redis.xack(name, PAYMENTS_GROUP, entry_id)
    return messages


async def history_kinds(services, tenant: str) -> list[str]:
    async with services.database.sessions() as session:
        rows = await session.scalars(select(GoalHistoryRow).where(GoalHistoryRow.tenant_id == tenant)
                                     .order_by(GoalHistoryRow.entry_id))
        return [row.kind for row in rows]


async def test_a_monthly_schedule_across_month_ends_and_leap_years(services, settings, tenant, service_stubs):
    stubs = service_stubs
    goal = await goal_of(services, stubs, tenant)
    programme = await create(stubs, goal, monthly(31, "2024-01-01"), request_id="r-1")
    assert programme.state == pb.PROGRAMME_STATE_ACTIVE
    assert programme.name.startswith(f"{goal}/fundingProgrammes/")
    assert programme.fixed_schedule.day_of_month == 31 and amount_of(programme.fixed_schedule.amount) == "50.00"
    # The same request id: the same programme, not a second one.
    assert (await create(stubs, goal, monthly(31, "2024-01-01"), request_id="r-1")).name == programme.name

    await plan(services, settings, "2024-01-30")
    assert await transfers(stubs, programme.name) == []
    await plan(services, settings, "2024-04-30")
    planned = await transfers(stubs, programme.name)
    # Newest first; the 31st falls on February's 29th in 2024 and on April's 30th.
    assert [t.period_key for t in planned] == ["2024-04", "2024-03", "2024-02", "2024-01"]
    assert {amount_of(t.amount) for t in planned} == {"50.00"}
    assert {(t.source_account_id, t.target_account_id, t.state) for t in planned} == {
        ("alice-chk", "alice-sav", pb.TRANSFER_STATE_REQUESTED)}

    # Twice the same day, or a later run over the same months: nothing new.
    await plan(services, settings, "2024-04-30")
    await plan(services, settings, "2025-03-01")
    messages = await read_as_the_bank(services, settings)
    due = [m["due_date"] for _, m in messages]
    assert due[:4] == ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]
    assert due[-2:] == ["2025-01-31", "2025-02-28"]  # not a leap year
    assert len(due) == len(set(due)) == 14
    assert len(await transfers(stubs, programme.name)) == 14
    first = messages[0][1]
    assert first["tenant"] == tenant and first["amount"] == "50.00" and first["currency"] == "EUR"
    assert first["source_account_id"] == "alice-chk" and first["target_account_id"] == "alice-sav"
    assert first["period_key"] == "2024-01" and first["type"] == "transfer.requested"
    assert first["transfer"].startswith(programme.name + "/transfers/")
    kinds = await history_kinds(services, tenant)
    assert kinds.count("PROGRAMME_CREATED") == 1 and kinds.count("TRANSFER_REQUESTED") == 14


async def test_paused_periods_are_not_made_up(services, settings, tenant, service_stubs):
    stubs = service_stubs
    goal = await goal_of(services, stubs, tenant)
    programme = await create(stubs, goal, pb.FundingProgramme(
        source_account_id="alice-chk", fixed_schedule=pb.FixedSchedule(
            frequency=pb.SCHEDULE_FREQUENCY_WEEKLY, start_date=date("2024-01-01"), amount=money("10.00"))))
    await plan(services, settings, "2024-01-14")
    paused = await stubs.goals.PauseFundingProgramme(pb.PauseFundingProgrammeRequest(name=programme.name))
    assert paused.state == pb.PROGRAMME_STATE_PAUSED
    code, reason, _ = await failure(stubs.goals.PauseFundingProgramme(
        pb.PauseFundingProgrammeRequest(name=programme.name)))
    assert (code, reason) == (FAILED_PRECONDITION, "FUNDING_PROGRAMME_TRANSITION_NOT_ALLOWED")
    await plan(services, settings, "2024-01-28")
    # Resumed on the 24th (a clock of that day): the 15th and 22nd are not made up, the 29th is due.
    resumed_on = GoalFundingService(services.database, services.publisher,
                                    clock=lambda: dt.datetime(2024, 1, 24, 9, tzinfo=dt.UTC))
    customer, goal_id, programme_id = programme.name.split("/")[1::2]
    await resumed_on.resume(Caller(tenant, "loader", Role.SERVICE), customer, goal_id, programme_id)
    await plan(services, settings, "2024-02-05")
    assert [t.period_key for t in await transfers(stubs, programme.name)] == [
        "2024-02-05", "2024-01-29", "2024-01-08", "2024-01-01"]


async def test_round_up_and_salary_rules_from_ingested_postings(services, settings, tenant, service_stubs):
    stubs = service_stubs
    goal = await goal_of(services, stubs, tenant)
    round_up = await create(stubs, goal, pb.FundingProgramme(
        source_account_id="alice-chk", round_up_rule=pb.RoundUpRule(step=money("1.00"), multiplier=2)))
    salary = await create(stubs, goal, pb.FundingProgramme(
        source_account_id="alice-chk", salary_percentage_rule=pb.SalaryPercentageRule(percent="12.5")))
    assert salary.salary_percentage_rule.percent == "12.5"
    postings = [transaction("card-1", "alice-chk", "12.30", "DEBIT", category="GROCERIES"),
                transaction("card-2", "alice-chk", "20.00", "DEBIT"),  # a whole euro: nothing to round
                transaction("pay-1", "alice-chk", "2000.00", "CREDIT", category="SALARY"),
                transaction("gift-1", "alice-chk", "100.00", "CREDIT", category="GIFT")]
    await stubs.ingest.IngestTransactions(stream(postings))
    await run_worker(settings)
    await stubs.ingest.IngestTransactions(stream(postings))  # again: the bank re-sent the batch
    await run_worker(settings)

    [rounded] = await transfers(stubs, round_up.name)
    assert (rounded.period_key, amount_of(rounded.amount)) == ("card-1", "1.40")
    [share] = await transfers(stubs, salary.name)
    assert (share.period_key, amount_of(share.amount)) == ("pay-1", "250.00")
    messages = await read_as_the_bank(services, settings)
    assert sorted((m["period_key"], m["amount"]) for _, m in messages) == [("card-1", "1.40"), ("pay-1", "250.00")]
    everything = await transfers(stubs, "customers/alice")
    assert len(everything) == 2


async def test_the_bank_takes_instructions_from_the_stream_and_confirms_them(server, services, settings, tenant,
                                                                            service_stubs):
    stubs = service_stubs
    goal = await goal_of(services, stubs, tenant)
    programme = await create(stubs, goal, monthly(15, "2024-01-01", "25.00"))
    await plan(services, settings, "2024-02-20")
    messages = await read_as_the_bank(services, settings)
    assert [m["period_key"] for _, m in messages] == ["2024-01", "2024-02"]
    name = stream_name(settings.queue_name)
    pending = await services.redis.xpending(name, PAYMENTS_GROUP)
    assert pending["pending"] == 0  # all acknowledged
    (_, january), (_, february) = messages

    # By RPC: executed; the same outcome again returns it unchanged; any other change is refused.
    confirm = pb.ConfirmTransferRequest(name=january["transfer"], outcome=pb.TRANSFER_STATE_EXECUTED,
                                        transaction_id="bank-tx-1")
    executed = await stubs.goals.ConfirmTransfer(confirm)
    assert (executed.state, executed.transaction_id) == (pb.TRANSFER_STATE_EXECUTED, "bank-tx-1")
    again = await stubs.goals.ConfirmTransfer(confirm)
    assert again.update_time == executed.update_time
    code, reason, _ = await failure(stubs.goals.ConfirmTransfer(pb.ConfirmTransferRequest(
        name=january["transfer"], outcome=pb.TRANSFER_STATE_FAILED, failure_reason="no funds")))
    assert (code, reason) == (FAILED_PRECONDITION, "TRANSFER_TRANSITION_NOT_ALLOWED")
    code, reason, fields = await failure(stubs.goals.ConfirmTransfer(pb.ConfirmTransferRequest(
        name=february["transfer"], outcome=pb.TRANSFER_STATE_FAILED)))
    assert (code, reason, fields) == (INVALID_ARGUMENT, "TRANSFER_OUTCOME_INVALID", ["failure_reason"])

    # By the ingested posting: a credit of the target account naming the transfer.
    credit = transaction("bank-tx-2", "alice-sav", "25.00", "CREDIT", day=dt.date(2024, 2, 16),
                         description=f"Savings transfer engage-transfer:{february['transfer_id']}")
    await stubs.ingest.IngestTransactions(stream([credit]))
    await run_worker(settings)
    states = {t.period_key: (t.state, t.transaction_id) for t in await transfers(stubs, programme.name)}
    assert states == {"2024-01": (pb.TRANSFER_STATE_EXECUTED, "bank-tx-1"),
                      "2024-02": (pb.TRANSFER_STATE_EXECUTED, "bank-tx-2")}
    executed_only = await transfers(stubs, "customers/alice", state=pb.TRANSFER_STATE_EXECUTED)
    assert len(executed_only) == 2
    kinds = await history_kinds(services, tenant)
    assert kinds.count("TRANSFER_EXECUTED") == 2

    # A user may not confirm: that is the bank's payment system (role service).
    async with server.stubs(server.token(tenant, Role.USER, "alice")) as user:
        code, reason, _ = await failure(user.goals.ConfirmTransfer(confirm))
        assert (code, reason) == (PERMISSION_DENIED, "ROLE_NOT_ALLOWED")


async def test_cancelling_withdraws_requested_transfers(services, settings, tenant, service_stubs):
    stubs = service_stubs
    goal = await goal_of(services, stubs, tenant)
    programme = await create(stubs, goal, monthly(1, "2024-01-01"))
    await plan(services, settings, "2024-02-01")
    cancelled = await stubs.goals.CancelFundingProgramme(pb.CancelFundingProgrammeRequest(name=programme.name))
    assert cancelled.state == pb.PROGRAMME_STATE_CANCELLED
    listed = await transfers(stubs, programme.name)
    assert {t.state for t in listed} == {pb.TRANSFER_STATE_CANCELLED}
    code, reason, _ = await failure(stubs.goals.ConfirmTransfer(pb.ConfirmTransferRequest(
        name=listed[0].name, outcome=pb.TRANSFER_STATE_EXECUTED)))
    assert (code, reason) == (FAILED_PRECONDITION, "TRANSFER_TRANSITION_NOT_ALLOWED")
    for call in (stubs.goals.ResumeFundingProgramme(pb.ResumeFundingProgrammeRequest(name=programme.name)),
                 stubs.goals.CancelFundingProgramme(pb.CancelFundingProgrammeRequest(name=programme.name))):
        code, reason, _ = await failure(call)
        assert (code, reason) == (FAILED_PRECONDITION, "FUNDING_PROGRAMME_TRANSITION_NOT_ALLOWED")
    await plan(services, settings, "2024-05-01")
    assert len(await transfers(stubs, programme.name)) == 2
    kinds = await history_kinds(services, tenant)
    assert kinds.count("PROGRAMME_CANCELLED") == 1 and kinds.count("TRANSFER_CANCELLED") == 2


async def test_archiving_a_goal_or_cancelling_the_enrolment_ends_its_programmes(services, settings, tenant,
                                                                               service_stubs):
    stubs = service_stubs
    goal = await goal_of(services, stubs, tenant)
    running = await create(stubs, goal, monthly(1, "2024-01-01"))
    paused = await create(stubs, goal, monthly(15, "2024-01-01"))
    await stubs.goals.PauseFundingProgramme(pb.PauseFundingProgrammeRequest(name=paused.name))
    await plan(services, settings, "2024-02-01")
    assert {t.state for t in await transfers(stubs, running.name)} == {pb.TRANSFER_STATE_REQUESTED}

    await stubs.goals.DeleteGoal(pb.DeleteGoalRequest(name=goal))
    for programme in (running, paused):
        ended = await stubs.goals.GetFundingProgramme(pb.GetFundingProgrammeRequest(name=programme.name))
        assert ended.state == pb.PROGRAMME_STATE_CANCELLED
    listed = await transfers(stubs, running.name)
    assert len(listed) == 2 and {t.state for t in listed} == {pb.TRANSFER_STATE_CANCELLED}
    async with services.database.sessions() as session:
        ended_by = set(await session.scalars(select(GoalHistoryRow.actor_id).where(
            GoalHistoryRow.tenant_id == tenant, GoalHistoryRow.kind == "PROGRAMME_CANCELLED")))
    assert ended_by == {"goal_archived"}

    other = (await stubs.goals.CreateGoal(pb.CreateGoalRequest(parent="customers/alice", goal=pb.Goal(
        display_name="Car", category=pb.GOAL_CATEGORY_CAR, target=money("5000.00"))))).name
    third = await create(stubs, other, monthly(1, "2024-03-01"))
    await stubs.goals.CancelGoalsEnrolment(pb.CancelGoalsEnrolmentRequest(name="customers/alice/goalsEnrolment"))
    ended = await stubs.goals.GetFundingProgramme(pb.GetFundingProgrammeRequest(name=third.name))
    assert ended.state == pb.PROGRAMME_STATE_CANCELLED
    await plan(services, settings, "2024-06-01")
    assert len(await transfers(stubs, third.name)) == 0
    kinds = await history_kinds(services, tenant)
    assert kinds.count("PROGRAMME_CANCELLED") == 3 and kinds.count("TRANSFER_CANCELLED") == 2


async def test_programmes_are_checked_listed_and_updated(services, settings, tenant, service_stubs):
    stubs = service_stubs
    goal = await goal_of(services, stubs, tenant)
    await seed_accounts(stubs, "bob", "bob-chk")
    code, reason, fields = await failure(create(stubs, goal, pb.FundingProgramme(
        source_account_id="bob-chk", round_up_rule=pb.RoundUpRule())))
    assert (code, reason, fields) == (INVALID_ARGUMENT, "FUNDING_SOURCE_INVALID",
                                      ["funding_programme.source_account_id"])
    code, reason, fields = await failure(create(stubs, goal, monthly(40, "2024-01-01")))
    assert (code, reason, fields) == (INVALID_ARGUMENT, "FUNDING_SCHEDULE_INVALID",
                                      ["funding_programme.fixed_schedule.day_of_month"])
    code, reason, fields = await failure(create(stubs, goal, pb.FundingProgramme(
        source_account_id="alice-chk", salary_percentage_rule=pb.SalaryPercentageRule(percent="150"))))
    assert (code, reason, fields) == (INVALID_ARGUMENT, "FUNDING_AMOUNT_INVALID",
                                      ["funding_programme.salary_percentage_rule.percent"])
    code, reason, _ = await failure(create(stubs, goal, monthly(1, "2024-01-01", "0.00")))
    assert (code, reason) == (INVALID_ARGUMENT, "FUNDING_AMOUNT_INVALID")
    code, reason, _ = await failure(create(stubs, goal, pb.FundingProgramme(source_account_id="alice-chk")))
    assert (code, reason) == (INVALID_ARGUMENT, "FUNDING_RULE_INVALID")
    archived = await goal_of(services, stubs, tenant, status="ARCHIVED")
    code, reason, _ = await failure(create(stubs, archived, monthly(1, "2024-01-01")))
    assert (code, reason) == (FAILED_PRECONDITION, "GOAL_ARCHIVED")

    first = await create(stubs, goal, monthly(1, "2024-01-01"))
    second = await create(stubs, goal, pb.FundingProgramme(source_account_id="alice-chk",
                                                           round_up_rule=pb.RoundUpRule()))
    page = await stubs.goals.ListFundingProgrammes(pb.ListFundingProgrammesRequest(parent=goal, page_size=1))
    assert [p.name for p in page.funding_programmes] == [first.name]
    page = await stubs.goals.ListFundingProgrammes(pb.ListFundingProgrammesRequest(
        parent="customers/alice", page_token=page.next_page_token))
    assert [p.name for p in page.funding_programmes] == [second.name] and not page.next_page_token
    assert (await stubs.goals.GetFundingProgramme(pb.GetFundingProgrammeRequest(name=second.name))) == second

    updated = await stubs.goals.UpdateFundingProgramme(pb.UpdateFundingProgrammeRequest(
        funding_programme=pb.FundingProgramme(name=second.name, salary_percentage_rule=pb.SalaryPercentageRule(
            percent="5")), update_mask=FieldMask(paths=["salary_percentage_rule"])))
    assert updated.WhichOneof("plan") == "salary_percentage_rule" and updated.salary_percentage_rule.percent == "5"
    code, reason, _ = await failure(stubs.goals.UpdateFundingProgramme(pb.UpdateFundingProgrammeRequest(
        funding_programme=pb.FundingProgramme(name=second.name), update_mask=FieldMask(paths=["state"]))))
    assert (code, reason) == (INVALID_ARGUMENT, "UPDATE_MASK_INVALID")
    async with services.database.sessions() as session:
        changed = (await session.scalars(select(GoalHistoryRow).where(
            GoalHistoryRow.tenant_id == tenant, GoalHistoryRow.kind == "PROGRAMME_CHANGED"))).one()
    assert changed.before["plan"] == "ROUND_UP" and changed.after["plan"] == "SALARY_PERCENTAGE"
    assert changed.after["percent"] == "5" and changed.actor == "SERVICE" and changed.actor_id == "loader"


async def test_another_bank_and_other_customers_see_nothing(server, services, settings, tenant, service_stubs):
    stubs = service_stubs
    goal = await goal_of(services, stubs, tenant)
    programme = await create(stubs, goal, monthly(1, "2024-01-01"))
    await plan(services, settings, "2024-01-01")
    [requested] = await transfers(stubs, programme.name)
    other = (await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}")).tenant_id
    async with server.stubs(server.token(other, Role.SERVICE, "loader")) as theirs:
        for call in (theirs.goals.GetFundingProgramme(pb.GetFundingProgrammeRequest(name=programme.name)),
                     theirs.goals.PauseFundingProgramme(pb.PauseFundingProgrammeRequest(name=programme.name)),
                     theirs.goals.ConfirmTransfer(pb.ConfirmTransferRequest(
                         name=requested.name, outcome=pb.TRANSFER_STATE_EXECUTED))):
            code, _, _ = await failure(call)
            assert code == NOT_FOUND
        assert await transfers(theirs, "customers/alice") == []
        code, reason, _ = await failure(transfers(theirs, programme.name))
        assert (code, reason) == (NOT_FOUND, "FUNDING_PROGRAMME_NOT_FOUND")
    async with server.stubs(server.token(tenant, Role.USER, "bob")) as bob:
        code, reason, _ = await failure(bob.goals.GetFundingProgramme(
            pb.GetFundingProgrammeRequest(name=programme.name)))
        assert (code, reason) == (PERMISSION_DENIED, "NOT_YOUR_DATA")
    async with server.stubs(server.token(tenant, Role.USER, "alice")) as alice:
        assert [t.name for t in await transfers(alice, "customers/alice")] == [requested.name]
        code, reason, _ = await failure(alice.goals.ConfirmTransfer(pb.ConfirmTransferRequest(
            name=requested.name, outcome=pb.TRANSFER_STATE_EXECUTED)))
        assert (code, reason) == (PERMISSION_DENIED, "ROLE_NOT_ALLOWED")


async def test_transfers_redis_did_not_take_are_published_by_the_relay(services, settings, tenant, service_stubs):
    stubs = service_stubs
    goal = await goal_of(services, stubs, tenant)
    programme = await create(stubs, goal, monthly(1, "2024-01-01"))

    class Down:
        async def publish(self, messages):
            raise ConnectionError("Redis is down")

    outage = GoalFundingService(services.database, services.publisher, stream=Down())
    [created] = await outage.plan_tenant(tenant, dt.date(2024, 1, 1))
    async with services.database.sessions() as session:
        row = await session.get(GoalTransferRow, (tenant, created.transfer_id))
        assert row.published_at is None
    # Later, with Redis back: the sweep publishes it once, then finds nothing left.
    later = GoalFundingService(services.database, services.publisher,
                               clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
                               stream=RedisTransferStream(services.redis, settings.queue_name))
    assert await later.relay_unpublished() == 1
    assert await later.relay_unpublished() == 0
    [(_, message)] = await read_as_the_bank(services, settings)
    assert message["transfer"] == f"{programme.name}/transfers/{created.transfer_id}"



async def test_engagectl_manages_programmes_and_confirms_transfers(server, services, settings, tenant, service_stubs,
                                                                  engagectl):
    goal = await goal_of(services, service_stubs, tenant)
    token = server.token(tenant, Role.SERVICE, "ops")
    created = await engagectl("--json", "goals", "programmes", "create", "alice", goal.rpartition("/")[2],
                              "--source", "alice-chk", "--schedule", "MONTHLY", "--start", "2024-01-31",
                              "--amount", "40", token=token)
    assert created.exit_code == 0, created.stderr
    programme = json.loads(created.stdout)
    assert programme["state"] == "ACTIVE" and programme["fixed_schedule"]["day_of_month"] == 31
    name = programme["name"]
    paused = await engagectl("--json", "goals", "programmes", "pause", name, token=token)
    assert json.loads(paused.stdout)["state"] == "PAUSED"
    resumed = await engagectl("--json", "goals", "programmes", "resume", name, token=token)
    assert json.loads(resumed.stdout)["state"] == "ACTIVE"
    listed = await engagectl("goals", "programmes", "list", "alice", token=token)
    assert name in listed.stdout and "MONTHLY on day 31: 40.00 EUR" in listed.stdout

    # Resumed today: the 2024 periods are not made up; the update turns it into a rule instead.
    updated = await engagectl("--json", "goals", "programmes", "update", name, "--round-up", token=token)
    assert json.loads(updated.stdout)["round_up_rule"]["multiplier"] == 1
    await service_stubs.ingest.IngestTransactions(stream([transaction("card-9", "alice-chk", "3.25", "DEBIT")]))
    await run_worker(settings)
    shown = await engagectl("--json", "goals", "transfers", "list", "alice", "--state", "REQUESTED", token=token)
    [requested] = json.loads(shown.stdout)
    assert requested["amount"] == {"amount": "0.75", "currency_code": "EUR"} and requested["period_key"] == "card-9"
    confirmed = await engagectl("--json", "goals", "transfers", "confirm", requested["name"], "--failed",
                                "account closed", token=token)
    assert json.loads(confirmed.stdout)["state"] == "FAILED"
    cancelled = await engagectl("--json", "goals", "programmes", "cancel", name, token=token)
    assert json.loads(cancelled.stdout)["state"] == "CANCELLED"
    again = await engagectl("goals", "programmes", "cancel", name, token=token)
    assert again.exit_code != 0 and "FUNDING_PROGRAMME_TRANSITION_NOT_ALLOWED" in again.stderr


async def test_the_hourly_run_plans_up_to_each_banks_own_today(server, services, settings):
    """The cron's run without as_of: 30 January 23:30 UTC is already the 31st in Auckland, not in UTC."""
    late_utc = dt.datetime(2024, 1, 30, 23, 30, tzinfo=dt.UTC)
    names = {}
    for zone in ("Pacific/Auckland", "UTC"):
        tenant = (await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}", time_zone=zone)).tenant_id
        async with server.stubs(server.token(tenant, Role.SERVICE, "loader")) as stubs:
            goal = await goal_of(services, stubs, tenant)
            names[zone] = (await create(stubs, goal, monthly(31, "2024-01-01"))).name
    hourly = GoalFundingService(services.database, services.publisher, clock=lambda: late_utc)
    await hourly.plan_scheduled_transfers()
    async with services.database.sessions() as session:
        planned = {row.programme_id: row.period_key for row in await session.scalars(select(GoalTransferRow))}
    assert planned == {names["Pacific/Auckland"].rpartition("/")[2]: "2024-01"}
