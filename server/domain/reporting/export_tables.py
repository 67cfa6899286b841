"""Each view's export columns, in the order docs/exports.md and docs/reports.md give them: money split into
an amount and a `currency` column, enums by name."""

from __future__ import annotations

from server.domain.goals.reports import GoalReportLine, HistoryReportLine, TransferReportLine
from server.domain.reporting.export_columns import Column, ColumnKind, ExportTable

TEXT, TIMESTAMP, DATE = ColumnKind.TEXT, ColumnKind.TIMESTAMP, ColumnKind.DATE
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
