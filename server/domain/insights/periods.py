"""Calendar arithmetic for evaluations: frequency periods (the duplicate check) and month ends."""

from __future__ import annotations

import calendar
import datetime as dt

from server.domain.errors import FieldViolation, InvalidArgument

# The dates an evaluation may be made as of. Evaluations look back whole months (a year of month ends
# at most), which before year 2 is no date at all; a bank's data does not go back past 1900 either.
EARLIEST_AS_OF = dt.date(1900, 1, 1)
LATEST_AS_OF = dt.date(9999, 12, 31)


def check_as_of(as_of: dt.date) -> None:
    if not EARLIEST_AS_OF <= as_of <= LATEST_AS_OF:
        raise InvalidArgument("AS_OF_OUT_OF_RANGE", f"as_of must be {EARLIEST_AS_OF} or later",
                              violations=[FieldViolation("as_of", f"{EARLIEST_AS_OF} to {LATEST_AS_OF}")])


def month_period(day: dt.date) -> str:
    """The MONTHLY period a date falls in: the duplicate check spans the 1st to the end of the month,
    so a trigger on the 3rd finds the item the batch of the 1st generated."""
    return f"{day.year:04d}-{day.month:02d}"


def day_period(day: dt.date) -> str:
    return day.isoformat()


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def previous_month_ends(as_of: dt.date, count: int) -> list[dt.date]:
    """The last days of the `count` whole calendar months before as_of's month, oldest first
    (as of 1994-04-01 and 3: 1994-01-31, 1994-02-28, 1994-03-31)."""
    ends = []
    year, month = as_of.year, as_of.month
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        ends.append(month_end(year, month))
    return list(reversed(ends))
