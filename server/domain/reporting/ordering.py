"""The history views' order_by: one time column, oldest first or newest first (AIP-132's syntax)."""

from __future__ import annotations

import datetime as dt

from server.domain.errors import FieldViolation, InvalidArgument

Dates = tuple[dt.date | None, dt.date | None]  # a view's date range as asked for: whole days, both inclusive


def newest_first(order_by: str, column: str) -> bool:
    """`column` (the default when empty) or `column desc`; anything else is INVALID_ORDER_BY."""
    words = order_by.split()
    if not words or words == [column] or words == [column, "asc"]:
        return False
    if words == [column, "desc"]:
        return True
    raise InvalidArgument("INVALID_ORDER_BY", f'order_by is "{column}" or "{column} desc"',
                          violations=[FieldViolation("order_by", f'"{column}" or "{column} desc"')])


def check_dates(dates: Dates, field_name: str) -> Dates:
    """A range whose start is after its end would list nothing: it is a mistake, said as one."""
    start, end = dates
    if start is not None and end is not None and start > end:
        raise InvalidArgument("INVALID_DATE_RANGE", f"{field_name} starts after it ends",
                              violations=[FieldViolation(f"{field_name}.start_date", "after end_date")])
    return dates
