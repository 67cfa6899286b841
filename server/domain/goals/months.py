"""Calendar-month arithmetic for goals: forecasts count whole months, monthly schedules fall on a day.

A month later is the same day of the next calendar month, clamped to that month's last day: a month
after 31 January is 28 February (29 in a leap year), a month after that 28 (or 29) March. Each step
counts from the original date (add_months(31 Jan, 2) is 31 March), never from the clamped one.
"""

from __future__ import annotations

import calendar
import datetime as dt


def month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def on_day(year: int, month: int, day_of_month: int) -> dt.date:
    """That day of the month, or the month's last day when the month is shorter (31 -> 30 April, 29 ->
    28 February outside leap years)."""
    return dt.date(year, month, min(day_of_month, month_length(year, month)))


def add_months(day: dt.date, months: int) -> dt.date:
    """`months` calendar months after `day` (before it when negative), clamped to the month's end."""
    year, month_index = divmod(day.month - 1 + months, 12)
    return on_day(day.year + year, month_index + 1, day.day)


def whole_months_between(start: dt.date, end: dt.date) -> int:
    """The most whole months m with add_months(start, m) <= end; 0 when end is less than a month after
    start (or before it)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and add_months(start, months) > end:
        months -= 1
    return max(months, 0)
