"""The insight and event history views' store queries and services on both databases: one stream in
(time, kind, id) order across the kinds, pages that join up in either direction, each filter, the
tenant's time zone, and nothing of another tenant. The rows: tests/support/history_seed.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio

from server.domain.auth import Caller, Role
from server.domain.engagement.audience import CampaignAudience
from server.domain.engagement.entities import Campaign, CampaignState
from server.domain.errors import InvalidArgument, PermissionDenied
from server.domain.insights.feed import FeedItem, Origin
from server.domain.reporting.event_history import EventHistoryFilter, EventKind
from server.domain.reporting.insight_history import InsightHistoryFilter
from server.domain.triggers.records import Banner
from server.services.reporting.event_history import EventHistoryService
from server.services.reporting.insight_history import InsightHistoryService
from server.services.tenants import TenantService
from server.store.db import Database, open_database
from server.store.uow import UnitOfWork
from tests.support.history_seed import EVENT_ORDER, INSIGHT_ORDER, T0, seed_history


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    opened = open_database(database_url)
    tenants = TenantService(opened)
    await tenants.create("bank", None, "UTC")
    await tenants.create("other", None, "UTC")
    await tenants.create("tokyo", None, "Asia/Tokyo")
    for tenant, prefix in (("bank", ""), ("other", "other-"), ("tokyo", "tokyo-")):
        await seed_history(opened, tenant, prefix)
    yield opened
    await opened.dispose()


ADMIN = Caller("bank", "lisa", Role.BANK_ADMIN)


async def every_event(view: EventHistoryService, wanted: EventHistoryFilter, size: int = 2,
                      caller: Caller = ADMIN) -> list[tuple[str, str]]:
    found: list[Any] = []
    token = ""
    for _ in range(50):
        page = await view.page(caller, wanted, view.page_request(wanted, size, token))
        found += page.items
        token = page.next_page_token
        if not token:
            return [(str(line.kind), line.event_id) for line in found]
    raise AssertionError("paging did not end")


async def every_insight(view: InsightHistoryService, wanted: InsightHistoryFilter, size: int = 2) -> list[Any]:
    found: list[Any] = []
    token = ""
    for _ in range(50):
        page = await view.page(ADMIN, wanted, view.page_request(wanted, size, token))
        found += page.items
        token = page.next_page_token
        if not token:
            return found
    raise AssertionError("paging did not end")


async def test_the_event_history_is_one_ordered_stream_whatever_the_page_size(database: Database) -> None:
    view = EventHistoryService(database)
    for size in (1, 2, 3, 100):
        assert await every_event(view, EventHistoryFilter(), size) == EVENT_ORDER
    assert await every_event(view, EventHistoryFilter(newest_first=True), 2) == EVENT_ORDER[::-1]
    assert await every_event(view, EventHistoryFilter(newest_first=True), 3) == EVENT_ORDER[::-1]


async def test_each_kind_has_its_columns(database: Database) -> None:
    view = EventHistoryService(database)
    page = await view.page(ADMIN, EventHistoryFilter(), view.page_request(EventHistoryFilter(), 100, ""))
    lines = {line.event_id: line for line in page.items}
    d1, d2, d3 = lines["d1"], lines["d2"], lines["d3"]
    assert (d1.customer_id, d1.channel, d1.provider, d1.delivery_state, d1.engagement_event_id, d1.attempts) == (
        "c1", "EMAIL", "smtp", "DELIVERED", "e1", 1)
    assert (d1.occurred_at, d1.sent_at, d1.delivered_at) == (
        T0, T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=2))
    assert (d2.campaign_id, d2.delivery_state, d2.error_code, d2.error_message) == (
        "k1", "FAILED", "21211", "invalid number")
    assert (d3.skip_reason, d3.fallback_step, d3.fallback_state, d3.sent_at) == ("NO_ADDRESS", 2, "SKIPPED", None)
    be1 = lines["be1"]
    assert (be1.kind, be1.banner_id, be1.rule_id, be1.rule_version, be1.firing_id, be1.customer_id) == (
        EventKind.BANNER_IMPRESSION, "b1", "r1", 3, "f1", "c1")
    f1, f2 = lines["f1"], lines["f2"]
    assert (f1.rule_id, f1.rule_version, f1.account_id, f1.transaction_id, f1.firing_id) == (
        "r1", 3, "c1-chk", "t1", "f1")
    assert f2.transaction_id == ""
    s1, s2 = lines["s1"], lines["s2"]
    assert (s1.campaign_id, s1.campaign_state, s1.previous_campaign_state, s1.actor, s1.customer_id) == (
        "k1", "SCHEDULED", "", "lisa", "")
    assert (s2.campaign_state, s2.previous_campaign_state) == ("COMPLETED", "SCHEDULED")
    first, second = lines["i1:1"], lines["i1:2"]
    assert (first.customer_id, first.journey_id, first.journey_version, first.journey_instance_id, first.from_step,
            first.to_step, first.handed_to_journey) == ("c2", "travel", 2, "i1", "ask", "check", "")
    assert (second.to_step, second.handed_to_journey) == ("", "loyalty")


EVENT_FILTERS = [
    (EventHistoryFilter(kinds=(EventKind.RULE_FIRING, EventKind.CAMPAIGN_STEP)), ["s1", "f1", "s2", "f2"]),
    (EventHistoryFilter(customer_id="c2"), ["d2", "i1:1", "i1:2", "f2"]),
    (EventHistoryFilter(delivery_states=("FAILED", "SKIPPED")), ["d3", "d2"]),
    (EventHistoryFilter(channels=("EMAIL",)), ["d1"]),
    (EventHistoryFilter(campaign_id="k1"), ["s1", "d2", "s2"]),
    (EventHistoryFilter(rule_id="r1"), ["be1", "f1", "be2"]),
    (EventHistoryFilter(rule_id="r1", kinds=(EventKind.DELIVERY,)), []),
    (EventHistoryFilter(engagement_event_id="e2"), ["d3"]),
    (EventHistoryFilter(journey_id="travel"), ["i1:1", "i1:2"]),
    (EventHistoryFilter(customer_id="c1", kinds=(EventKind.BANNER_CLICK,)), ["be2"]),
    (EventHistoryFilter(occur_dates=(dt.date(2026, 3, 2), None)), ["f2"]),
    (EventHistoryFilter(occur_dates=(None, dt.date(2026, 3, 1))), [e for _, e in EVENT_ORDER[:-1]]),
]


async def test_the_event_history_filters(database: Database) -> None:
    view = EventHistoryService(database)
    for wanted, expected in EVENT_FILTERS:
        assert [event_id for _, event_id in await every_event(view, wanted)] == expected, wanted


async def test_dates_are_days_in_the_tenants_time_zone(database: Database) -> None:
    # 2026-03-01 in Tokyo ends at 15:00 UTC: everything but f2 (10:00 UTC on the 2nd is 19:00 there).
    tokyo = Caller("tokyo", "kenji", Role.SERVICE)
    events = await every_event(EventHistoryService(database), EventHistoryFilter(
        occur_dates=(dt.date(2026, 3, 2), dt.date(2026, 3, 2))), caller=tokyo)
    assert events == [("RULE_FIRING", "f2")]
    # From the first day there is: in Tokyo it begins before 0001-01-01 in UTC, so the range has no start.
    since_ever = await every_event(EventHistoryService(database), EventHistoryFilter(
        occur_dates=(dt.date(1, 1, 1), dt.date(2026, 3, 1))), 100, caller=tokyo)
    assert since_ever == [(kind, f"tokyo-{event_id}" if kind == "DELIVERY" else event_id)
                          for kind, event_id in EVENT_ORDER[:-1]]
    view = InsightHistoryService(database)
    wanted = InsightHistoryFilter(create_dates=(dt.date(2026, 3, 1), dt.date(2026, 3, 1)))
    page = await view.page(tokyo, wanted, view.page_request(wanted, 10, ""))
    assert [line.feed_item_id for line in page.items] == ["fi1", "fi2", "fi3"]


async def test_another_tenants_rows_are_never_read(database: Database) -> None:
    # Every tenant holds the same ids: a row of another would show as a duplicate.
    assert await every_event(EventHistoryService(database), EventHistoryFilter(), 100) == EVENT_ORDER
    assert [line.feed_item_id for line in await every_insight(InsightHistoryService(database),
                                                              InsightHistoryFilter(), 100)] == INSIGHT_ORDER


async def test_a_token_belongs_to_its_view_and_order(database: Database) -> None:
    view = EventHistoryService(database)
    page = await view.page(ADMIN, EventHistoryFilter(), view.page_request(EventHistoryFilter(), 2, ""))
    with pytest.raises(InvalidArgument) as refused:
        view.page_request(EventHistoryFilter(newest_first=True), 2, page.next_page_token)
    assert refused.value.code == "INVALID_PAGE_TOKEN"
    with pytest.raises(InvalidArgument):
        InsightHistoryService.page_request(InsightHistoryFilter(), 2, page.next_page_token)


async def test_a_user_may_not_read_the_views(database: Database) -> None:
    user = Caller("bank", "c1", Role.USER)
    with pytest.raises(PermissionDenied):
        await EventHistoryService(database).page(user, EventHistoryFilter(customer_id="c1"),
                                                 EventHistoryService.page_request(EventHistoryFilter(), 2, ""))
    with pytest.raises(PermissionDenied):
        await InsightHistoryService(database).page(user, InsightHistoryFilter(customer_id="c1"),
                                                   InsightHistoryService.page_request(InsightHistoryFilter(), 2, ""))


async def test_the_insight_history_lists_items_with_their_interactions(database: Database) -> None:
    view = InsightHistoryService(database)
    lines = await every_insight(view, InsightHistoryFilter())
    assert [line.feed_item_id for line in lines] == INSIGHT_ORDER
    fi1, fi2, fi3, fi4 = lines
    assert (fi1.customer_id, fi1.insight_name, fi1.origin, fi1.period, fi1.created_at) == (
        "c1", "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE", "SCHEDULE", "2026-03-01", T0)
    assert [(i.kind, i.at) for i in fi1.interactions] == [
        ("VIEWED", T0 + dt.timedelta(minutes=1)), ("CLICKED", T0 + dt.timedelta(minutes=2))]
    assert (fi2.origin, [i.kind for i in fi2.interactions]) == ("EVENT", ["DISMISSED"])
    assert (fi3.origin, fi3.interactions, fi4.origin) == ("", (), "ON_DEMAND")
    newest = await every_insight(view, InsightHistoryFilter(newest_first=True), 3)
    assert [line.feed_item_id for line in newest] == INSIGHT_ORDER[::-1]


INSIGHT_FILTERS: list[tuple[dict[str, Any], list[str]]] = [
    ({"customer_id": "c1"}, ["fi1", "fi3", "fi4"]),
    ({"insight_name": "GOAL_TRACKER"}, ["fi3", "fi4"]),
    ({"origin": "EVENT"}, ["fi2"]),
    ({"interaction": "DISMISSED"}, ["fi2"]),
    ({"interaction": "VIEWED", "customer_id": "c2"}, []),
    ({"create_dates": (dt.date(2026, 3, 2), dt.date(2026, 3, 2))}, ["fi4"]),
]


async def test_the_insight_history_filters(database: Database) -> None:
    view = InsightHistoryService(database)
    for changes, expected in INSIGHT_FILTERS:
        lines = await every_insight(view, replace(InsightHistoryFilter(), **changes))
        assert [line.feed_item_id for line in lines] == expected, changes


async def test_the_writes_the_views_read(database: Database) -> None:
    """Where things happen, on each database: a feed item keeps its origin, a banner's impression and
    click are rows with its rule copied, a campaign's state change is a step."""
    now = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)
    async with UnitOfWork(database, "other") as uow:
        inserted = await uow.feed.insert_new([FeedItem("fi9", "c9", "LARGE_DEPOSIT", "t9", now,
                                                        now + dt.timedelta(days=30), {"a": 1})], Origin.EVENT)
        await uow.banners.add_banners([Banner("b9", "c9", "t", "b", "l", "https://bank.example", now,
                                              now + dt.timedelta(days=1), rule_id="r9", version=4, firing_id="f9")])
        assert await uow.banners.record_impression("c9", "b9", now)
        assert await uow.banners.record_click("c9", "b9", now + dt.timedelta(seconds=1))
        assert not await uow.banners.record_click("c1", "b9", now)  # not the customer's: nothing counted
        campaign = Campaign("k9", "Spring", "e1", CampaignAudience(customer_ids=("c9",)), None, True,
                            CampaignState.REJECTED, "lisa", "raj", "too generous", "", 0, 0, now, now)
        await uow.campaigns.save(campaign)
        await uow.campaigns.record_step(campaign, "PENDING_APPROVAL", "raj", now)
        await uow.commit()
    assert inserted == {"fi9"}
    other = Caller("other", "warehouse", Role.SERVICE)
    insights = InsightHistoryService(database)
    wanted = InsightHistoryFilter(origin="EVENT", customer_id="c9")
    [item] = (await insights.page(other, wanted, insights.page_request(wanted, 10, ""))).items
    assert (item.feed_item_id, item.origin) == ("fi9", "EVENT")
    events = EventHistoryService(database)
    wanted_events = EventHistoryFilter(occur_dates=(dt.date(2026, 4, 1), None))
    lines = (await events.page(other, wanted_events, events.page_request(wanted_events, 10, ""))).items
    assert [(line.kind, line.banner_id or line.campaign_id, line.rule_id, line.rule_version, line.firing_id,
             line.campaign_state, line.previous_campaign_state, line.actor, line.reason) for line in lines] == [
        (EventKind.BANNER_IMPRESSION, "b9", "r9", 4, "f9", "", "", "", ""),
        (EventKind.CAMPAIGN_STEP, "k9", "", 0, "", "REJECTED", "PENDING_APPROVAL", "raj", "too generous"),
        (EventKind.BANNER_CLICK, "b9", "r9", 4, "f9", "", "", "", "")]
