"""The report's period as typed (`2026-01..2026-06`, or days) and the length of a period on its time axes."""

from __future__ import annotations

import calendar
import datetime as dt

# Up to two months of days, then weeks up to a year and a bit, then months: a few dozen bars a channel.
_MOST_DAYS = 62
_MOST_WEEKS_DAYS = 400


def _first_day(text: str) -> dt.date:
    if len(text) == 7:
        return dt.date.fromisoformat(f"{text}-01")
    return dt.date.fromisoformat(text)


def _last_day(text: str) -> dt.date:
    if len(text) == 7:
        first = dt.date.fromisoformat(f"{text}-01")
        return first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return dt.date.fromisoformat(text)


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """`START..END`, each a month (YYYY-MM: from its first day, to its last) or a day (YYYY-MM-DD);
    a single month or day is the period of itself. ValueError when unreadable or backwards."""
    start_text, separator, end_text = text.strip().partition("..")
    if not separator:
        end_text = start_text
    try:
        start, end = _first_day(start_text.strip()), _last_day(end_text.strip())
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a period: YYYY-MM..YYYY-MM or YYYY-MM-DD..YYYY-MM-DD") from exc
    if end < start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


def granularity_for(start: dt.date, end: dt.date) -> str:
    """"day", "week" or "month": the time axes' step for a period this long."""
    days = (end - start).days + 1
    if days <= _MOST_DAYS:
        return "day"
    if days <= _MOST_WEEKS_DAYS:
        return "week"
    return "month"
