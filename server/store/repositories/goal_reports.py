"""Read-side queries of the goals reporting views (server.domain.goals.reports): tenant-wide, filtered,
one keyset page at a time. They read the goals tables and write nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement

from server.domain.goals.reports import (
    FUNDING_KINDS,
    PROGRAMME_KINDS,
    TRANSFER_KINDS,
    GoalReportFilter,
    GoalReportLine,
    HistoryReportFilter,
    HistoryReportLine,
    ProgrammeEvent,
    TransferFacts,
    TransferReportFilter,
    TransferReportLine,
    programme_id_of,
    transfer_id_of,
    transfer_line,
    with_programme_status,
)
from server.store.goals_models import FundingProgrammeRow, GoalHistoryRow, GoalRow, GoalTransferRow
from server.store.keyset import keyset_page
from server.store.repositories.base import TenantRepository, within


def _funding_history(wanted: TransferReportFilter) -> HistoryReportFilter:
    """The history entries the funding view is made of."""
    return HistoryReportFilter(wanted.customer_id, wanted.kinds or FUNDING_KINDS, wanted.happened)


class GoalReportsRepository(TenantRepository):
    async def goals(self, wanted: GoalReportFilter, after: tuple[str, dt.datetime, str] | None,
                    limit: int) -> list[GoalReportLine]:
        """By customer, then oldest goal first (the goal id breaks a tie)."""
        rows = await self.session.scalars(keyset_page(
            select(GoalRow).where(*self._goals_wanted(wanted)),
            [GoalRow.customer_id, GoalRow.created_at, GoalRow.goal_id], after, limit))
        return [GoalReportLine(
            customer_id=r.customer_id, account_id=r.account_id, goal_id=r.goal_id, name=r.name, category=r.category,
            target=r.target, saved=r.saved, currency=r.currency, status=r.status, created_at=r.created_at,
            achieved_at=r.achieved_at, archived_at=r.archived_at, target_date=r.target_date,
            milestones_reached=tuple(r.milestones or ())) for r in rows]

    async def history(self, wanted: HistoryReportFilter, after: tuple[dt.datetime, str] | None,
                      limit: int) -> list[HistoryReportLine]:
        """Oldest first (the entry id breaks a tie). Columns, not ORM objects: exports read millions of these."""
        h = GoalHistoryRow
        # On the session's connection: a Core result, without the ORM's per-row bookkeeping for a select
        # of columns.
        connection = await self.session.connection()
        rows = await connection.execute(keyset_page(
            select(h.customer_id, h.entry_id, h.kind, h.actor, h.actor_id, h.at, h.goal_id, h.resource, h.before,
                   h.after).where(*self._history_wanted(wanted)), [h.at, h.entry_id], after, limit))
        return [HistoryReportLine(customer_id, entry_id, kind, actor, actor_id, at, goal_id or "", resource,
                                  before or {}, after or {})
                for customer_id, entry_id, kind, actor, actor_id, at, goal_id, resource, before, after in rows]

    async def transfer_events(self, wanted: TransferReportFilter, after: tuple[dt.datetime, str] | None,
                              limit: int) -> list[TransferReportLine]:
        """The history's programme and transfer events, oldest first, each with its transfer (one query
        per page) and its programme's status just after it."""
        entries = await self.history(_funding_history(wanted), after, limit)
        transfers = await self._transfers({transfer_id_of(e.resource) for e in entries if e.kind in TRANSFER_KINDS})
        lines = [transfer_line(e, transfers.get(transfer_id_of(e.resource))) for e in entries]
        return with_programme_status(lines, await self._programme_events(lines),
                                     await self._programme_statuses(lines))

    async def count_goals(self, wanted: GoalReportFilter) -> int:
        return await self._count(GoalRow, self._goals_wanted(wanted))

    async def count_history(self, wanted: HistoryReportFilter) -> int:
        return await self._count(GoalHistoryRow, self._history_wanted(wanted))

    async def count_transfer_events(self, wanted: TransferReportFilter) -> int:
        return await self._count(GoalHistoryRow, self._history_wanted(_funding_history(wanted)))

    async def _count(self, table: Any, conditions: list[ColumnElement[bool]]) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(table).where(*conditions)) or 0)

    def _goals_wanted(self, wanted: GoalReportFilter) -> list[ColumnElement[bool]]:
        conditions = [GoalRow.tenant_id == self.tenant_id, *within(GoalRow.created_at, wanted.created)]
        if wanted.customer_id:
            conditions.append(GoalRow.customer_id == wanted.customer_id)
        if wanted.status:
            conditions.append(GoalRow.status == wanted.status)
        if wanted.category:
            conditions.append(GoalRow.category == wanted.category)
        return conditions

    def _history_wanted(self, wanted: HistoryReportFilter) -> list[ColumnElement[bool]]:
        conditions = [GoalHistoryRow.tenant_id == self.tenant_id, *within(GoalHistoryRow.at, wanted.created)]
        if wanted.customer_id:
            conditions.append(GoalHistoryRow.customer_id == wanted.customer_id)
        if wanted.kinds:
            conditions.append(self.one_of(GoalHistoryRow.kind, wanted.kinds))
        return conditions

    async def _transfers(self, ids: set[str]) -> dict[str, TransferFacts]:
        ids.discard("")
        if not ids:
            return {}
        rows = await self.session.scalars(select(GoalTransferRow).where(
            GoalTransferRow.tenant_id == self.tenant_id, self.one_of(GoalTransferRow.transfer_id, ids)))
        return {r.transfer_id: TransferFacts(r.amount, r.currency, r.source_account_id, r.target_account_id, r.status,
                                             r.period_key, r.failure_reason or "", r.transaction_id or "")
                for r in rows}

    async def _programme_events(self, lines: Sequence[TransferReportLine]) -> list[ProgrammeEvent]:
        """The programme history of the goals on a page, up to its last line (a programme's events carry
        its goal)."""
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

