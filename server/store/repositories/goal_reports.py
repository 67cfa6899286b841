"""Read-side queries of the goals reporting views (server.domain.goals.reports): tenant-wide, filtered,
one keyset page at a time. They read the goals tables and write nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, String, literal, null, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from server.domain.goals.reports import (
    PROGRAMME_KINDS,
    TRANSFER_ACTOR,
    GoalReportFilter,
    GoalReportLine,
    HistoryReportFilter,
    HistoryReportLine,
    Period,
    ProgrammeEvent,
    TransferReportFilter,
    TransferReportLine,
    programme_id_of,
    with_programme_status,
)
from server.store.goals_models import FundingProgrammeRow, GoalHistoryRow, GoalRow, GoalTransferRow
from server.store.keyset import keyset_page
from server.store.repositories.base import TenantRepository
from server.store.types import ScaledAmount


def _within(column: Any, period: Period) -> list[ColumnElement[bool]]:
    conditions = []
    if period.start is not None:
        conditions.append(column >= period.start)
    if period.end is not None:
        conditions.append(column < period.end)
    return conditions


class GoalReportsRepository(TenantRepository):
    async def goals(self, wanted: GoalReportFilter, after: tuple[str, dt.datetime, str] | None,
                    limit: int) -> list[GoalReportLine]:
        """By customer, then oldest goal first (the goal id breaks a tie)."""
        query = select(GoalRow).where(GoalRow.tenant_id == self.tenant_id, *_within(GoalRow.created_at, wanted.created))
        if wanted.customer_id:
            query = query.where(GoalRow.customer_id == wanted.customer_id)
        if wanted.status:
            query = query.where(GoalRow.status == wanted.status)
        if wanted.category:
            query = query.where(GoalRow.category == wanted.category)
        rows = await self.session.scalars(keyset_page(
            query, [GoalRow.customer_id, GoalRow.created_at, GoalRow.goal_id], after, limit))
        return [GoalReportLine(
            customer_id=r.customer_id, account_id=r.account_id, goal_id=r.goal_id, name=r.name, category=r.category,
            target=r.target, saved=r.saved, currency=r.currency, status=r.status, created_at=r.created_at,
            achieved_at=r.achieved_at, archived_at=r.archived_at, target_date=r.target_date,
            milestones_reached=tuple(r.milestones or ())) for r in rows]

    async def history(self, wanted: HistoryReportFilter, after: tuple[dt.datetime, str] | None,
                      limit: int) -> list[HistoryReportLine]:
        """Oldest first (the entry id breaks a tie)."""
        query = select(GoalHistoryRow).where(GoalHistoryRow.tenant_id == self.tenant_id,
                                             *_within(GoalHistoryRow.at, wanted.created))
        if wanted.customer_id:
            query = query.where(GoalHistoryRow.customer_id == wanted.customer_id)
        if wanted.kinds:
            query = query.where(self.one_of(GoalHistoryRow.kind, wanted.kinds))
        rows = await self.session.scalars(keyset_page(query, [GoalHistoryRow.at, GoalHistoryRow.entry_id], after,
                                                      limit))
        return [HistoryReportLine(
            customer_id=r.customer_id, entry_id=r.entry_id, kind=r.kind, actor=r.actor, actor_id=r.actor_id, at=r.at,
            goal_id=r.goal_id or "", resource=r.resource, before=dict(r.before or {}), after=dict(r.after or {}))
            for r in rows]

    async def transfer_events(self, wanted: TransferReportFilter, after: tuple[dt.datetime, str, int] | None,
                              limit: int) -> list[TransferReportLine]:
        """Programme events and transfer events in one list, oldest first: (time, the entry's or the
        transfer's id, 0 programme event / 1 request / 2 settlement) orders them and is unique."""
        events = union_all(*self._event_selects()).subquery("events")
        query = select(events).where(*_within(events.c.at, wanted.happened))
        if wanted.customer_id:
            query = query.where(events.c.customer_id == wanted.customer_id)
        if wanted.kinds:
            query = query.where(events.c.kind.in_(wanted.kinds))
        found = (await self.session.execute(
            keyset_page(query, [events.c.at, events.c.event_id, events.c.sequence], after, limit))).all()
        lines = [_transfer_line(row._mapping) for row in found]
        return with_programme_status(lines, await self._programme_events(lines),
                                     await self._programme_statuses(lines))

    def _event_selects(self) -> list[Any]:
        transfers = GoalTransferRow
        # The transfers first: a union takes its columns' types from its first select.
        transfer_columns = (
            transfers.customer_id, transfers.goal_id, transfers.programme_id, transfers.transfer_id,
            literal(TRANSFER_ACTOR, String).label("actor"), transfers.transfer_id.label("event_id"),
            transfers.amount, transfers.currency, transfers.source_account_id, transfers.target_account_id,
            transfers.period_key)
        requested = select(
            *transfer_columns, literal("TRANSFER_REQUESTED", String).label("kind"),
            transfers.created_at.label("at"), literal(1, Integer).label("sequence"),
            literal("REQUESTED", String).label("status"), literal("", String).label("failure_reason"),
            literal("", String).label("transaction_id"), literal("", String).label("resource"),
        ).where(transfers.tenant_id == self.tenant_id)
        settled = select(
            *transfer_columns, (literal("TRANSFER_", String) + transfers.status).label("kind"),
            transfers.updated_at.label("at"), literal(2, Integer).label("sequence"),
            transfers.status, transfers.failure_reason, transfers.transaction_id, literal("", String).label("resource"),
        ).where(transfers.tenant_id == self.tenant_id, transfers.status != "REQUESTED")
        history = GoalHistoryRow
        programme = select(
            history.customer_id, history.goal_id, literal("", String).label("programme_id"),
            literal("", String).label("transfer_id"), history.actor, history.entry_id.label("event_id"),
            null().cast(ScaledAmount()).label("amount"), literal("", String).label("currency"),
            literal("", String).label("source_account_id"), literal("", String).label("target_account_id"),
            literal("", String).label("period_key"), history.kind, history.at.label("at"),
            literal(0, Integer).label("sequence"), literal("", String).label("status"),
            literal("", String).label("failure_reason"), literal("", String).label("transaction_id"),
            history.resource,
        ).where(history.tenant_id == self.tenant_id, self.one_of(history.kind, PROGRAMME_KINDS))
        return [requested, settled, programme]

    async def _programme_events(self, lines: Sequence[TransferReportLine]) -> list[ProgrammeEvent]:
        """The programme history of the goals on a page, up to its last line."""
        goals = {line.goal_id for line in lines}
        if not goals:
            return []
        rows = await self.session.execute(
            select(GoalHistoryRow.resource, GoalHistoryRow.at, GoalHistoryRow.entry_id, GoalHistoryRow.kind,
                   GoalHistoryRow.after)
            .where(GoalHistoryRow.tenant_id == self.tenant_id, self.one_of(GoalHistoryRow.goal_id, goals),
                   self.one_of(GoalHistoryRow.kind, PROGRAMME_KINDS), GoalHistoryRow.at <= lines[-1].at))
        return [ProgrammeEvent(programme_id_of(resource), at, entry_id, kind, after or {})
                for resource, at, entry_id, kind, after in rows]

    async def _programme_statuses(self, lines: Sequence[TransferReportLine]) -> dict[str, str]:
        programmes = {line.programme_id for line in lines if line.programme_id}
        if not programmes:
            return {}
        rows = await self.session.execute(
            select(FundingProgrammeRow.programme_id, FundingProgrammeRow.status).where(
                FundingProgrammeRow.tenant_id == self.tenant_id,
                self.one_of(FundingProgrammeRow.programme_id, programmes)))
        return {programme_id: status for programme_id, status in rows}


def _transfer_line(row: Any) -> TransferReportLine:
    sequence = int(row["sequence"])
    common = dict(customer_id=row["customer_id"], goal_id=row["goal_id"] or "", kind=row["kind"], actor=row["actor"],
                  at=row["at"], event_id=row["event_id"], sequence=sequence)
    if sequence == 0:
        return TransferReportLine(programme_id=programme_id_of(row["resource"]), transfer_id="", **common)
    return TransferReportLine(
        programme_id=row["programme_id"], transfer_id=row["transfer_id"], amount=row["amount"],
        currency=row["currency"], source_account_id=row["source_account_id"],
        target_account_id=row["target_account_id"], transfer_status=row["status"], period_key=row["period_key"],
        failure_reason=row["failure_reason"] or "", transaction_id=row["transaction_id"] or "", **common)
