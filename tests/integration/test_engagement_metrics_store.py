"""The metrics query on each database (SQLite and PostgreSQL): every dimension's counts over the seeded bank
(tests/support/metrics_seed.py), worked out by hand below, periods in the tenant's zone, and pages."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from server.domain.auth import Caller, Role
from server.domain.pagination import PageRequest
from server.domain.reporting.metrics import DeliveryOutcome, Dimension, Granularity, MetricsQuery
from server.store.engagement_models import InsightNotificationRow
from server.store.uow import UnitOfWork
from tests.support.metrics_seed import _delivery, _interaction, at, seed_metrics

JAN_FEB = (dt.date(2026, 1, 1), dt.date(2026, 2, 28))


@pytest.fixture
async def bank(services):
    tenant = (await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}")).tenant_id
    await seed_metrics(services.database, tenant)
    return tenant


async def _lines(services, tenant, dimension, granularity=Granularity.TOTAL, dates=JAN_FEB, size=100, **fields):
    query = MetricsQuery(dimension, granularity, *dates, **fields)
    caller = Caller(tenant, "lisa", Role.BANK_ADMIN)
    page = await services.engagement_metrics.page(caller, query, PageRequest(size, None))
    return page.items


def _counts(line):
    return (line.value, line.period_start.isoformat(), line.generated, line.delivered, line.viewed, line.clicked,
            line.dismissed, line.converted, line.firings)


async def test_every_dimension_counts_its_units(services, bank):
    # LOW_BALANCE: f1 (viewed twice, clicked), f2 (viewed, dismissed), f3, and deliveries d1 (DELIVERED),
    # d2 (FAILED); SAVINGS_UP: f4 only (f5 is in December), clicked, so seen.
    insight = await _lines(services, bank, Dimension.INSIGHT)
    assert [_counts(line) for line in insight] == [
        ("LOW_BALANCE", "2026-01-01", 5, 4, 2, 1, 1, 0, 0), ("SAVINGS_UP", "2026-01-01", 1, 1, 1, 1, 0, 0, 0)]
    low = insight[0]
    assert (low.delivery_rate, low.viewed_rate, low.click_through_rate, low.dismissal_rate, low.conversion_rate) == (
        "0.8000", "0.5000", "0.2500", "0.2500", "0.0000")
    assert low.outcomes == (DeliveryOutcome("DELIVERED", "", 1), DeliveryOutcome("FAILED", "INVALID_NUMBER", 1))
    assert low.cost == ((Decimal("0.0010"), "EUR"),)  # d1 was sent; d2 failed before it was

    # cmp1: d3 DELIVERED, d4 SENT, d5 SKIPPED.
    [campaign] = await _lines(services, bank, Dimension.CAMPAIGN)
    assert _counts(campaign) == ("cmp1", "2026-01-01", 3, 1, 0, 0, 0, 0, 0)
    assert campaign.delivery_rate == "0.3333"
    assert campaign.outcomes == (DeliveryOutcome("DELIVERED", "", 1), DeliveryOutcome("SENT", "", 1),
                                 DeliveryOutcome("SKIPPED", "OPTED_OUT", 1))

    # r1: d6 (d7 is HELD) and banner b1 (seen, clicked, converted by h1 17 days later); fired twice.
    # r2: banner b2, never seen; fired once.
    rule = await _lines(services, bank, Dimension.RULE)
    assert [_counts(line) for line in rule] == [
        ("r1", "2026-01-01", 2, 2, 1, 1, 0, 1, 2), ("r2", "2026-01-01", 1, 1, 0, 0, 0, 0, 1)]
    assert (rule[0].conversion_rate, rule[1].viewed_rate) == ("0.5000", "0.0000")
    assert (rule[0].cost, rule[1].cost) == (((Decimal("0.0500"), "EUR"),), ())

    # rich = c2: f2, d2, d4, b3 (seen, not converted in 30 days); young adds c1: f1, f4, d1, d3, d6, b1.
    persona = await _lines(services, bank, Dimension.PERSONA)
    assert [_counts(line) for line in persona] == [
        ("rich", "2026-01-01", 4, 2, 2, 0, 1, 0, 0), ("young", "2026-01-01", 10, 8, 5, 3, 1, 1, 0)]
    assert (persona[1].delivery_rate, persona[1].viewed_rate, persona[1].click_through_rate) == (
        "0.8000", "0.6250", "0.3750")
    # young's sent messages: d1 by email, d3 and d4 by push (no cost), d6 by SMS.
    assert (persona[0].cost, persona[1].cost) == ((), ((Decimal("0.0510"), "EUR"),))

    channel = await _lines(services, bank, Dimension.CHANNEL)
    assert [_counts(line) for line in channel] == [
        ("EMAIL", "2026-01-01", 2, 1, 0, 0, 0, 0, 0), ("PUSH", "2026-01-01", 3, 1, 0, 0, 0, 0, 0),
        ("SMS", "2026-01-01", 2, 1, 0, 0, 0, 0, 0)]
    assert channel[0].outcomes == (DeliveryOutcome("DEAD_LETTER", "SMTP_550", 1), DeliveryOutcome("DELIVERED", "", 1))
    assert [line.cost for line in channel] == [((Decimal("0.0010"), "EUR"),), (), ((Decimal("0.0500"), "EUR"),)]


async def test_a_longer_conversion_window_and_a_filter_on_values(services, bank):
    # b3 was first seen on 26 January; c2's card starts on 30 March, 63 days later.
    [rich] = await _lines(services, bank, Dimension.PERSONA, values=("rich",), conversion_days=70)
    assert (rich.converted, rich.conversion_rate) == (1, "0.5000")
    assert await _lines(services, bank, Dimension.PERSONA, values=("nobody",)) == []


async def test_periods_by_month_day_and_week(services, bank):
    by_month = await _lines(services, bank, Dimension.INSIGHT, Granularity.MONTH)
    assert [_counts(line)[:5] for line in by_month] == [
        ("LOW_BALANCE", "2026-01-01", 4, 3, 2), ("LOW_BALANCE", "2026-02-01", 1, 1, 0),
        ("SAVINGS_UP", "2026-02-01", 1, 1, 1)]
    by_day = await _lines(services, bank, Dimension.CAMPAIGN, Granularity.DAY)
    assert [(line.period_start.isoformat(), line.generated) for line in by_day] == [
        ("2026-01-15", 2), ("2026-02-01", 1)]
    # ISO weeks: 15 January 2026 is a Thursday (week of Monday the 12th); 1 February a Sunday (the 26th).
    by_week = await _lines(services, bank, Dimension.CAMPAIGN, Granularity.WEEK)
    assert [(line.period_start.isoformat(), line.generated) for line in by_week] == [
        ("2026-01-12", 2), ("2026-01-26", 1)]
    # A range starting mid-week still names its first week by the Monday.
    cut = await _lines(services, bank, Dimension.CAMPAIGN, Granularity.WEEK, (dt.date(2026, 1, 14), JAN_FEB[1]))
    assert [(line.period_start.isoformat(), line.generated) for line in cut] == [("2026-01-12", 2), ("2026-01-26", 1)]


async def test_periods_are_the_tenants_days(services):
    new_york = (await services.tenants.create(f"ny-{uuid.uuid4().hex[:8]}", None, "America/New_York")).tenant_id
    await seed_metrics(services.database, new_york)
    # d5, at 03:00 UTC on 1 February, was sent on 31 January in New York.
    by_month = await _lines(services, new_york, Dimension.CAMPAIGN, Granularity.MONTH)
    assert [(line.period_start.isoformat(), line.generated) for line in by_month] == [("2026-01-01", 3)]
    prague = (await services.tenants.create(f"prague-{uuid.uuid4().hex[:8]}", None, "Europe/Prague")).tenant_id
    await seed_metrics(services.database, prague)
    # f5, at 23:00 UTC on 31 December, came on New Year's Day in Prague.
    [_, savings] = await _lines(services, prague, Dimension.INSIGHT)
    assert (savings.value, savings.generated) == ("SAVINGS_UP", 2)


async def test_pages_follow_value_then_period(services, bank):
    query = MetricsQuery(Dimension.INSIGHT, Granularity.MONTH, *JAN_FEB)
    caller = Caller(bank, "lisa", Role.SERVICE)
    first = await services.engagement_metrics.page(caller, query, PageRequest(2, None))
    assert [(line.value, line.period_start.isoformat()) for line in first.items] == [
        ("LOW_BALANCE", "2026-01-01"), ("LOW_BALANCE", "2026-02-01")]
    assert first.next_page_token
    second = await services.engagement_metrics.page(caller, query, PageRequest(2, ["LOW_BALANCE", "2026-02-01"]))
    assert [(line.value, line.period_start.isoformat()) for line in second.items] == [("SAVINGS_UP", "2026-02-01")]
    assert second.next_page_token == ""


async def test_an_insights_interactions_and_deliveries_fall_on_its_items_local_day(services):
    # f5 (SAVINGS_UP), at 23:00 UTC on 31 December, came on Thursday 1 January in Prague (week of Monday
    # 29 December): its click two days later, and the message its notification n2 sent a minute after it,
    # count on that day and in that week. A delivery whose key names n2 but that another event sent is not
    # n2's message.
    prague = (await services.tenants.create(f"prague-{uuid.uuid4().hex[:8]}", None, "Europe/Prague")).tenant_id
    await seed_metrics(services.database, prague)
    async with UnitOfWork(services.database, prague) as uow:
        for row in (
                InsightNotificationRow(notification_id="n2", insight_name="SAVINGS_UP", event_id="ev-save",
                                       created_at=at("2025-12-01T00:00:00")),
                _interaction("f5", "CLICKED", "2026-01-02T09:00:00"),
                _delivery(f"{prague[:30]}-d10", "insight:n2:f5", "c2", "PUSH", "DELIVERED", "2025-12-31T23:01:00",
                          config="cfg-push", sent=True, event="ev-save"),
                _delivery(f"{prague[:30]}-d11", "insight:n2:f5", "c2", "EMAIL", "DELIVERED",
                          "2025-12-31T23:01:00", config="cfg-email", sent=True, event="ev-other")):
            row.tenant_id = prague  # type: ignore[attr-defined]
            uow.session.add(row)
        await uow.commit()
    first_days = (dt.date(2026, 1, 1), dt.date(2026, 1, 4))
    by_day = await _lines(services, prague, Dimension.INSIGHT, Granularity.DAY, first_days, values=("SAVINGS_UP",))
    assert [_counts(line) for line in by_day] == [("SAVINGS_UP", "2026-01-01", 2, 2, 1, 1, 0, 0, 0)]
    assert by_day[0].outcomes == (DeliveryOutcome("DELIVERED", "", 1),)
    by_week = await _lines(services, prague, Dimension.INSIGHT, Granularity.WEEK, first_days)
    assert [_counts(line) for line in by_week] == [("SAVINGS_UP", "2025-12-29", 2, 2, 1, 1, 0, 0, 0)]
    # c2 is young and rich: the same units, by persona.
    by_persona = await _lines(services, prague, Dimension.PERSONA, Granularity.DAY, first_days)
    assert [_counts(line) for line in by_persona] == [
        ("rich", "2026-01-01", 3, 3, 1, 1, 0, 0, 0), ("young", "2026-01-01", 3, 3, 1, 1, 0, 0, 0)]
