"""The insight and event history views through gRPC (ReportingService): typed columns, filters, orders,
bad input, who may read them; and the rows they read being written where things happen: each feed
item's origin, each banner impression and click, each campaign step. The seeded rows:
tests/support/history_seed.py."""

import datetime as dt

import grpc
import pytest

from engage.engagement.v1 import engagement_service_pb2 as engagement
from engage.insights.v1 import insights_service_pb2 as insights
from engage.reporting.v1 import event_history_pb2 as events
from engage.reporting.v1 import insight_history_pb2 as pb
from engage.triggers.v1 import banners_service_pb2 as banners
from engage.type.v1 import date_pb2
from server.domain.auth import Role
from server.domain.triggers.records import Banner
from server.store.uow import UnitOfWork
from tests.e2e.test_insights_savings import day, seed_reference_customer
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import failure, seed_accounts, stream, transaction
from tests.support.history_seed import EVENT_ORDER, T0, seed_history
from tests.support.yes_bank import published_app


async def every_row(call, request, size: int = 3) -> list:
    rows, token = [], ""
    for _ in range(50):
        request.page_size, request.page_token = size, token
        response = await call(request)
        rows.extend(response.rows)
        token = response.next_page_token
        if not token:
            return rows
    raise AssertionError("paging did not end")


@pytest.fixture
async def admin(server, services, tenant):
    await seed_history(services.database, tenant)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as stubs:
        yield stubs.reporting


async def test_the_event_history_through_grpc(admin):
    rows = await every_row(admin.ListEventHistory, events.ListEventHistoryRequest())
    assert [(events.EventKind.Name(r.kind).removeprefix("EVENT_KIND_"), r.event_id) for r in rows] == EVENT_ORDER
    by_id = {r.event_id: r for r in rows}
    d1, d2, d3 = by_id["d1"], by_id["d2"], by_id["d3"]
    assert (d1.channel, d1.provider, d1.delivery_state, d1.engagement_event_id, d1.attempts) == (
        engagement.CHANNEL_EMAIL, "smtp", engagement.DELIVERED, "e1", 1)
    assert (d1.occur_time.ToDatetime(dt.UTC), d1.deliver_time.ToJsonString()) == (T0, "2026-03-01T09:02:00Z")
    assert (d2.delivery_state, d2.campaign_id, d2.error_code, d2.error_message) == (
        engagement.FAILED, "k1", "21211", "invalid number")
    assert (d3.skip_reason, d3.fallback_step, d3.fallback_state, d3.HasField("send_time")) == (
        "NO_ADDRESS", 2, engagement.FALLBACK_STEP_SKIPPED, False)
    assert (by_id["be1"].banner_id, by_id["be1"].rule_id, by_id["be1"].rule_version) == ("b1", "r1", 3)
    assert (by_id["f1"].account_id, by_id["f1"].transaction_id) == ("c1-chk", "t1")
    s2 = by_id["s2"]
    assert (s2.campaign_state, s2.previous_campaign_state, s2.customer_id) == (
        engagement.Campaign.COMPLETED, engagement.Campaign.SCHEDULED, "")
    assert (by_id["i1:2"].journey_id, by_id["i1:2"].from_step, by_id["i1:2"].handed_to_journey) == (
        "travel", "check", "loyalty")

    newest = await every_row(admin.ListEventHistory, events.ListEventHistoryRequest(order_by="occur_time desc"))
    assert [r.event_id for r in newest] == [event_id for _, event_id in EVENT_ORDER[::-1]]
    what_went_wrong = await every_row(admin.ListEventHistory, events.ListEventHistoryRequest(
        delivery_states=[engagement.FAILED, engagement.DEAD_LETTER, engagement.SKIPPED]))
    assert [r.event_id for r in what_went_wrong] == ["d3", "d2"]
    rule = await every_row(admin.ListEventHistory, events.ListEventHistoryRequest(
        rule_id="r1", kinds=[events.EVENT_KIND_BANNER_CLICK, events.EVENT_KIND_RULE_FIRING]))
    assert [r.event_id for r in rule] == ["f1", "be2"]
    second_day = await every_row(admin.ListEventHistory, events.ListEventHistoryRequest(
        customer_id="c2", channels=[engagement.CHANNEL_SMS],
        occur_date_range=date_pb2.DateRange(start_date=day(dt.date(2026, 3, 1)), end_date=day(dt.date(2026, 3, 1)))))
    assert [r.event_id for r in second_day] == ["d2"]


async def test_the_insight_history_through_grpc(admin):
    rows = await every_row(admin.ListInsightHistory, pb.ListInsightHistoryRequest(), size=2)
    assert [r.feed_item_id for r in rows] == ["fi1", "fi2", "fi3", "fi4"]
    assert [r.origin for r in rows] == [pb.INSIGHT_ORIGIN_SCHEDULE, pb.INSIGHT_ORIGIN_EVENT,
                                        pb.INSIGHT_ORIGIN_UNSPECIFIED, pb.INSIGHT_ORIGIN_ON_DEMAND]
    fi1 = rows[0]
    assert (fi1.customer_id, fi1.insight, fi1.period, fi1.create_time.ToJsonString(),
            fi1.expire_time.ToJsonString()) == ("c1", "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE", "2026-03-01",
                                               "2026-03-01T09:00:00Z", "2026-04-05T09:00:00Z")
    assert [(i.kind, i.create_time.ToJsonString()) for i in fi1.interactions] == [
        (pb.INTERACTION_KIND_VIEWED, "2026-03-01T09:01:00Z"), (pb.INTERACTION_KIND_CLICKED, "2026-03-01T09:02:00Z")]
    dismissed = await every_row(admin.ListInsightHistory, pb.ListInsightHistoryRequest(
        interaction=pb.INTERACTION_KIND_DISMISSED, order_by="create_time desc"))
    assert [r.feed_item_id for r in dismissed] == ["fi2"]
    newest = await every_row(admin.ListInsightHistory, pb.ListInsightHistoryRequest(
        customer_id="c1", insight="GOAL_TRACKER", order_by="create_time desc"), size=1)
    assert [r.feed_item_id for r in newest] == ["fi4", "fi3"]


BAD_EVENT_REQUESTS = [
    (events.ListEventHistoryRequest(order_by="occur_time sideways"), "INVALID_ORDER_BY", ["order_by"]),
    (events.ListEventHistoryRequest(order_by="create_time"), "INVALID_ORDER_BY", ["order_by"]),
    (events.ListEventHistoryRequest(kinds=[events.EVENT_KIND_DELIVERY, 42]), "INVALID_ENUM", ["kinds[1]"]),
    (events.ListEventHistoryRequest(kinds=[events.EVENT_KIND_UNSPECIFIED]), "INVALID_ENUM", ["kinds[0]"]),
    (events.ListEventHistoryRequest(delivery_states=[engagement.DELIVERY_STATE_UNSPECIFIED]), "INVALID_ENUM",
     ["delivery_states[0]"]),
    (events.ListEventHistoryRequest(channels=[9]), "INVALID_ENUM", ["channels[0]"]),
    (events.ListEventHistoryRequest(occur_date_range=date_pb2.DateRange(
        start_date=day(dt.date(2026, 3, 2)), end_date=day(dt.date(2026, 3, 1)))), "INVALID_DATE_RANGE",
     ["occur_date_range.start_date"]),
    (events.ListEventHistoryRequest(occur_date_range=date_pb2.DateRange(
        start_date=date_pb2.Date(year=2026, month=2, day=30))), "INVALID_DATE", ["occur_date_range.start_date"]),
    (events.ListEventHistoryRequest(page_size=-1), "INVALID_PAGE_SIZE", ["page_size"]),
    (events.ListEventHistoryRequest(page_token="bm90IGEgdG9rZW4"), "INVALID_PAGE_TOKEN", ["page_token"]),
]
BAD_INSIGHT_REQUESTS = [
    (pb.ListInsightHistoryRequest(order_by="occur_time"), "INVALID_ORDER_BY", ["order_by"]),
    (pb.ListInsightHistoryRequest(origin=7), "INVALID_ENUM", ["origin"]),
    (pb.ListInsightHistoryRequest(interaction=9), "INVALID_ENUM", ["interaction"]),
    (pb.ListInsightHistoryRequest(create_date_range=date_pb2.DateRange(
        start_date=day(dt.date(2026, 3, 2)), end_date=day(dt.date(2026, 3, 1)))), "INVALID_DATE_RANGE",
     ["create_date_range.start_date"]),
]


async def test_bad_requests_are_invalid_arguments_with_their_codes(admin):
    for request, code, fields in BAD_EVENT_REQUESTS:
        assert await failure(admin.ListEventHistory(request)) == (grpc.StatusCode.INVALID_ARGUMENT, code, fields)
    for request, code, fields in BAD_INSIGHT_REQUESTS:
        assert await failure(admin.ListInsightHistory(request)) == (grpc.StatusCode.INVALID_ARGUMENT, code, fields)
    # A token belongs to its view and its order.
    first = await admin.ListEventHistory(events.ListEventHistoryRequest(page_size=1))
    for other in (events.ListEventHistoryRequest(order_by="occur_time desc", page_token=first.next_page_token),):
        assert (await failure(admin.ListEventHistory(other)))[1] == "INVALID_PAGE_TOKEN"
    assert (await failure(admin.ListInsightHistory(pb.ListInsightHistoryRequest(
        page_token=first.next_page_token))))[1] == "INVALID_PAGE_TOKEN"
    insight_first = await admin.ListInsightHistory(pb.ListInsightHistoryRequest(page_size=1))
    assert (await failure(admin.ListInsightHistory(pb.ListInsightHistoryRequest(
        order_by="create_time desc", page_token=insight_first.next_page_token))))[1] == "INVALID_PAGE_TOKEN"


async def test_only_the_bank_reads_its_own_history(server, services, tenant, admin):
    async with server.stubs(server.token(tenant, Role.USER, "c1")) as user:
        for call in (user.reporting.ListEventHistory(events.ListEventHistoryRequest(customer_id="c1")),
                     user.reporting.ListInsightHistory(pb.ListInsightHistoryRequest(customer_id="c1"))):
            assert (await failure(call))[:2] == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    other = (await services.tenants.create("other-bank-history")).tenant_id
    async with server.stubs(server.token(other, Role.SERVICE, "warehouse")) as warehouse:
        assert not (await warehouse.reporting.ListEventHistory(events.ListEventHistoryRequest())).rows
        assert not (await warehouse.reporting.ListInsightHistory(pb.ListInsightHistoryRequest())).rows
    await seed_history(services.database, other, delivery_prefix="other-")
    assert [r.event_id for r in await every_row(admin.ListEventHistory, events.ListEventHistoryRequest(), 100)] == [
        event_id for _, event_id in EVENT_ORDER]


async def test_what_happens_is_recorded_for_the_history(server, services, settings, tenant, service_stubs):
    """Origins of feed items, banner impressions and clicks, and campaign steps are written where they
    happen, and the views show them."""
    lisa = server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa"))
    raj = server.stubs(server.token(tenant, Role.BANK_ADMIN, "raj"))
    # Insights: on demand, by a batch, on a posting.
    await seed_reference_customer(service_stubs, "u1")
    await seed_reference_customer(service_stubs, "u2")
    await service_stubs.insights.TriggerInsights(insights.TriggerInsightsRequest(
        customer_id="u1", as_of=day(dt.date(2021, 7, 1))))
    await lisa.insights.RunInsightBatch(insights.RunInsightBatchRequest(as_of=day(dt.date(2021, 7, 1))))
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("dep", "a1", "5000.00", "CREDIT",
                                                                      dt.date(2024, 5, 2))]))
    await run_worker(settings)
    history = await every_row(lisa.reporting.ListInsightHistory, pb.ListInsightHistoryRequest(), 10)
    assert sorted((r.customer_id, r.insight, pb.InsightOrigin.Name(r.origin)) for r in history) == [
        ("c1", "LARGE_DEPOSIT", "INSIGHT_ORIGIN_EVENT"),
        ("u1", "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE", "INSIGHT_ORIGIN_ON_DEMAND"),
        ("u2", "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE", "INSIGHT_ORIGIN_SCHEDULE")]

    # Banners: each impression and click is a row.
    now = dt.datetime.now(dt.UTC)
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.banners.add_banners([Banner("b1", "c1", "t", "b", "l", "https://bank.example", now,
                                              now + dt.timedelta(days=1), rule_id="r9", version=2, firing_id="f9")])
        await uow.commit()
    async with server.stubs(server.token(tenant, Role.USER, "c1")) as app:
        banner = "customers/c1/banners/b1"
        await app.banners.RecordBannerImpression(banners.RecordBannerImpressionRequest(name=banner))
        await app.banners.RecordBannerImpression(banners.RecordBannerImpressionRequest(name=banner))
        await app.banners.RecordBannerClick(banners.RecordBannerClickRequest(name=banner))
    shown = await every_row(lisa.reporting.ListEventHistory, events.ListEventHistoryRequest(rule_id="r9"))
    assert [(events.EventKind.Name(r.kind), r.banner_id, r.customer_id, r.rule_version, r.firing_id)
            for r in shown] == [("EVENT_KIND_BANNER_IMPRESSION", "b1", "c1", 2, "f9"),
                                ("EVENT_KIND_BANNER_IMPRESSION", "b1", "c1", 2, "f9"),
                                ("EVENT_KIND_BANNER_CLICK", "b1", "c1", 2, "f9")]

    # Campaigns: created, rejected; created, run to its end.
    app_resource, event_type = await published_app(lisa.engagement, "Bank", [engagement.PLATFORM_WEB], "Notices")
    event = await lisa.engagement.CreateEvent(engagement.CreateEventRequest(event=engagement.Event(
        display_name="Offer", description="An offer", event_type=event_type.name, app=app_resource.name,
        messages=[engagement.EventMessage(channel=engagement.CHANNEL_EMAIL, content=engagement.MessageContent(
            email=engagement.EmailContent(subject="Offer", text="Save.")))])))
    offer = await lisa.engagement.CreateCampaign(engagement.CreateCampaignRequest(campaign=engagement.Campaign(
        display_name="Offer", event=event.name, is_offer=True,
        audience=engagement.Audience(customer_list=engagement.CustomerList(customer_ids=["c1"])))))
    await raj.engagement.RejectCampaign(engagement.RejectCampaignRequest(name=offer.name, reason="too generous"))
    notice = await lisa.engagement.CreateCampaign(engagement.CreateCampaignRequest(campaign=engagement.Campaign(
        display_name="Notice", event=event.name,
        audience=engagement.Audience(customer_list=engagement.CustomerList(customer_ids=["c1"])))))
    await services.campaigns.run(tenant, notice.name.rpartition("/")[2])
    steps = await every_row(lisa.reporting.ListEventHistory, events.ListEventHistoryRequest(
        kinds=[events.EVENT_KIND_CAMPAIGN_STEP]))
    names = {offer.name.rpartition("/")[2]: "offer", notice.name.rpartition("/")[2]: "notice"}
    assert [(names[r.campaign_id], engagement.Campaign.State.Name(r.previous_campaign_state),
             engagement.Campaign.State.Name(r.campaign_state), r.actor, r.reason) for r in steps] == [
        ("offer", "STATE_UNSPECIFIED", "PENDING_APPROVAL", "lisa", ""),
        ("offer", "PENDING_APPROVAL", "REJECTED", "raj", "too generous"),
        ("notice", "STATE_UNSPECIFIED", "SCHEDULED", "lisa", ""),
        ("notice", "SCHEDULED", "COMPLETED", "", "")]
    sent = await every_row(lisa.reporting.ListEventHistory, events.ListEventHistoryRequest(
        campaign_id=notice.name.rpartition("/")[2], kinds=[events.EVENT_KIND_DELIVERY]))
    assert [(r.customer_id, r.channel) for r in sent] == [("c1", engagement.CHANNEL_EMAIL)]
    await lisa.close()
    await raj.close()
