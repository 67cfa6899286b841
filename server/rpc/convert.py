"""Shared wire <-> domain conversions: Money, Date, Timestamp, enum names."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection
from decimal import Decimal
from typing import TypeVar

from google.protobuf import field_mask_pb2, timestamp_pb2
from google.protobuf.message import Message

from engage.type.v1 import date_pb2, money_pb2
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.money import AmountError, decimal_to_units_nanos, units_nanos_to_decimal
from server.domain.reasons import Reason

E = TypeVar("E", bound=enum.Enum)


def money_to_proto(amount: Decimal, currency: str) -> money_pb2.Money:
    units, nanos = decimal_to_units_nanos(amount)
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def money_from_proto(money: money_pb2.Money) -> tuple[Decimal, str]:
    """Raises AmountError on inconsistent units/nanos."""
    return units_nanos_to_decimal(money.units, money.nanos), money.currency_code


def money_field(message: Message, field_name: str, path: str) -> tuple[Decimal | None, str | None]:
    """An optional Money field: (None, None) when unset; INVALID_ARGUMENT when malformed."""
    if not message.HasField(field_name):
        return None, None
    try:
        return money_from_proto(getattr(message, field_name))
    except AmountError as exc:
        raise InvalidArgument("INVALID_AMOUNT", f"{path}: {exc}", violations=[FieldViolation(path, str(exc))]) from exc


def date_to_proto(value: dt.date | None) -> date_pb2.Date | None:
    return None if value is None else date_pb2.Date(year=value.year, month=value.month, day=value.day)


def date_from_proto(value: date_pb2.Date) -> dt.date:
    """Raises ValueError when the parts are not a real calendar date."""
    return dt.date(value.year, value.month, value.day)


def date_field(message: Message, field_name: str, path: str) -> dt.date | None:
    if not message.HasField(field_name):
        return None
    try:
        return date_from_proto(getattr(message, field_name))
    except ValueError as exc:
        raise InvalidArgument("INVALID_DATE", f"{path} is not a calendar date",
                              violations=[FieldViolation(path, "not a calendar date")]) from exc


def date_range_field(message: Message, field_name: str) -> tuple[dt.date | None, dt.date | None]:
    """A DateRange field as (start, end); an unset field or end is open (None)."""
    if not message.HasField(field_name):
        return None, None
    dates: date_pb2.DateRange = getattr(message, field_name)
    return (date_field(dates, "start_date", f"{field_name}.start_date"),
            date_field(dates, "end_date", f"{field_name}.end_date"))


def timestamp_to_proto(value: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# The range google.protobuf.Timestamp allows (0001-01-01 to 9999-12-31).
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799


def timestamp_from_proto(value: timestamp_pb2.Timestamp, path: str) -> dt.datetime:
    """Timestamp.ToDatetime(tzinfo=UTC), several times faster (every ingested transaction has one);
    INVALID_ARGUMENT TIMESTAMP_INVALID outside the range a Timestamp allows."""
    seconds, nanos = value.seconds, value.nanos
    if _MIN_SECONDS <= seconds <= _MAX_SECONDS and 0 <= nanos < 1_000_000_000:
        return _EPOCH + dt.timedelta(0, seconds, nanos // 1000)  # (days, seconds, microseconds)
    raise InvalidArgument("TIMESTAMP_INVALID", f"{path} is not a valid timestamp",
                          violations=[FieldViolation(path, "seconds within 0001-01-01..9999-12-31, nanos within "
                                                           "0..999,999,999")])


def enum_from_proto(enum_type: type[E], prefix: str, number: int, names: dict[int, str], path: str) -> E:
    """Wire enum number -> domain enum; UNSPECIFIED or unknown numbers are INVALID_ARGUMENT."""
    name = names.get(number, "")
    try:
        return enum_type(name.removeprefix(prefix))
    except ValueError as exc:
        allowed = ", ".join(member.value for member in enum_type)
        raise InvalidArgument("INVALID_ENUM", f"{path} must be one of {allowed}",
                              violations=[FieldViolation(path, f"must be one of {allowed}")]) from exc


def enum_to_proto(value: enum.Enum, prefix: str, numbers: dict[str, int]) -> int:
    return numbers[prefix + str(value.value)]


def update_mask_paths(mask: field_mask_pb2.FieldMask, allowed: Collection[str]) -> list[str]:
    """The fields an update names (AIP-134): at least one, each one the update may change."""
    paths = list(mask.paths)
    if not paths:
        raise InvalidArgument(Reason.UPDATE_MASK_REQUIRED, "update_mask must name the fields to change",
                              violations=[FieldViolation("update_mask", f"one or more of {sorted(allowed)}")])
    unknown = set(paths) - set(allowed)
    if unknown:
        raise InvalidArgument(Reason.UPDATE_MASK_INVALID, f"these fields cannot be changed: {sorted(unknown)}",
                              violations=[FieldViolation("update_mask", f"allowed: {sorted(allowed)}")])
    return paths
