"""Read-side queries of the goals summary (server.domain.reporting.goals_summary): goals by progress band and
milestones by month, each one GROUP BY on the database. They write nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import BigInteger, case, func, literal, select, type_coerce

from server.domain.reporting.goals_summary import BAND_WIDTH, FULL_BAND, MilestonesInMonth
from server.domain.reporting.metrics import Granularity, PeriodBounds
from server.store.driver import dialect_of
from server.store.goals_models import GoalMilestoneRow, GoalRow
from server.store.local_periods import period_start_text
from server.store.repositories.base import TenantRepository
from server.store.types import UTCDateTime

# Percent in tenths, 999 (99.9%) at most below the target: progress_percent's rounding, in integers.
_ALMOST_FULL_TENTHS = 999


class GoalsSummaryRepository(TenantRepository):
    async def goals_by_band(self) -> dict[int, int]:
        """The goals not archived, counted by the lower percent of their band."""
        saved, target = type_coerce(GoalRow.saved, BigInteger), type_coerce(GoalRow.target, BigInteger)
        # saved / target * 1000, rounded half-up, on whole ten-thousandths: (2000 saved + target) // (2 target).
        tenths = (saved * 2000 + target) // (target * 2)
        band = case((saved >= target, FULL_BAND), (saved <= 0, 0),
                    (tenths >= _ALMOST_FULL_TENTHS, FULL_BAND - BAND_WIDTH),
                    else_=tenths // (BAND_WIDTH * 10) * BAND_WIDTH).label("band")
        rows = await self.session.execute(
            select(band, func.count().label("goals"))
            .where(GoalRow.tenant_id == self.tenant_id, GoalRow.status != "ARCHIVED").group_by(band))
        return {int(row.band): int(row.goals) for row in rows}

    async def milestone_span(self) -> tuple[dt.datetime, dt.datetime] | None:
        """When the first and the last milestone were reached; None before any."""
        first, last = (await self.session.execute(
            select(func.min(GoalMilestoneRow.reached_at), func.max(GoalMilestoneRow.reached_at))
            .where(GoalMilestoneRow.tenant_id == self.tenant_id))).one()
        return None if first is None or last is None else (first, last)

    async def milestones_by_month(self, months: Sequence[PeriodBounds], zone: str) -> list[MilestonesInMonth]:
        """The milestones reached within `months`, by month and then milestone key."""
        if not months:
            return []
        reached_at = GoalMilestoneRow.reached_at
        month = period_start_text(reached_at, Granularity.MONTH, months,
                                  dialect_of(self.session).name == "postgresql", zone).label("month")
        rows = await self.session.execute(
            select(month, GoalMilestoneRow.milestone, func.count().label("reached"))
            .where(GoalMilestoneRow.tenant_id == self.tenant_id,
                   reached_at >= literal(months[0].start, UTCDateTime()),
                   reached_at < literal(months[-1].end, UTCDateTime()))
            .group_by(month, GoalMilestoneRow.milestone).order_by(month, GoalMilestoneRow.milestone))
        return [MilestonesInMonth(dt.date.fromisoformat(row.month), row.milestone, int(row.reached)) for row in rows]
