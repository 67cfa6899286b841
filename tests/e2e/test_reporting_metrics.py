"""QueryMetrics through gRPC, as the bank's reporting reads it: the seeded bank's figures (worked out by hand
in tests/integration/test_engagement_metrics_store.py) on the wire, pages that join up, bad requests,
nobody but the bank (or its systems) reading them, and no other bank's rows; and the channel
configurations' cost per message the metrics count."""

import json
import uuid

import grpc
import pytest

from engage.engagement.v1 import engagement_service_pb2 as engagement_pb2
from engage.reporting.v1 import metrics_pb2 as pb
from engage.type.v1 import date_pb2, money_pb2
from server.domain.auth import Role
from tests.support.builders import failure
from tests.support.metrics_seed import seed_metrics

JAN_FEB = date_pb2.DateRange(start_date=date_pb2.Date(year=2026, month=1, day=1),
                             end_date=date_pb2.Date(year=2026, month=2, day=28))


@pytest.fixture
async def admin(server, services, tenant):
    await seed_metrics(services.database, tenant)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as stubs:
        yield stubs.reporting


async def test_rows_carry_counts_rates_and_delivery_outcomes(admin):
    response = await admin.QueryMetrics(pb.QueryMetricsRequest(
        dimension=pb.METRIC_DIMENSION_INSIGHT, granularity=pb.GRANULARITY_MONTH, date_range=JAN_FEB))
    assert [(r.value, (r.period_start.year, r.period_start.month, r.period_start.day)) for r in response.rows] == [
        ("LOW_BALANCE", (2026, 1, 1)), ("LOW_BALANCE", (2026, 2, 1)), ("SAVINGS_UP", (2026, 2, 1))]
    january = response.rows[0]
    assert january.dimension == pb.METRIC_DIMENSION_INSIGHT
    assert (january.generated, january.delivered, january.viewed, january.clicked, january.dismissed,
            january.converted) == (4, 3, 2, 1, 1, 0)
    assert (january.delivery_rate, january.viewed_rate, january.click_through_rate, january.dismissal_rate,
            january.conversion_rate) == ("0.7500", "0.6667", "0.3333", "0.3333", "0.0000")
    assert [(o.state, o.reason, o.deliveries) for o in january.delivery_outcomes] == [
        ("DELIVERED", "", 1), ("FAILED", "INVALID_NUMBER", 1)]
    # d1, sent by email at 0.0010 EUR a message.
    assert [(m.units, m.nanos, m.currency_code) for m in january.cost] == [(0, 1_000_000, "EUR")]
    assert response.next_page_token == ""

    rules = await admin.QueryMetrics(pb.QueryMetricsRequest(dimension=pb.METRIC_DIMENSION_RULE, date_range=JAN_FEB,
                                                            values=["r1"]))
    [r1] = rules.rows
    assert (r1.value, r1.generated, r1.converted, r1.firings, r1.conversion_rate) == ("r1", 2, 1, 2, "0.5000")


async def test_empty_rates_where_nothing_was_delivered(admin):
    # cmp1's only delivery on 1 February was skipped: nothing delivered to rate views against.
    day = date_pb2.DateRange(start_date=date_pb2.Date(year=2026, month=2, day=1),
                             end_date=date_pb2.Date(year=2026, month=2, day=1))
    [row] = (await admin.QueryMetrics(pb.QueryMetricsRequest(dimension=pb.METRIC_DIMENSION_CAMPAIGN,
                                                             date_range=day))).rows
    assert (row.generated, row.delivered, row.delivery_rate, row.viewed_rate, row.conversion_rate) == (
        1, 0, "0.0000", "", "")


async def test_pages_join_up(admin):
    rows, token, pages = [], "", 0
    while True:
        response = await admin.QueryMetrics(pb.QueryMetricsRequest(
            dimension=pb.METRIC_DIMENSION_CHANNEL, granularity=pb.GRANULARITY_DAY, date_range=JAN_FEB, page_size=2,
            page_token=token))
        rows.extend((r.value, r.period_start.day, r.generated) for r in response.rows)
        pages += 1
        token = response.next_page_token
        if not token:
            break
    assert rows == [("EMAIL", 5, 1), ("EMAIL", 5, 1), ("PUSH", 15, 2), ("PUSH", 1, 1), ("SMS", 20, 1),
                    ("SMS", 2, 1)]
    assert pages == 3


async def test_bad_requests_are_refused_with_their_field(admin):
    async def refused(**fields):
        return await failure(admin.QueryMetrics(pb.QueryMetricsRequest(**fields)))

    invalid = grpc.StatusCode.INVALID_ARGUMENT
    assert await refused(date_range=JAN_FEB) == (invalid, "INVALID_ENUM", ["dimension"])
    assert await refused(dimension=pb.METRIC_DIMENSION_RULE) == (invalid, "METRICS_DATE_RANGE_INVALID", ["date_range"])
    backwards = date_pb2.DateRange(start_date=JAN_FEB.end_date, end_date=JAN_FEB.start_date)
    assert await refused(dimension=pb.METRIC_DIMENSION_RULE, date_range=backwards) == (
        invalid, "METRICS_DATE_RANGE_INVALID", ["date_range"])
    assert await refused(dimension=pb.METRIC_DIMENSION_RULE, date_range=JAN_FEB, granularity=99) == (
        invalid, "INVALID_ENUM", ["granularity"])
    assert await refused(dimension=pb.METRIC_DIMENSION_RULE, date_range=JAN_FEB, conversion_days=366) == (
        invalid, "METRICS_CONVERSION_DAYS_INVALID", ["conversion_days"])
    assert await refused(dimension=pb.METRIC_DIMENSION_RULE, date_range=JAN_FEB, page_token="bm9wZQ") == (
        invalid, "INVALID_PAGE_TOKEN", ["page_token"])


async def test_only_the_bank_reads_its_own_metrics(server, services, tenant, admin):
    request = pb.QueryMetricsRequest(dimension=pb.METRIC_DIMENSION_CHANNEL, date_range=JAN_FEB)
    async with server.stubs(server.token(tenant, Role.USER, "c1")) as customer:
        assert await failure(customer.reporting.QueryMetrics(request)) == (
            grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED", [])
    async with server.stubs(server.token(tenant, Role.SERVICE, "warehouse")) as warehouse:
        assert len((await warehouse.reporting.QueryMetrics(request)).rows) == 3
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with server.stubs(server.token(other, Role.BANK_ADMIN, "olga")) as stranger:
        assert list((await stranger.reporting.QueryMetrics(request)).rows) == []


async def test_a_channel_configuration_carries_its_cost_per_message(server, tenant, engagectl):
    admin_token = server.token(tenant, Role.BANK_ADMIN, "lisa")
    created = await engagectl("channels", "create", "--channel", "EMAIL", "--provider", "smtp",
                              "--setting", "host=127.0.0.1", "--setting", "port=2525", "--setting", "security=NONE",
                              "--setting", "from_address=alerts@bank.example", "--cost-per-message", "0.0015 eur",
                              "--json", token=admin_token)
    assert created.exit_code == 0, created.stderr
    name = json.loads(created.stdout)["name"]
    assert json.loads(created.stdout)["cost_per_message"] == {"amount": "0.0015", "currency_code": "EUR"}

    # Every engagectl view shows it, its fractions of a cent kept.
    listed = await engagectl("channels", "list", token=admin_token)
    assert listed.exit_code == 0, listed.stderr
    header, row = (line.split("\t") for line in listed.stdout.splitlines())
    assert dict(zip(header, row, strict=True))["cost/message"] == "0.0015 EUR"
    listed_json = await engagectl("--json", "channels", "list", token=admin_token)
    assert [c["cost_per_message"] for c in json.loads(listed_json.stdout)] == [
        {"amount": "0.0015", "currency_code": "EUR"}]
    shown = await engagectl("channels", "get", name, token=admin_token)
    assert "cost_per_message:\t0.0015 EUR" in shown.stdout.splitlines()
    shown_json = await engagectl("--json", "channels", "get", name, token=admin_token)
    assert json.loads(shown_json.stdout)["cost_per_message"] == {"amount": "0.0015", "currency_code": "EUR"}

    async with server.stubs(admin_token) as admin:
        config = await admin.engagement.GetChannelConfig(engagement_pb2.GetChannelConfigRequest(name=name))
        assert (config.cost_per_message.units, config.cost_per_message.nanos,
                config.cost_per_message.currency_code) == (0, 1_500_000, "EUR")

        def update(cost):
            request = engagement_pb2.UpdateChannelConfigRequest(channel_config=engagement_pb2.ChannelConfig(
                name=name, cost_per_message=cost))
            request.update_mask.paths.append("cost_per_message")
            return admin.engagement.UpdateChannelConfig(request)

        refused = grpc.StatusCode.INVALID_ARGUMENT, "CHANNEL_CONFIG_INVALID"
        assert (await failure(update(money_pb2.Money(units=-1, currency_code="EUR"))))[:2] == refused
        assert (await failure(update(money_pb2.Money(units=1, currency_code="euro"))))[:2] == refused
        assert (await failure(update(money_pb2.Money(nanos=1, currency_code="EUR"))))[:2] == refused
        cleared = await update(None)
        assert not cleared.HasField("cost_per_message")
    listed = await engagectl("channels", "list", token=admin_token)
    header, row = (line.split("\t") for line in listed.stdout.splitlines())
    assert dict(zip(header, row, strict=True))["cost/message"] == ""
