"""SummarizeGoals through gRPC and both reporting commands of engagectl (metrics and goals-summary): the figures
of tests/integration/test_goals_summary_store.py on the wire, bad ranges, roles and other banks."""

import json
import random
import uuid

import grpc

from engage.reporting.v1 import goals_summary_pb2 as pb
from engage.reporting.v1 import metrics_pb2
from engage.type.v1 import date_pb2
from server.domain.auth import Role
from tests.support.builders import failure
from tests.support.metrics_seed import seed_goals_summary, seed_metrics
from tests.support.random_messages import STRINGS, random_message


def _day(year, month, day):
    return date_pb2.Date(year=year, month=month, day=day)


async def test_summary_on_the_wire_and_who_may_read_it(server, services, tenant):
    await seed_goals_summary(services.database, tenant)
    request = pb.SummarizeGoalsRequest(date_range=date_pb2.DateRange(start_date=_day(2026, 1, 1),
                                                                     end_date=_day(2026, 2, 28)))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        summary = await admin.reporting.SummarizeGoals(request)
        assert summary.goals == 6
        assert [(b.lower_percent, b.upper_percent, b.goals) for b in summary.progress if b.goals] == [
            (0, 10, 2), (10, 20, 1), (20, 30, 1), (90, 100, 1), (100, 100, 1)]
        assert [((m.period_start.year, m.period_start.month, m.period_start.day), m.milestone, m.reached)
                for m in summary.milestones] == [
            ((2026, 1, 1), "percent:25", 2), ((2026, 1, 1), "percent:50", 1), ((2026, 2, 1), "percent:75", 1)]
        backwards = pb.SummarizeGoalsRequest(date_range=date_pb2.DateRange(start_date=_day(2026, 2, 1),
                                                                           end_date=_day(2026, 1, 1)))
        assert await failure(admin.reporting.SummarizeGoals(backwards)) == (
            grpc.StatusCode.INVALID_ARGUMENT, "METRICS_DATE_RANGE_INVALID", ["date_range"])
        not_a_day = pb.SummarizeGoalsRequest(date_range=date_pb2.DateRange(start_date=_day(2026, 2, 30)))
        assert await failure(admin.reporting.SummarizeGoals(not_a_day)) == (
            grpc.StatusCode.INVALID_ARGUMENT, "INVALID_DATE", ["date_range.start_date"])
    async with server.stubs(server.token(tenant, Role.SERVICE, "warehouse")) as warehouse:
        assert (await warehouse.reporting.SummarizeGoals(pb.SummarizeGoalsRequest())).goals == 6
    async with server.stubs(server.token(tenant, Role.USER, "c1")) as customer:
        assert await failure(customer.reporting.SummarizeGoals(request)) == (
            grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED", [])
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with server.stubs(server.token(other, Role.BANK_ADMIN, "olga")) as stranger:
        empty = await stranger.reporting.SummarizeGoals(pb.SummarizeGoalsRequest())
        assert (empty.goals, list(empty.milestones)) == (0, [])


async def test_engagectl_reports_metrics_and_goals_summary(engagectl, server, services, tenant):
    await seed_metrics(services.database, tenant)
    await seed_goals_summary(services.database, tenant)
    admin = server.token(tenant, Role.BANK_ADMIN, "lisa")
    shown = await engagectl("reports", "metrics", "--dimension", "insight", "--granularity", "month",
                            "--period", "2026-01..2026-02", token=admin)
    assert shown.exit_code == 0, shown.stderr
    header, *rows = [line.split("\t") for line in shown.stdout.splitlines()]
    assert header[:9] == ["value", "period", "generated", "delivered", "viewed", "clicked", "dismissed", "converted",
                          "firings"]
    assert [row[:6] for row in rows] == [["LOW_BALANCE", "2026-01-01", "4", "3", "2", "1"],
                                         ["LOW_BALANCE", "2026-02-01", "1", "1", "0", "0"],
                                         ["SAVINGS_UP", "2026-02-01", "1", "1", "1", "1"]]
    assert rows[0][header.index("delivery rate")] == "0.7500"

    as_json = await engagectl("reports", "metrics", "--dimension", "rule", "--period", "2026-01..2026-02",
                              "--value", "r1", "--json", token=admin)
    assert as_json.exit_code == 0, as_json.stderr
    [r1] = json.loads(as_json.stdout)
    assert (r1["value"], r1["generated"], r1["firings"], r1["conversion_rate"]) == ("r1", "2", "2", "0.5000")

    wrong = await engagectl("reports", "metrics", "--dimension", "planet", "--period", "2026-01", token=admin)
    assert wrong.exit_code == 2 and "--dimension" in wrong.stderr

    summary = await engagectl("reports", "goals-summary", "--period", "2026-01..2026-02", "--json", token=admin)
    assert summary.exit_code == 0, summary.stderr
    document = json.loads(summary.stdout)
    assert document["goals"] == "6"
    assert [(m["milestone"], m["reached"]) for m in document["milestones"]] == [
        ("percent:25", "2"), ("percent:50", "1"), ("percent:75", "1")]
    table = await engagectl("reports", "goals-summary", token=admin)
    assert table.exit_code == 0, table.stderr
    assert "goals (not archived): 6" in table.stdout and "100%\t1" in table.stdout


OUR_FAULTS = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED)


async def test_no_request_of_any_shape_is_answered_with_a_fault_of_ours(server, services, tenant):
    """tests/e2e/test_malformed_requests.py's check, for the two reporting RPCs built here."""
    await seed_metrics(services.database, tenant)
    rng = random.Random(22)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        for request_class, call in ((metrics_pb2.QueryMetricsRequest, admin.reporting.QueryMetrics),
                                    (pb.SummarizeGoalsRequest, admin.reporting.SummarizeGoals)):
            for _ in range(40):
                request = random_message(request_class, rng, STRINGS)
                try:
                    await call(request, timeout=20)
                except grpc.aio.AioRpcError as error:
                    assert error.code() not in OUR_FAULTS, (request, error.details())
