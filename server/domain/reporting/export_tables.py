"""Each view's export columns, in the order docs/exports.md and docs/reports.md give them: money split into
an amount and a `currency` column, enums by name."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from server.domain.goals.reports import GoalReportLine, HistoryReportLine, TransferReportLine
from server.domain.reporting.event_history import EventHistoryLine
from server.domain.reporting.export_columns import Column, ColumnKind, ExportTable, amount_text, timestamp_text
from server.domain.reporting.insight_history import InsightHistoryLine, InteractionLine
from server.domain.reporting.metrics import MetricsLine

TEXT, TIMESTAMP, DATE, INTEGER = ColumnKind.TEXT, ColumnKind.TIMESTAMP, ColumnKind.DATE, ColumnKind.INTEGER
AMOUNT, DECIMAL, LIST, MAP = ColumnKind.AMOUNT, ColumnKind.DECIMAL, ColumnKind.LIST, ColumnKind.MAP


def _texts(kind: ColumnKind, *names: str) -> list[Column]:
    """Columns named as the line's attributes."""
    return [Column(name, kind, name) for name in names]


GOALS: ExportTable[GoalReportLine] = ExportTable("goals", (
    *_texts(TEXT, "customer_id", "account_id", "goal_id"),
    Column("display_name", TEXT, "name"),
    Column("category", TEXT, "category"),
    Column("target", AMOUNT, "target"),
    Column("saved", AMOUNT, "saved"),
    Column("currency", TEXT, "currency"),
    Column("percent", DECIMAL, "percent"),
    Column("state", TEXT, "status"),
    Column("create_time", TIMESTAMP, "created_at"),
    Column("achieve_time", TIMESTAMP, "achieved_at"),
    Column("archive_time", TIMESTAMP, "archived_at"),
    Column("target_date", DATE, "target_date"),
    Column("milestones_reached", LIST, "milestones_reached"),
))

CUSTOMER_HISTORY: ExportTable[HistoryReportLine] = ExportTable("customer-history", (
    *_texts(TEXT, "customer_id", "entry_id", "kind", "actor", "actor_id"),
    Column("create_time", TIMESTAMP, "at"),
    *_texts(TEXT, "goal_id", "resource"),
    *_texts(MAP, "before", "after"),
))

TRANSFERS: ExportTable[TransferReportLine] = ExportTable("transfers", (
    *_texts(TEXT, "customer_id", "goal_id"),
    Column("funding_programme_id", TEXT, "programme_id"),
    *_texts(TEXT, "transfer_id", "kind", "actor"),
    Column("event_time", TIMESTAMP, "at"),
    Column("programme_state", TEXT, "programme_status"),
    Column("amount", AMOUNT, "amount"),
    *_texts(TEXT, "currency", "source_account_id", "target_account_id"),
    Column("transfer_state", TEXT, "transfer_status"),
    *_texts(TEXT, "period_key", "failure_reason", "transaction_id"),
))


def _interactions(found: Iterable[InteractionLine]) -> tuple[str, ...]:
    """Each interaction as `KIND TIME`, oldest first: `VIEWED 2026-01-05T09:00:00Z`."""
    return tuple(f"{interaction.kind} {timestamp_text(interaction.at)}" for interaction in found)


INSIGHT_HISTORY: ExportTable[InsightHistoryLine] = ExportTable("insight-history", (
    *_texts(TEXT, "customer_id", "feed_item_id"),
    Column("insight", TEXT, "insight_name"),
    *_texts(TEXT, "origin", "period"),
    Column("create_time", TIMESTAMP, "created_at"),
    Column("expire_time", TIMESTAMP, "expires_at"),
    Column("interactions", LIST, "interactions", _interactions),
))

EVENT_HISTORY: ExportTable[EventHistoryLine] = ExportTable("event-history", (
    *_texts(TEXT, "kind", "event_id"),
    Column("occur_time", TIMESTAMP, "occurred_at"),
    *_texts(TEXT, "customer_id", "channel", "provider", "delivery_state", "engagement_event_id", "campaign_id"),
    Column("attempts", INTEGER, "attempts"),
    Column("send_time", TIMESTAMP, "sent_at"),
    Column("deliver_time", TIMESTAMP, "delivered_at"),
    Column("update_time", TIMESTAMP, "updated_at"),
    *_texts(TEXT, "error_code", "error_message", "skip_reason"),
    Column("fallback_step", INTEGER, "fallback_step"),
    *_texts(TEXT, "fallback_state", "banner_id", "rule_id"),
    Column("rule_version", INTEGER, "rule_version"),
    *_texts(TEXT, "firing_id", "account_id", "transaction_id", "campaign_state", "previous_campaign_state", "actor",
            "reason", "journey_id"),
    Column("journey_version", INTEGER, "journey_version"),
    *_texts(TEXT, "journey_instance_id", "from_step", "to_step", "handed_to_journey"),
))


def _costs(cost: Iterable[tuple[Decimal, str]]) -> tuple[str, ...]:
    """Each currency's cost as `AMOUNT CURRENCY`: `12.50 EUR`."""
    return tuple(f"{amount_text(amount)} {currency}" for amount, currency in cost)


METRICS: ExportTable[MetricsLine] = ExportTable("metrics", (
    Column("value", TEXT, "value"),
    Column("period_start", DATE, "period_start"),
    *_texts(INTEGER, "generated", "delivered", "viewed", "clicked", "dismissed", "converted", "firings"),
    *_texts(TEXT, "delivery_rate", "viewed_rate", "click_through_rate", "dismissal_rate", "conversion_rate"),
    Column("cost", LIST, "cost", _costs),
))
