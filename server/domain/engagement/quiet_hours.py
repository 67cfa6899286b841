"""Quiet hours: a local wall-clock window (it may cross midnight) during which regular messages wait."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass


@dataclass(frozen=True)
class QuietHours:
    start: dt.time
    end: dt.time
    time_zone: str


def quiet_until(now_utc: dt.datetime, quiet: QuietHours) -> dt.datetime | None:
    """When the quiet window that `now_utc` falls in ends (UTC), or None outside quiet hours."""
    if quiet.start == quiet.end:
        return None
    zone = zoneinfo.ZoneInfo(quiet.time_zone)
    local = now_utc.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    crosses_midnight = quiet.start > quiet.end
    inside = (quiet.start <= clock or clock < quiet.end) if crosses_midnight else quiet.start <= clock < quiet.end
    if not inside:
        return None
    end_day = local.date()
    if crosses_midnight and clock >= quiet.start:
        end_day += dt.timedelta(days=1)
    # Wall-clock end in the zone; a time skipped by a DST jump resolves to the first instant after it.
    end_local = dt.datetime.combine(end_day, quiet.end, zone)
    end_utc = end_local.astimezone(dt.UTC)
    if end_utc.astimezone(zone).replace(tzinfo=None) != end_local.replace(tzinfo=None):
        # The end falls in a DST gap: the window ends when the clocks jump past it.
        candidate = end_local.replace(fold=1).astimezone(dt.UTC)
        while candidate.astimezone(zone).replace(tzinfo=None) < end_local.replace(tzinfo=None):
            candidate += dt.timedelta(minutes=1)
        end_utc = candidate.replace(second=0, microsecond=0)
    return max(end_utc, now_utc)
