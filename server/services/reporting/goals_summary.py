"""The goals summary (docs/reporting-metrics.md): tenant-wide, so roles `bank_admin` and `service` only."""

from __future__ import annotations

import zoneinfo

from server.domain.auth import Caller, Role
from server.domain.reporting.goals_summary import GoalsSummary, GoalsSummaryFilter, progress_bands
from server.domain.reporting.metrics import FIRST_DAY, LAST_DAY, Granularity, periods
from server.store.db import Database
from server.store.uow import UnitOfWork


class GoalsSummaryService:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def summarize(self, caller: Caller, filters: GoalsSummaryFilter) -> GoalsSummary:
        caller.require_role(Role.BANK_ADMIN, Role.SERVICE)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            tenant = await uow.tenants.get(uow.tenant_id)
            zone_name = tenant.time_zone if tenant else "UTC"
            zone = zoneinfo.ZoneInfo(zone_name)
            by_band = await uow.goals_summary.goals_by_band()
            since, until = filters.since, filters.until
            if since is None or until is None:  # an open end: as far as the milestones go
                span = await uow.goals_summary.milestone_span()
                if span is not None:
                    since = since or span[0].astimezone(zone).date()
                    until = until or span[1].astimezone(zone).date()
            milestones = []
            if since is not None and until is not None and since <= until:
                months = list(periods(Granularity.MONTH, max(since, FIRST_DAY), min(until, LAST_DAY), zone))
                milestones = await uow.goals_summary.milestones_by_month(months, zone_name)
        return GoalsSummary(sum(by_band.values()), progress_bands(by_band), tuple(milestones))
