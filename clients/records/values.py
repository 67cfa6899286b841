"""Reading one field of a record, from a CSV cell (always text) or a JSON value (text, number, ...).

Each reader returns the value or raises FieldError with a stable reason code and a message that
names the field. Amounts are Decimal from start to end: JSON numbers arrive as Decimal
(parse_float=Decimal) or int, CSV cells as text; nothing passes through float."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal

from server.domain.ingest.validation import is_valid_id
from server.domain.money import AmountError, to_scaled

Fields = Mapping[str, object]

# Plain decimal notation only: no exponent, no thousands separators, no underscores.
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$", re.ASCII)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class FieldError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def is_present(value: object) -> bool:
    """An empty CSV cell, an empty string and JSON null all mean "not given"."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def text(fields: Fields, name: str, *, required: bool = False) -> str:
    value = fields.get(name)
    if not is_present(value):
        if required:
            raise FieldError("MISSING_FIELD", f"{name} is required")
        return ""
    if isinstance(value, bool | dict | list):
        raise FieldError("INVALID_FIELD", f"{name} must be text, not {type(value).__name__}")
    return str(value).strip()


def identifier(fields: Fields, name: str) -> str:
    value = text(fields, name, required=True)
    if not is_valid_id(value):
        raise FieldError("INVALID_ID", f"{name} '{value}' must be 1-64 letters, digits and . _ : @ -")
    return value


def decimal_value(value: object, name: str) -> Decimal:
    """A storable amount: exact, finite, at most 4 decimal places (finer is rejected, never rounded)."""
    if isinstance(value, bool):
        raise FieldError("INVALID_AMOUNT", f"{name} must be a decimal number, not a boolean")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str) and _DECIMAL.match(value.strip()):
        amount = Decimal(value.strip())
    else:
        raise FieldError("INVALID_AMOUNT", f"{name} '{value}' is not a decimal number such as 1234.50")
    try:
        to_scaled(amount)
    except AmountError as exc:  # its message starts "amount ...": name the field instead
        raise FieldError("INVALID_AMOUNT", f"{name}{str(exc).removeprefix('amount')}") from exc
    return amount


def amount(fields: Fields, name: str, *, required: bool = False) -> Decimal | None:
    value = fields.get(name)
    if not is_present(value):
        if required:
            raise FieldError("MISSING_FIELD", f"{name} is required")
        return None
    return decimal_value(value, name)


def currency(fields: Fields, name: str = "currency") -> str:
    value = text(fields, name, required=True).upper()
    if not _CURRENCY.match(value):
        raise FieldError("INVALID_CURRENCY", f"{name} '{value}' is not a three-letter ISO 4217 code")
    return value


def choice(fields: Fields, name: str, allowed: tuple[str, ...], *, prefix: str = "", required: bool = True) -> str:
    """An enum value by name, case-insensitive; the wire prefix (e.g. ACCOUNT_TYPE_) may be included."""
    raw = text(fields, name, required=required)
    if not raw:
        return ""
    value = raw.upper().removeprefix(prefix)
    if value not in allowed:
        raise FieldError("INVALID_ENUM", f"{name} '{raw}' is not one of {', '.join(allowed)}")
    return value


def calendar_date(fields: Fields, name: str, *, required: bool = False) -> dt.date | None:
    raw = text(fields, name, required=required)
    if not raw:
        return None
    try:
        if not _DATE.match(raw):
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise FieldError("INVALID_DATE", f"{name} '{raw}' is not a date YYYY-MM-DD") from exc


def timestamp(fields: Fields, name: str) -> dt.datetime:
    """A date (midnight UTC) or an ISO 8601 date-time with an offset (Z, +02:00): a time without
    an offset is rejected, because guessing its zone could move the transaction to another day."""
    raw = text(fields, name, required=True)
    if _DATE.match(raw):
        day = calendar_date(fields, name)
        assert day is not None
        return dt.datetime.combine(day, dt.time(), dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise FieldError("INVALID_TIMESTAMP", f"{name} '{raw}' is not an ISO 8601 date or date-time") from exc
    if moment.tzinfo is None:
        raise FieldError("INVALID_TIMESTAMP", f"{name} '{raw}' has no UTC offset: add Z or +hh:mm")
    return moment.astimezone(dt.UTC)
