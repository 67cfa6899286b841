"""A small bank's feed items, deliveries, firings, banners, persona members and holdings, written straight into
the store, for the metrics tests. The figures each dimension must show are worked out by hand in
tests/e2e/test_reporting_metrics.py and tests/integration/test_engagement_metrics_store.py.

Customers c1, c2, c3; personas young = {c1, c2} and rich = {c2}; everything in January and February 2026
(UTC) but f5, on 31 December 2025 at 23:00 UTC (1 January in Prague).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from server.store.db import Database
from server.store.engagement_models import ChannelConfigRow, DeliveryRow, InsightNotificationRow
from server.store.goals_models import GoalMilestoneRow, GoalRow
from server.store.models import FeedInteractionRow, FeedItemRow, HoldingRow
from server.store.personas_models import PersonaMemberRow
from server.store.triggers_models import BannerRow, TriggerFiringRow
from server.store.uow import UnitOfWork
from tests.support.goal_reports import seed_goal_reports


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _feed(item_id: str, insight: str, customer: str, created: str) -> FeedItemRow:
    return FeedItemRow(feed_item_id=item_id, customer_id=customer, insight_name=insight, period=item_id,
                       created_at=at(created), expires_at=at(created) + dt.timedelta(days=60), payload={})


def _interaction(item_id: str, interaction: str, when: str) -> FeedInteractionRow:
    return FeedInteractionRow(feed_item_id=item_id, interaction=interaction, subject="someone", created_at=at(when))


def _delivery(delivery_id: str, key: str, customer: str, channel: str, state: str, created: str, *,
              campaign: str = "", config: str = "", sent: bool = False, error: str = "", skip: str = "",
              event: str = "ev") -> DeliveryRow:
    return DeliveryRow(delivery_id=delivery_id, trigger_key=key, event_id=event, campaign_id=campaign,
                       customer_id=customer, channel=channel, provider="p", config_id=config, address="a",
                       message_class="REGULAR", content={}, state=state, skip_reason=skip, attempts=1,
                       next_attempt_at=at(created), error_code=error, created_at=at(created), updated_at=at(created),
                       sent_at=at(created) + dt.timedelta(seconds=5) if sent else None)


def _firing(firing_id: str, rule: str, customer: str, fired: str) -> TriggerFiringRow:
    return TriggerFiringRow(firing_id=firing_id, rule_id=rule, version=1, customer_id=customer,
                            account_id=f"{customer}-chk", fired_at=at(fired), dedupe_key=firing_id, values={},
                            actions=[])


def _banner(banner_id: str, customer: str, created: str, *, rule: str | None = None, firing: str | None = None,
            suggestion: str | None = None, product: str | None = None, impressions: int = 0, clicks: int = 0,
            first_seen: str | None = None) -> BannerRow:
    return BannerRow(banner_id=banner_id, customer_id=customer, rule_id=rule, version=1 if rule else None,
                     firing_id=firing, suggestion_id=suggestion, title="t", body="b", cta_label="c",
                     cta_url="https://bank.example/x", product_id=product, created_at=at(created),
                     expires_at=at(created) + dt.timedelta(days=30), impressions=impressions, clicks=clicks,
                     first_seen_at=at(first_seen) if first_seen else None)


def _holding(holding_id: str, customer: str, product: str, start: dt.date | None) -> HoldingRow:
    return HoldingRow(holding_id=holding_id, kind="CARD", customer_id=customer, attributes={"product_id": product},
                      start_date=start, updated_at=at("2026-03-31T00:00:00"))


def _config(config_id: str, channel: str, cost: str | None) -> ChannelConfigRow:
    return ChannelConfigRow(config_id=config_id, display_name=config_id, channel=channel, provider="p", settings={},
                            sealed_secrets=b"", secret_keys=[], rate_limit_per_second=0,
                            created_at=at("2025-12-01T00:00:00"), updated_at=at("2025-12-01T00:00:00"), app_id="",
                            cost_per_message=Decimal(cost) if cost else None, cost_currency="EUR" if cost else None)


def rows() -> list[object]:
    return [
        # A message sent costs 0.0010 EUR by email, 0.0500 EUR by SMS; push has no cost configured.
        _config("cfg-email", "EMAIL", "0.0010"),
        _config("cfg-sms", "SMS", "0.0500"),
        _config("cfg-push", "PUSH", None),
        _feed("f1", "LOW_BALANCE", "c1", "2026-01-05T10:00:00"),
        _feed("f2", "LOW_BALANCE", "c2", "2026-01-20T10:00:00"),
        _feed("f3", "LOW_BALANCE", "c3", "2026-02-03T10:00:00"),
        _feed("f4", "SAVINGS_UP", "c1", "2026-02-10T10:00:00"),
        _feed("f5", "SAVINGS_UP", "c2", "2025-12-31T23:00:00"),
        _interaction("f1", "VIEWED", "2026-01-05T11:00:00"),
        _interaction("f1", "CLICKED", "2026-01-05T11:01:00"),
        _interaction("f1", "VIEWED", "2026-01-06T11:00:00"),  # seen twice: one view of one item
        _interaction("f2", "VIEWED", "2026-01-21T11:00:00"),
        _interaction("f2", "DISMISSED", "2026-01-21T11:01:00"),
        _interaction("f4", "CLICKED", "2026-03-02T11:00:00"),  # a click without a VIEWED: seen all the same
        InsightNotificationRow(notification_id="n1", insight_name="LOW_BALANCE", event_id="ev-low",
                               created_at=at("2025-12-01T00:00:00")),
        _delivery("d1", "insight:n1:f1", "c1", "EMAIL", "DELIVERED", "2026-01-05T10:01:00", config="cfg-email",
                  sent=True, event="ev-low"),
        _delivery("d2", "insight:n1:f2", "c2", "SMS", "FAILED", "2026-01-20T10:01:00", config="cfg-sms",
                  error="INVALID_NUMBER", event="ev-low"),
        _delivery("d3", "campaign:cmp1:c1", "c1", "PUSH", "DELIVERED", "2026-01-15T08:00:00", campaign="cmp1",
                  config="cfg-push", sent=True),
        _delivery("d4", "campaign:cmp1:c2", "c2", "PUSH", "SENT", "2026-01-15T08:00:00", campaign="cmp1",
                  config="cfg-push", sent=True),
        # 22:00 on 31 January in New York.
        _delivery("d5", "campaign:cmp1:c3", "c3", "PUSH", "SKIPPED", "2026-02-01T03:00:00", campaign="cmp1",
                  skip="OPTED_OUT"),
        _delivery("d6", "trigger:r1:fr1", "c1", "SMS", "DELIVERED", "2026-02-02T09:00:01", config="cfg-sms",
                  sent=True),
        _delivery("d7", "trigger:r1:fr2", "c2", "SMS", "HELD", "2026-02-02T09:00:01", config="cfg-sms"),
        _delivery("d8", "event:x:c3", "c3", "EMAIL", "DEAD_LETTER", "2026-02-05T12:00:00", config="cfg-email",
                  error="SMTP_550"),
        # A fallback chain's second step, not needed once the first was delivered: not a message at all.
        _delivery("d9", "trigger:r1:fr1", "c1", "EMAIL", "SKIPPED", "2026-02-02T09:00:01", config="cfg-email",
                  skip="FALLBACK_NOT_NEEDED"),
        _firing("fr1", "r1", "c1", "2026-02-02T09:00:00"),
        _firing("fr2", "r1", "c2", "2026-02-02T09:00:00"),
        _firing("fr3", "r2", "c3", "2026-01-10T09:00:00"),
        _banner("b1", "c1", "2026-02-02T09:00:00", rule="r1", firing="fr1", product="gold-card", impressions=3,
                clicks=1, first_seen="2026-02-03T08:00:00"),
        _banner("b2", "c3", "2026-01-10T09:00:00", rule="r2", firing="fr3"),
        _banner("b3", "c2", "2026-01-25T09:00:00", suggestion="s1", product="gold-card", impressions=1,
                first_seen="2026-01-26T12:00:00"),
        # c1 gains the gold card 17 days after first seeing b1; c2 63 days after b3.
        _holding("h1", "c1", "gold-card", dt.date(2026, 2, 20)),
        _holding("h2", "c2", "gold-card", dt.date(2026, 3, 30)),
        _holding("h3", "c3", "gold-card", None),
        PersonaMemberRow(persona_id="young", customer_id="c1"),
        PersonaMemberRow(persona_id="young", customer_id="c2"),
        PersonaMemberRow(persona_id="rich", customer_id="c2"),
    ]


async def seed_metrics(database: Database, tenant_id: str) -> None:
    async with UnitOfWork(database, tenant_id) as uow:
        for row in rows():
            row.tenant_id = tenant_id  # type: ignore[attr-defined]
            if isinstance(row, DeliveryRow):  # delivery ids are unique across tenants
                row.delivery_id = f"{tenant_id[:30]}-{row.delivery_id}"
            uow.session.add(row)
        await uow.commit()


def _milestone(goal_id: str, key: str, when: str) -> GoalMilestoneRow:
    return GoalMilestoneRow(goal_id=goal_id, milestone=key, reached_at=at(when))


async def seed_goals_summary(database: Database, tenant_id: str) -> None:
    """tests/support/goal_reports.py's goals (not archived: g-a 25.0%, g-b 100.0%, g-d 6.2%, g-e 99.9%),
    g-f at 9.96% (shown as 10.0%), g-g at 0, and when their milestones were reached."""
    await seed_goal_reports(database, tenant_id)
    async with UnitOfWork(database, tenant_id) as uow:
        for goal_id, saved in (("g-f", "99.60"), ("g-g", "0")):
            uow.session.add(GoalRow(tenant_id=tenant_id, goal_id=goal_id, customer_id="c3", account_id="c3-sav",
                                    name=goal_id, category="CUSTOM", target=Decimal(1000), saved=Decimal(saved),
                                    currency="EUR", priority=1, status="ACTIVE", milestones=[],
                                    created_at=at("2026-01-02T09:00:00"), updated_at=at("2026-01-02T09:00:00")))
        for row in (_milestone("g-c", "percent:25", "2025-12-31T10:00:00"),
                    _milestone("g-a", "percent:25", "2026-01-10T09:00:00"),
                    _milestone("g-b", "percent:25", "2026-01-12T09:00:00"),
                    # 08:30 on 1 February in Tokyo.
                    _milestone("g-b", "percent:50", "2026-01-31T23:30:00"),
                    _milestone("g-b", "percent:75", "2026-02-15T09:00:00"),
                    _milestone("g-b", "percent:100", "2026-03-01T10:00:00")):
            row.tenant_id = tenant_id
            uow.session.add(row)
        await uow.commit()
