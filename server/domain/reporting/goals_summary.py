"""The goals summary (docs/reporting-metrics.md): the tenant's goals not archived by progress band, and the
milestones its goals reached per month of the tenant's calendar.

A goal's band is that of the percent the goals view shows (server.domain.goals.tracker.progress_percent,
one decimal, half-up, 99.9 at most until the target is reached): 0-10 holds 0.0 to 9.9, ..., 90-100 holds
90.0 to 99.9, and the band 100-100 the goals whose saved amount reached their target.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from server.domain.goals.tracker import progress_percent

BAND_WIDTH = 10
FULL_BAND = 100  # the lower (and upper) percent of the band of goals that reached their target
BANDS = (*range(0, FULL_BAND, BAND_WIDTH), FULL_BAND)


@dataclass(frozen=True, slots=True)
class GoalsSummaryFilter:
    """Milestones reached on these dates (the tenant's, both included); None: open at that end."""

    since: dt.date | None = None
    until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ProgressBand:
    lower_percent: int
    upper_percent: int
    goals: int


@dataclass(frozen=True, slots=True)
class MilestonesInMonth:
    month: dt.date  # its first day
    milestone: str
    reached: int


@dataclass(frozen=True, slots=True)
class GoalsSummary:
    goals: int
    progress: tuple[ProgressBand, ...]
    milestones: tuple[MilestonesInMonth, ...]


def band_of(saved: Decimal, target: Decimal) -> int:
    """The lower percent of a goal's band: what the database computes in whole ten-thousandths
    (server.store.repositories.goals_summary), said in Decimals."""
    percent = progress_percent(saved, target)
    if percent >= FULL_BAND:
        return FULL_BAND
    return int(percent // BAND_WIDTH) * BAND_WIDTH


def progress_bands(goals_by_band: Mapping[int, int]) -> tuple[ProgressBand, ...]:
    """Every band in order, those without goals too."""
    return tuple(ProgressBand(lower, FULL_BAND if lower == FULL_BAND else lower + BAND_WIDTH,
                              goals_by_band.get(lower, 0)) for lower in BANDS)
