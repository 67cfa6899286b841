"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from server.domain.money import from_scaled, to_scaled


class ScaledAmount(TypeDecorator[Decimal]):
    """A Decimal stored as whole ten-thousandths in a BIGINT: exact, and summable in SQL on both
    databases (SQLite has no decimal type; its REAL would lose cents)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        return None if value is None else to_scaled(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_scaled(int(value))


def sqlite_datetime_text(value: dt.datetime) -> str:
    """What UTCDateTime stores on SQLite, for plain SQL on the hot paths: SQLAlchemy's text of the
    naive UTC time (microseconds always shown), so that comparisons in SQL stay consistent."""
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        value = value.astimezone(dt.UTC)
        # SQLite keeps text without an offset: store naive UTC there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
