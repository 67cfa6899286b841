"""The goals reporting views through gRPC, as the bank's reporting reads them: every column, each filter,
pages that join up, the tenant's time zone, and nobody but the bank (or its systems) reading them."""

import datetime as dt
import uuid

import grpc
import pytest

from clients.engagectl.money import money
from engage.goals.v1 import goals_service_pb2 as pb
from engage.ingest.v1 import ingest_service_pb2 as ingest
from engage.type.v1 import date_pb2
from server.domain.auth import Role
from tests.support.builders import account, amount_of, failure, seed_accounts, stream, transaction
from tests.support.goal_reports import seed_goal_reports


def day(text: str) -> date_pb2.Date:
    year, month, day_of_month = map(int, text.split("-"))
    return date_pb2.Date(year=year, month=month, day=day_of_month)


def dates(start: str, end: str) -> date_pb2.DateRange:
    return date_pb2.DateRange(start_date=day(start), end_date=day(end))


async def every_row(call, request_class, **fields):
    """Every row, page after page of `page_size` (2 by default), and how many pages it took."""
    rows, token, pages, size = [], "", 0, fields.pop("page_size", 2)
    while True:
        response = await call(request_class(page_size=size, page_token=token, **fields))
        rows.extend(response.rows)
        pages += 1
        token = response.next_page_token
        if not token:
            return rows, pages


@pytest.fixture
async def admin(server, services, tenant):
    await seed_goal_reports(services.database, tenant)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as stubs:
        yield stubs.goals


async def test_the_goals_view_has_one_row_per_goal_by_customer_then_oldest(admin):
    rows, pages = await every_row(admin.ListGoalReportRows, pb.ListGoalReportRowsRequest)
    assert pages == 3
    assert [(r.customer_id, r.goal_id) for r in rows] == [
        ("c1", "g-a"), ("c1", "g-b"), ("c1", "g-c"), ("c2", "g-d"), ("c2", "g-e")]
    holiday, rainy, car, flat, wedding = rows
    assert (holiday.account_id, holiday.display_name, pb.GoalCategory.Name(holiday.category)) == (
        "c1-sav", "Holiday", "GOAL_CATEGORY_TRAVEL")
    assert (amount_of(holiday.target), amount_of(holiday.saved), holiday.target.currency_code) == (
        "1000.00", "250.00", "EUR")
    assert [r.percent for r in rows] == ["25.0", "100.0", "0.0", "6.2", "99.9"]
    assert [pb.GoalState.Name(r.state) for r in rows] == [
        "GOAL_STATE_ACTIVE", "GOAL_STATE_ACHIEVED", "GOAL_STATE_ARCHIVED", "GOAL_STATE_PAUSED", "GOAL_STATE_ACTIVE"]
    assert holiday.create_time.ToJsonString() == "2025-01-10T09:00:00Z"
    assert not holiday.HasField("achieve_time") and not holiday.HasField("target_date")
    assert rainy.achieve_time.ToJsonString() == "2025-02-01T10:00:00Z"
    assert (rainy.target_date.year, rainy.target_date.month, rainy.target_date.day) == (2026, 6, 30)
    assert list(rainy.milestones_reached) == ["percent:25", "percent:50", "percent:75", "percent:100"]
    assert car.archive_time.ToJsonString() == "2025-03-01T10:00:00Z"
    assert (flat.saved.currency_code, amount_of(flat.saved)) == ("USD", "1234.50")
    assert wedding.display_name == "Wedding"


async def test_the_goals_view_filters(admin):
    async def goal_ids(**fields):
        rows, _ = await every_row(admin.ListGoalReportRows, pb.ListGoalReportRowsRequest, **fields)
        return [r.goal_id for r in rows]

    assert await goal_ids(customer_id="c2") == ["g-d", "g-e"]
    assert await goal_ids(state=pb.GOAL_STATE_ACTIVE) == ["g-a", "g-e"]
    assert await goal_ids(state=pb.GOAL_STATE_ARCHIVED) == ["g-c"]
    assert await goal_ids(category=pb.GOAL_CATEGORY_HOME) == ["g-d"]
    assert await goal_ids(customer_id="c1", state=pb.GOAL_STATE_ACTIVE) == ["g-a"]
    assert await goal_ids(create_date_range=dates("2025-01-11", "2025-01-12")) == ["g-b", "g-d"]
    assert await goal_ids(create_date_range=dates("2025-01-12", "2025-01-12")) == ["g-b"]
    assert await goal_ids(create_date_range=date_pb2.DateRange(start_date=day("2025-02-01"))) == ["g-e"]
    assert await goal_ids(customer_id="nobody") == []


async def test_dates_are_days_in_the_tenants_time_zone(server, services):
    tokyo = (await services.tenants.create(f"tokyo-{uuid.uuid4().hex[:8]}", None, "Asia/Tokyo")).tenant_id
    await seed_goal_reports(services.database, tokyo)
    async with server.stubs(server.token(tokyo, Role.BANK_ADMIN, "kenji")) as stubs:
        response = await stubs.goals.ListGoalReportRows(pb.ListGoalReportRowsRequest(
            create_date_range=dates("2025-01-12", "2025-01-12")))
        # g-d was created at 23:30 UTC on the 11th: the 12th in Tokyo.
        assert [r.goal_id for r in response.rows] == ["g-b", "g-d"]
        history = await stubs.goals.ListCustomerHistoryReportRows(pb.ListCustomerHistoryReportRowsRequest(
            create_date_range=dates("2025-01-12", "2025-01-12")))
        assert [r.entry_id for r in history.rows] == ["h03"]


async def test_the_customer_history_view_reads_as_a_log(admin):
    rows, pages = await every_row(admin.ListCustomerHistoryReportRows, pb.ListCustomerHistoryReportRowsRequest,
                                  page_size=5)
    assert pages == 3
    assert [r.entry_id for r in rows] == [f"h{n:02}" for n in range(1, 13)]
    signup, created, admin_signup, achieved = rows[:4]
    assert (signup.customer_id, pb.HistoryKind.Name(signup.kind), pb.Actor.Name(signup.actor), signup.actor_id,
            signup.goal_id, signup.resource) == (
        "c1", "HISTORY_KIND_SIGNUP", "ACTOR_CUSTOMER", "c1", "", "customers/c1/goalsEnrolment")
    assert signup.create_time.ToJsonString() == "2025-01-10T08:00:00Z"
    assert (dict(created.before), dict(created.after)) == (
        {}, {"name": "Holiday", "target": "1000.00 EUR", "target_date": ""})
    assert (pb.Actor.Name(admin_signup.actor), admin_signup.actor_id) == ("ACTOR_BANK_ADMIN", "lisa")
    assert (pb.Actor.Name(achieved.actor), achieved.goal_id, dict(achieved.before), dict(achieved.after)) == (
        "ACTOR_SERVICE", "g-b", {"status": "ACTIVE"}, {"status": "ACHIEVED"})


async def test_the_customer_history_view_filters(admin):
    async def entry_ids(**fields):
        rows, _ = await every_row(admin.ListCustomerHistoryReportRows, pb.ListCustomerHistoryReportRowsRequest,
                                  **fields)
        return [r.entry_id for r in rows]

    assert await entry_ids(customer_id="c2") == ["h03"]
    assert await entry_ids(kinds=[pb.HISTORY_KIND_SIGNUP, pb.HISTORY_KIND_GOAL_ACHIEVED]) == ["h01", "h03", "h04"]
    assert await entry_ids(customer_id="c1", kinds=[pb.HISTORY_KIND_SIGNUP]) == ["h01"]
    assert await entry_ids(create_date_range=dates("2025-03-01", "2025-04-01")) == ["h05", "h06", "h07", "h08"]


async def test_the_funding_view_shows_programme_and_transfer_events_as_they_stood(admin):
    rows, pages = await every_row(admin.ListTransferReportRows, pb.ListTransferReportRowsRequest)
    assert pages == 4
    seen = [(pb.HistoryKind.Name(r.kind).removeprefix("HISTORY_KIND_"), r.transfer_id,
             pb.ProgrammeState.Name(r.programme_state).removeprefix("PROGRAMME_STATE_"),
             pb.TransferState.Name(r.transfer_state).removeprefix("TRANSFER_STATE_")) for r in rows]
    assert seen == [("PROGRAMME_CREATED", "", "ACTIVE", "UNSPECIFIED"),
                    ("PROGRAMME_CHANGED", "", "PAUSED", "UNSPECIFIED"),
                    ("PROGRAMME_CHANGED", "", "ACTIVE", "UNSPECIFIED"),
                    ("TRANSFER_REQUESTED", "t1", "ACTIVE", "REQUESTED"),
                    ("TRANSFER_EXECUTED", "t1", "ACTIVE", "EXECUTED"),
                    ("TRANSFER_REQUESTED", "t2", "ACTIVE", "REQUESTED"),
                    ("TRANSFER_FAILED", "t2", "ACTIVE", "FAILED"),
                    ("PROGRAMME_CANCELLED", "", "CANCELLED", "UNSPECIFIED")]
    assert {(r.customer_id, r.goal_id, r.funding_programme_id) for r in rows} == {("c1", "g-a", "p1")}
    created, _, resumed, requested, executed, requested_again, failed, _ = rows
    assert not created.HasField("amount") and created.source_account_id == ""
    assert (pb.Actor.Name(resumed.actor), resumed.event_time.ToJsonString()) == (
        "ACTOR_BANK_ADMIN", "2025-03-20T10:00:00Z")
    assert (amount_of(requested.amount), requested.amount.currency_code, requested.source_account_id,
            requested.target_account_id, requested.period_key, requested.transaction_id) == (
        "50.00", "EUR", "c1-chk", "c1-sav", "2025-04", "")
    assert (executed.transaction_id, executed.failure_reason) == ("bank-tx-1", "")
    assert (requested_again.failure_reason, failed.failure_reason, failed.period_key) == (
        "", "insufficient funds", "2025-05")
    assert pb.Actor.Name(failed.actor) == "ACTOR_SERVICE"


async def test_the_funding_view_filters(admin):
    async def kinds(**fields):
        rows, _ = await every_row(admin.ListTransferReportRows, pb.ListTransferReportRowsRequest, **fields)
        return [(pb.HistoryKind.Name(r.kind).removeprefix("HISTORY_KIND_"), r.transfer_id) for r in rows]

    assert await kinds(kinds=[pb.HISTORY_KIND_TRANSFER_FAILED, pb.HISTORY_KIND_TRANSFER_EXECUTED]) == [
        ("TRANSFER_EXECUTED", "t1"), ("TRANSFER_FAILED", "t2")]
    assert await kinds(event_date_range=dates("2025-05-01", "2025-05-31")) == [
        ("TRANSFER_REQUESTED", "t2"), ("TRANSFER_FAILED", "t2"), ("PROGRAMME_CANCELLED", "")]
    assert await kinds(customer_id="c2") == []
    # A programme's state is its state at the event, whatever the filter leaves out.
    paused = await admin.ListTransferReportRows(pb.ListTransferReportRowsRequest(
        event_date_range=dates("2025-03-10", "2025-03-10")))
    assert [pb.ProgrammeState.Name(r.programme_state) for r in paused.rows] == ["PROGRAMME_STATE_PAUSED"]


async def test_bad_filters_and_page_tokens_are_invalid_arguments(admin):
    checks = [
        (admin.ListTransferReportRows(pb.ListTransferReportRowsRequest(kinds=[pb.HISTORY_KIND_SIGNUP])),
         "INVALID_ENUM", ["kinds[0]"]),
        (admin.ListCustomerHistoryReportRows(pb.ListCustomerHistoryReportRowsRequest(
            kinds=[pb.HISTORY_KIND_UNSPECIFIED])), "INVALID_ENUM", ["kinds[0]"]),
        (admin.ListGoalReportRows(pb.ListGoalReportRowsRequest(state=42)), "INVALID_ENUM", ["state"]),
        (admin.ListGoalReportRows(pb.ListGoalReportRowsRequest(page_size=-1)), "INVALID_PAGE_SIZE", ["page_size"]),
        (admin.ListGoalReportRows(pb.ListGoalReportRowsRequest(
            create_date_range=date_pb2.DateRange(start_date=date_pb2.Date(year=2025, month=2, day=30)))),
         "INVALID_DATE", ["create_date_range.start_date"]),
    ]
    for call, reason, fields in checks:
        assert await failure(call) == (grpc.StatusCode.INVALID_ARGUMENT, reason, fields)
    history = await admin.ListCustomerHistoryReportRows(pb.ListCustomerHistoryReportRowsRequest(page_size=1))
    # One view's token is not another's, even with a key of the same shape.
    for call in (admin.ListTransferReportRows(pb.ListTransferReportRowsRequest(page_token=history.next_page_token)),
                 admin.ListGoalReportRows(pb.ListGoalReportRowsRequest(page_token=history.next_page_token))):
        assert await failure(call) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", ["page_token"])


async def test_the_service_role_reads_them_and_a_user_may_not(server, services, tenant, admin):
    async with server.stubs(server.token(tenant, Role.SERVICE, "warehouse")) as stubs:
        assert len((await stubs.goals.ListGoalReportRows(pb.ListGoalReportRowsRequest())).rows) == 5
    async with server.stubs(server.token(tenant, Role.USER, "c1")) as stubs:
        for call in (stubs.goals.ListGoalReportRows(pb.ListGoalReportRowsRequest(customer_id="c1")),
                     stubs.goals.ListCustomerHistoryReportRows(pb.ListCustomerHistoryReportRowsRequest()),
                     stubs.goals.ListTransferReportRows(pb.ListTransferReportRowsRequest(customer_id="c1"))):
            assert await failure(call) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED", [])


async def test_another_bank_sees_nothing(server, services, admin):
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as stubs:
        assert not (await stubs.goals.ListGoalReportRows(pb.ListGoalReportRowsRequest(customer_id="c1"))).rows
        assert not (await stubs.goals.ListCustomerHistoryReportRows(pb.ListCustomerHistoryReportRowsRequest())).rows
        assert not (await stubs.goals.ListTransferReportRows(pb.ListTransferReportRowsRequest())).rows


async def test_a_customers_goals_life_through_the_rpcs_shows_in_every_view(server, services, tenant, service_stubs):
    await seed_accounts(service_stubs, "alice", "alice-chk")
    await service_stubs.ingest.UpsertAccount(ingest.UpsertAccountRequest(account=account(
        "alice-sav", "alice", type=ingest.ACCOUNT_TYPE_SAVINGS)))
    await service_stubs.ingest.IngestTransactions(stream([transaction("alice-t1", "alice-sav", "300.00")]))
    async with server.stubs(server.token(tenant, Role.USER, "alice")) as alice, \
            server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        await alice.goals.EnrollInGoals(pb.EnrollInGoalsRequest(parent="customers/alice", account_id="alice-sav"))
        holiday = await alice.goals.CreateGoal(pb.CreateGoalRequest(parent="customers/alice", goal=pb.Goal(
            display_name="Holiday", category=pb.GOAL_CATEGORY_TRAVEL, target=money("1000.00", "EUR"), priority=1)))
        car = await alice.goals.CreateGoal(pb.CreateGoalRequest(parent="customers/alice", goal=pb.Goal(
            display_name="Car", category=pb.GOAL_CATEGORY_CAR, target=money("5000.00", "EUR"), priority=2)))
        await admin.goals.DeleteGoal(pb.DeleteGoalRequest(name=car.name))
        programme = await alice.goals.CreateFundingProgramme(pb.CreateFundingProgrammeRequest(
            parent=holiday.name, funding_programme=pb.FundingProgramme(
                source_account_id="alice-chk", fixed_schedule=pb.FixedSchedule(
                    frequency=pb.SCHEDULE_FREQUENCY_MONTHLY, start_date=day("2024-02-01"), day_of_month=1,
                    amount=money("50.00", "EUR")))))
        assert await services.goal_funding.plan_scheduled_transfers(dt.date(2024, 2, 1)) == 1
        [transfer] = (await service_stubs.goals.ListTransfers(pb.ListTransfersRequest(parent=programme.name))).transfers
        await service_stubs.goals.ConfirmTransfer(pb.ConfirmTransferRequest(
            name=transfer.name, outcome=pb.TRANSFER_STATE_EXECUTED, transaction_id="bank-tx-9"))
        await alice.goals.PauseFundingProgramme(pb.PauseFundingProgrammeRequest(name=programme.name))

        goals = (await admin.goals.ListGoalReportRows(pb.ListGoalReportRowsRequest(customer_id="alice"))).rows
        assert [(r.display_name, pb.GoalState.Name(r.state), amount_of(r.saved), r.percent, r.account_id)
                for r in goals] == [("Holiday", "GOAL_STATE_ACTIVE", "300.00", "30.0", "alice-sav"),
                                    ("Car", "GOAL_STATE_ARCHIVED", "0.00", "0.0", "alice-sav")]
        assert goals[1].HasField("archive_time") and not goals[0].HasField("archive_time")

        history, _ = await every_row(admin.goals.ListCustomerHistoryReportRows, pb.ListCustomerHistoryReportRowsRequest,
                                     customer_id="alice")
        assert [(pb.HistoryKind.Name(r.kind).removeprefix("HISTORY_KIND_"), pb.Actor.Name(r.actor)) for r in history
                if r.kind != pb.HISTORY_KIND_GOAL_EDITED] == [
            ("SIGNUP", "ACTOR_CUSTOMER"), ("GOAL_CREATED", "ACTOR_CUSTOMER"), ("GOAL_CREATED", "ACTOR_CUSTOMER"),
            ("GOAL_ARCHIVED", "ACTOR_BANK_ADMIN"), ("PROGRAMME_CREATED", "ACTOR_CUSTOMER"),
            ("TRANSFER_REQUESTED", "ACTOR_SERVICE"), ("TRANSFER_EXECUTED", "ACTOR_SERVICE"),
            ("PROGRAMME_CHANGED", "ACTOR_CUSTOMER")]

        funding, _ = await every_row(admin.goals.ListTransferReportRows, pb.ListTransferReportRowsRequest)
        assert [(pb.HistoryKind.Name(r.kind).removeprefix("HISTORY_KIND_"),
                 pb.ProgrammeState.Name(r.programme_state).removeprefix("PROGRAMME_STATE_"),
                 pb.TransferState.Name(r.transfer_state).removeprefix("TRANSFER_STATE_"), r.period_key,
                 r.transaction_id) for r in funding] == [
            ("PROGRAMME_CREATED", "ACTIVE", "UNSPECIFIED", "", ""),
            ("TRANSFER_REQUESTED", "ACTIVE", "REQUESTED", "2024-02", ""),
            ("TRANSFER_EXECUTED", "ACTIVE", "EXECUTED", "2024-02", "bank-tx-9"),
            ("PROGRAMME_CHANGED", "PAUSED", "UNSPECIFIED", "", "")]
        assert {(r.goal_id, r.funding_programme_id) for r in funding} == {
            (holiday.name.rpartition("/")[2], programme.name.rpartition("/")[2])}
        assert (funding[1].transfer_id, amount_of(funding[1].amount), funding[1].source_account_id,
                funding[1].target_account_id) == (transfer.name.rpartition("/")[2], "50.00", "alice-chk", "alice-sav")
