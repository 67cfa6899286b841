"""Whole days asked for by date (a list's date_range, a feed's create_date_range) as instants in UTC."""

from __future__ import annotations

import datetime as dt


def day_bounds(since: dt.date | None, until: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[the start of `since`, the start of the day after `until`); None where unbounded. The day after
    9999-12-31 is no date, and nothing comes after it anyway: a range to then has no end."""
    start = dt.datetime.combine(since, dt.time(), dt.UTC) if since else None
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC) \
        if until and until < dt.date.max else None
    return start, end
