"""Engagement metrics (docs/reporting-metrics.md): tenant-wide, so roles `bank_admin` and `service` only."""

from __future__ import annotations

import zoneinfo
from typing import Any

from server.domain.auth import Caller, Role
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.reporting.metrics import MetricsLine, MetricsQuery, check_query, lines_of, periods
from server.store.db import Database
from server.store.uow import UnitOfWork

# The page tokens' list name.
METRICS = "metrics-rows"


class MetricsService:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def page(self, caller: Caller, filters: MetricsQuery, page: PageRequest) -> Page[MetricsLine]:
        """By value, then period; the page token holds [value, period's first day]."""
        caller.require_role(Role.BANK_ADMIN, Role.SERVICE)
        check_query(filters)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            tenant = await uow.tenants.get(uow.tenant_id)
            zone = tenant.time_zone if tenant else "UTC"
            bounds = list(periods(filters.granularity, filters.since, filters.until, zoneinfo.ZoneInfo(zone)))
            groups = await uow.engagement_metrics.page(filters, bounds, zone, _key(page.after), page.size + 1)
        return paginate(lines_of(groups), page, METRICS, metrics_page_key)


def metrics_page_key(line: MetricsLine) -> list[str]:
    return [line.value, line.period_start.isoformat()]


def _key(after: Any) -> tuple[str, str] | None:
    return None if after is None else (after[0], after[1])
