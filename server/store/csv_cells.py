"""An export's cells as SQL expressions that PostgreSQL's COPY ... WITH CSV writes as the same text as
server.domain.reporting.export_formats.csv_chunk (docs/exports.md#how-fast): the database formats a page
of a large view instead of Python, several times faster.

The text of each kind of column:
- TEXT: as is, with "" written as NULL, which CSV writes as an empty field (COPY writes '' as `""`).
- INTEGER: as is.
- TIMESTAMP: RFC 3339 in UTC with a Z and 0, 3 or 6 fraction digits, as timestamp_text gives it:
  to_char's six digits, then `.000000Z` cut to `Z` and a trailing `000Z` to `Z` (a time's seconds are
  two digits after a colon, so `000Z` can only end a fraction).
Other kinds (amounts, lists, maps) are not written here: the views that have them export through Python.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String, func, literal, null
from sqlalchemy.sql.elements import ColumnElement

from server.domain.reporting.export_columns import ColumnKind

COPYABLE_KINDS = frozenset({ColumnKind.TEXT, ColumnKind.INTEGER, ColumnKind.TIMESTAMP})
_MICROSECONDS_UTC = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def timestamp_cell(instant: Any) -> ColumnElement[Any]:
    written = func.to_char(func.timezone("UTC", instant), literal(_MICROSECONDS_UTC))
    return func.replace(func.replace(written, literal(".000000Z"), literal("Z")), literal("000Z"), literal("Z"))


def csv_cell(kind: ColumnKind, value: Any) -> ColumnElement[Any]:
    """The cell of a column of this kind holding `value` (a column or expression of the row)."""
    if kind is ColumnKind.TEXT:
        return func.nullif(value, literal(""))
    if kind is ColumnKind.INTEGER:
        return value
    if kind is ColumnKind.TIMESTAMP:
        return timestamp_cell(value)
    raise ValueError(f"a {kind.value} column is not written by the database")


def absent_cell(kind: ColumnKind) -> ColumnElement[Any]:
    """The cell of a column the row's kind does not have: the line's empty default (0 for a count)."""
    if kind is ColumnKind.INTEGER:
        return literal(0, Integer)
    if kind in COPYABLE_KINDS:
        return null().cast(String)
    raise ValueError(f"a {kind.value} column is not written by the database")
