"""An export's chunks as bytes (docs/exports.md): CSV and JSON Lines here, Arrow in arrow_chunks.py. A chunk
is one page of a view; the chunks of an export, joined in order, are the file."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any, Literal

import orjson

from server.domain.reporting.export_columns import (
    ColumnKind,
    ExportTable,
    amount_text,
    date_text,
    decimal_text,
    text_map,
    timestamp_text,
)

Convert = Callable[[list[Any]], list[Any]]


def _as_is(values: list[Any]) -> list[Any]:
    return values


def _each(convert: Callable[[Any], Any]) -> Convert:
    return lambda values: list(map(convert, values))


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _map_json_text(value: Any) -> str:
    # text_map (a value None as "") only where a value is None: most maps have none, and sorting in orjson is
    # cheaper than a new dict.
    return orjson.dumps(text_map(value) if None in value.values() else value, option=orjson.OPT_SORT_KEYS).decode()


# A cell of CSV is text: lists and maps as compact JSON (a list of text can hold any separator).
_CSV: dict[ColumnKind, Convert] = {
    ColumnKind.TEXT: _as_is, ColumnKind.INTEGER: _as_is,
    ColumnKind.TIMESTAMP: _each(timestamp_text), ColumnKind.DATE: _each(date_text),
    ColumnKind.AMOUNT: _each(amount_text), ColumnKind.DECIMAL: _each(decimal_text),
    ColumnKind.LIST: _each(lambda items: _json_text(list(items))), ColumnKind.MAP: _each(_map_json_text),
}

# JSON Lines: text too, but counts are numbers, lists arrays and maps objects.
_JSONL: dict[ColumnKind, Convert] = {
    **_CSV, ColumnKind.LIST: _each(list), ColumnKind.MAP: _each(text_map),
}


def csv_chunk(table: ExportTable[Any], lines: Sequence[Any], header: bool) -> bytes:
    """RFC 4180 with `\\n` line ends, UTF-8; the header row of column names when `header`."""
    columns = [_CSV[column.kind](values) for column, values in zip(table.columns, table.values(lines), strict=True)]
    text = _csv_text(table.names if header else None, columns, csv.QUOTE_MINIMAL)
    if "\r" in text:
        # The csv module quotes a field holding a character of its line end (\n) but not a lone \r, which
        # readers take for a line end: a chunk with one anywhere quotes every field.
        text = _csv_text(table.names if header else None, columns, csv.QUOTE_ALL)
    return text.encode()


def _csv_text(names: Sequence[str] | None, columns: list[list[Any]], quoting: Literal[0, 1]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=quoting)
    if names is not None:
        writer.writerow(names)
    writer.writerows(zip(*columns, strict=True))
    return out.getvalue()


def jsonl_chunk(table: ExportTable[Any], lines: Sequence[Any], header: bool) -> bytes:
    """One JSON object a line, keys in column order, UTF-8 (`header` is for the formats that have one)."""
    names = table.names
    columns = [_JSONL[column.kind](values) for column, values in zip(table.columns, table.values(lines), strict=True)]
    dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    return b"".join([dumps(dict(zip(names, row, strict=True)), option=option) for row in zip(*columns, strict=True)])
