"""A small, known history of every kind for the insight and event history views' tests: rows written
straight into the tables (as the services would have), with instants that tie across kinds."""

from __future__ import annotations

import datetime as dt

from server.store.db import Database
from server.store.engagement_models import CampaignStepRow, DeliveryRow
from server.store.journeys_models import JourneyInstanceRow, JourneyRouteRow
from server.store.models import FeedInteractionRow, FeedItemRow
from server.store.triggers_models import BannerEventRow, TriggerFiringRow

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
MINUTE, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)
DAY_2 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)

# The event history in its order: (kind, event id).
EVENT_ORDER = [("CAMPAIGN_STEP", "s1"), ("DELIVERY", "d1"), ("DELIVERY", "d3"), ("BANNER_IMPRESSION", "be1"),
               ("RULE_FIRING", "f1"), ("DELIVERY", "d2"), ("CAMPAIGN_STEP", "s2"), ("BANNER_CLICK", "be2"),
               ("JOURNEY_STEP", "i1:1"), ("JOURNEY_STEP", "i1:2"), ("RULE_FIRING", "f2")]
INSIGHT_ORDER = ["fi1", "fi2", "fi3", "fi4"]


def _delivery(prefix: str, tenant: str, delivery_id: str, customer_id: str, channel: str, provider: str,
              state: str, at: dt.datetime, **fields: object) -> DeliveryRow:
    return DeliveryRow(delivery_id=prefix + delivery_id, tenant_id=tenant, trigger_key=f"k-{delivery_id}",
                       event_id=fields.pop("event_id", "e1"), customer_id=customer_id, channel=channel,
                       provider=provider, address="someone@example.com", message_class="INFO", content={},
                       state=state, next_attempt_at=at, created_at=at, updated_at=fields.pop("updated_at", at),
                       **fields)


async def seed_history(database: Database, tenant: str, delivery_prefix: str = "") -> None:
    """`delivery_prefix` for a second tenant's copy: delivery ids are unique across tenants."""
    async with database.sessions() as session:
        session.add_all([
            _delivery(delivery_prefix, tenant, "d1", "c1", "EMAIL", "smtp", "DELIVERED", T0, attempts=1,
                      sent_at=T0 + MINUTE, delivered_at=T0 + 2 * MINUTE, updated_at=T0 + 2 * MINUTE),
            _delivery(delivery_prefix, tenant, "d2", "c2", "SMS", "twilio", "FAILED", T0 + HOUR, campaign_id="k1",
                      attempts=1, error_code="21211", error_message="invalid number"),
            _delivery(delivery_prefix, tenant, "d3", "c1", "PUSH", "", "SKIPPED", T0, skip_reason="NO_ADDRESS",
                      fallback_step=2, fallback_state="SKIPPED", event_id="e2"),
            BannerEventRow(tenant_id=tenant, event_id="be1", kind="IMPRESSION", banner_id="b1", customer_id="c1",
                           rule_id="r1", version=3, firing_id="f1", occurred_at=T0),
            BannerEventRow(tenant_id=tenant, event_id="be2", kind="CLICK", banner_id="b1", customer_id="c1",
                           rule_id="r1", version=3, firing_id="f1", occurred_at=T0 + 2 * HOUR),
            TriggerFiringRow(tenant_id=tenant, firing_id="f1", rule_id="r1", version=3, customer_id="c1",
                             account_id="c1-chk", fired_at=T0 + 30 * MINUTE, transaction_id="t1", dedupe_key="t1",
                             values={}, actions=[]),
            TriggerFiringRow(tenant_id=tenant, firing_id="f2", rule_id="r2", version=1, customer_id="c2",
                             account_id="c2-chk", fired_at=DAY_2, transaction_id=None, dedupe_key="day:2026-03-02",
                             values={}, actions=[]),
            CampaignStepRow(tenant_id=tenant, step_id="s1", campaign_id="k1", state="SCHEDULED", previous_state="",
                            actor="lisa", reason="", occurred_at=T0 - HOUR),
            CampaignStepRow(tenant_id=tenant, step_id="s2", campaign_id="k1", state="COMPLETED",
                            previous_state="SCHEDULED", actor="", reason="", occurred_at=T0 + HOUR),
            JourneyInstanceRow(tenant_id=tenant, instance_id="i1", customer_id="c2", journey_id="travel", version=2,
                               current_step="done", state="ENDED", captured={}, handed_to=None, route_count=2,
                               started_at=T0, updated_at=T0 + 3 * HOUR),
            JourneyRouteRow(tenant_id=tenant, instance_id="i1", sequence=1, from_step="ask", rule_index=0,
                            rule_expression="x", to_step="check", to_journey=None, handed_to=None,
                            taken_at=T0 + 3 * HOUR),
            JourneyRouteRow(tenant_id=tenant, instance_id="i1", sequence=2, from_step="check", rule_index=None,
                            rule_expression="", to_step=None, to_journey="loyalty", handed_to="i2",
                            taken_at=T0 + 3 * HOUR),
            _feed_item(tenant, "fi1", "c1", "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE", "SCHEDULE", T0),
            _feed_item(tenant, "fi2", "c2", "LOW_BALANCE_WARNING", "EVENT", T0 + HOUR),
            _feed_item(tenant, "fi3", "c1", "GOAL_TRACKER", None, T0 + HOUR),
            _feed_item(tenant, "fi4", "c1", "GOAL_TRACKER", "ON_DEMAND", DAY_2),
            FeedInteractionRow(tenant_id=tenant, feed_item_id="fi1", interaction="CLICKED", subject="c1",
                               created_at=T0 + 2 * MINUTE),
            FeedInteractionRow(tenant_id=tenant, feed_item_id="fi1", interaction="VIEWED", subject="c1",
                               created_at=T0 + MINUTE),
            FeedInteractionRow(tenant_id=tenant, feed_item_id="fi2", interaction="DISMISSED", subject="c2",
                               created_at=T0 + 2 * HOUR),
        ])
        await session.commit()


def _feed_item(tenant: str, feed_item_id: str, customer_id: str, insight: str, origin: str | None,
               at: dt.datetime) -> FeedItemRow:
    return FeedItemRow(tenant_id=tenant, feed_item_id=feed_item_id, customer_id=customer_id, insight_name=insight,
                       period=at.strftime("%Y-%m-%d"), created_at=at, expires_at=at + dt.timedelta(days=35), payload={},
                       origin=origin)
