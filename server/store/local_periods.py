"""Which period of the tenant's calendar an instant falls in, computed by the database: the period's first
day as ISO text (`2026-01-01`), so that it groups, orders and compares alike on both databases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, literal
from sqlalchemy.sql.elements import ColumnElement

from server.domain.reporting.metrics import Granularity, PeriodBounds
from server.store.types import UTCDateTime

_TRUNCATE = {Granularity.DAY: "day", Granularity.WEEK: "week", Granularity.MONTH: "month"}


def period_start_text(at: Any, granularity: Granularity, bounds: Sequence[PeriodBounds], postgres: bool,
                      zone: str) -> ColumnElement[str]:
    """`at`'s period among `bounds` (every instant asked about lies in one of them). PostgreSQL truncates
    in the tenant's zone (date_trunc's weeks start on Monday, as ISO's); SQLite, which knows no zones,
    compares with each period's end instant, computed in Python with the zone's rules."""
    if len(bounds) == 1:
        return literal(bounds[0].first_day.isoformat())
    if postgres:
        return func.to_char(func.date_trunc(_TRUNCATE[granularity], func.timezone(zone, at)), "YYYY-MM-DD")
    return case(*((at < literal(b.end, UTCDateTime()), b.first_day.isoformat()) for b in bounds[:-1]),
                else_=bounds[-1].first_day.isoformat())


def period_bucket(at: Any, granularity: Granularity, bounds: Sequence[PeriodBounds], postgres: bool,
                  zone: str) -> ColumnElement[Any]:
    """`at`'s period as cheaply as the database can group by it: PostgreSQL's truncated local time (a
    timestamp; turned into text once grouped, by bucket_text), or what period_start_text gives elsewhere."""
    if postgres and len(bounds) > 1:
        return func.date_trunc(_TRUNCATE[granularity], func.timezone(zone, at))
    return period_start_text(at, granularity, bounds, postgres, zone)


def bucket_text(bucket: Any, bounds: Sequence[PeriodBounds], postgres: bool) -> ColumnElement[str]:
    """A period_bucket, grouped, as its first day's ISO text."""
    if postgres and len(bounds) > 1:
        return func.to_char(bucket, "YYYY-MM-DD")
    return bucket
