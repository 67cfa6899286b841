"""What an export's columns are (docs/exports.md): a name, a kind that says how each format writes it,
and how to read the value off a view's line. Shared by every view's export table."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import Any, Generic, TypeVar

from server.domain.money import amount_text as money_amount_text

L = TypeVar("L")  # a view's line


class ColumnKind(enum.Enum):
    TEXT = "text"  # ids, names, enums by name; "" when absent
    TIMESTAMP = "timestamp"  # an aware datetime or None
    DATE = "date"  # a date or None
    AMOUNT = "amount"  # a Decimal of money (its currency in a column of its own) or None
    DECIMAL = "decimal"  # a Decimal that is not money (a percentage, a rate) or None
    INTEGER = "integer"  # a count
    LIST = "list"  # a sequence of text
    MAP = "map"  # a mapping of text to text


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: ColumnKind
    attribute: str  # the line's attribute (or property) that holds the value
    # Turns the attribute's value into the kind's (a tuple of records into a LIST of text, say); None: as is.
    convert: Callable[[Any], Any] | None = None


@dataclass(frozen=True, slots=True)
class ExportTable(Generic[L]):
    """One view's export: its columns, in order."""

    view: str
    columns: tuple[Column, ...]
    _row: Callable[[Any], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One C call per row for all of its values: a call per value was a third of a page's formatting.
        object.__setattr__(self, "_row", attrgetter(*(column.attribute for column in self.columns)))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def values(self, lines: Sequence[L]) -> list[list[Any]]:
        """The page's values column by column: each format converts a whole column at once."""
        if len(self.columns) == 1:
            convert = self.columns[0].convert
            return [[convert(value) if convert else value for value in map(self._row, lines)]]
        if not lines:
            return [[] for _ in self.columns]
        return [list(values) if column.convert is None else list(map(column.convert, values))
                for column, values in zip(self.columns, zip(*map(self._row, lines), strict=True), strict=True)]


def timestamp_text(instant: dt.datetime | None) -> str:
    """RFC 3339 in UTC with a Z, and as many fraction digits as protobuf's JSON form gives a Timestamp
    (none, 3 or 6): the text the List RPCs' clients see."""
    if instant is None:
        return ""
    if instant.tzinfo is not dt.UTC:
        instant = instant.astimezone(dt.UTC)
    micro = instant.microsecond
    if micro == 0:
        text = instant.isoformat(timespec="seconds")
    elif micro % 1000 == 0:
        text = instant.isoformat(timespec="milliseconds")
    else:
        text = instant.isoformat(timespec="microseconds")
    return text[:-6] + "Z"


def date_text(day: dt.date | None) -> str:
    return "" if day is None else day.isoformat()


def amount_text(amount: Decimal | None) -> str:
    """server.domain.money's amount text (0.00, 12.50, 0.1234); "" when absent."""
    return "" if amount is None else money_amount_text(amount)


def decimal_text(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def text_map(values: Mapping[str, str | None]) -> dict[str, str]:
    """A map's values as text, keys sorted; a value None (a field that had none) is "" as on the wire."""
    return {key: values[key] or "" for key in sorted(values)}
