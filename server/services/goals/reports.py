"""The goals, customer-history and transfer reporting views (docs/reports.md): tenant-wide reads for the
bank, so roles `bank_admin` and `service` only (a `user` token is PERMISSION_DENIED, whoever it names)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from server.domain.auth import Caller
from server.domain.goals.reports import (
    GoalReportFilter,
    GoalReportLine,
    HistoryReportFilter,
    HistoryReportLine,
    TransferReportFilter,
    TransferReportLine,
)
from server.domain.pagination import Page, PageRequest, instant_and_text_after, paginate
from server.domain.reporting.ordering import Dates
from server.services.clock import Clock, utc_now
from server.services.events import Queue
from server.services.reporting.history_common import authorize, period_of
from server.store.db import Database
from server.store.uow import UnitOfWork

# The page tokens' list names (a token of one view is refused by the others).
GOALS_REPORT = "goal-report-rows"
HISTORY_REPORT = "customer-history-report-rows"
TRANSFERS_REPORT = "transfer-report-rows"


class GoalReportsService:
    """The goals, customer-history and transfer reporting views."""

    def __init__(self, database: Database, publisher: Queue, clock: Clock = utc_now) -> None:
        self._database = database
        self._publisher = publisher
        self._clock = clock

    async def goals(self, caller: Caller, wanted: GoalReportFilter, created: Dates, page: PageRequest
                    ) -> Page[GoalReportLine]:
        """By customer, then oldest goal first; the page token holds [customer, created, goal id]."""
        authorize(caller)
        after = None if page.after is None else (page.after[0], _instant(page.after[1]), page.after[2])
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            wanted = replace(wanted, created=await period_of(uow, created))
            found = await uow.goal_reports.goals(wanted, after, page.size + 1)
        return paginate(found, page, GOALS_REPORT, goals_page_key)

    async def history(self, caller: Caller, wanted: HistoryReportFilter, created: Dates, page: PageRequest
                      ) -> Page[HistoryReportLine]:
        """Oldest first; the page token holds [created, entry id]."""
        authorize(caller)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            wanted = replace(wanted, created=await period_of(uow, created))
            found = await uow.goal_reports.history(wanted, instant_and_text_after(page.after), page.size + 1)
        return paginate(found, page, HISTORY_REPORT, lambda line: [line.at.isoformat(), line.entry_id])

    async def transfers(self, caller: Caller, wanted: TransferReportFilter, happened: Dates, page: PageRequest
                        ) -> Page[TransferReportLine]:
        """Programme and transfer events, oldest first; the page token holds [time, entry id]."""
        authorize(caller)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            wanted = replace(wanted, happened=await period_of(uow, happened))
            found = await uow.goal_reports.transfer_events(wanted, instant_and_text_after(page.after), page.size + 1)
        return paginate(found, page, TRANSFERS_REPORT, lambda line: [line.at.isoformat(), line.entry_id])

    async def count_goals(self, caller: Caller, wanted: GoalReportFilter, created: Dates) -> int:
        """The rows the goals view holds (one COUNT over the tenant's goals), for an export's progress."""
        authorize(caller)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await uow.goal_reports.count_goals(replace(wanted, created=await period_of(uow, created)))

    async def count_history(self, caller: Caller, wanted: HistoryReportFilter, created: Dates) -> int:
        authorize(caller)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await uow.goal_reports.count_history(replace(wanted, created=await period_of(uow, created)))

    async def count_transfers(self, caller: Caller, wanted: TransferReportFilter, happened: Dates) -> int:
        authorize(caller)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await uow.goal_reports.count_transfer_events(
                replace(wanted, happened=await period_of(uow, happened)))


def goals_page_key(line: GoalReportLine) -> list[str]:
    return [line.customer_id, line.created_at.isoformat(), line.goal_id]


def _instant(text: Any) -> dt.datetime:
    """A page token's instant (checked when the token was read: ISO 8601 with an offset)."""
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)
