"""An export's chunks as Arrow IPC (docs/exports.md), for Parquet: the first chunk of a fresh export opens
with the schema message, and every chunk is one record batch message, so that the chunks joined in order are
one Arrow IPC stream (a resumed export's chunks continue the stream of those before them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from server.domain.money import STORAGE_SCALE
from server.domain.reporting.export_columns import ColumnKind, ExportTable, decimal_text, text_map

# Money is stored with four places and at most 14 digits before them (server.domain.money): decimal128(18, 4)
# holds every amount exactly.
_TYPES: dict[ColumnKind, pa.DataType] = {
    ColumnKind.TEXT: pa.string(), ColumnKind.TIMESTAMP: pa.timestamp("us", tz="UTC"), ColumnKind.DATE: pa.date32(),
    ColumnKind.AMOUNT: pa.decimal128(14 + STORAGE_SCALE, STORAGE_SCALE), ColumnKind.DECIMAL: pa.string(),
    ColumnKind.INTEGER: pa.int64(), ColumnKind.LIST: pa.list_(pa.string()),
    ColumnKind.MAP: pa.map_(pa.string(), pa.string()),
}


def arrow_schema(table: ExportTable[Any]) -> pa.Schema:
    return pa.schema([pa.field(column.name, _TYPES[column.kind]) for column in table.columns])


def _array(kind: ColumnKind, values: list[Any]) -> pa.Array:
    if kind is ColumnKind.DECIMAL:
        values = [None if value is None else decimal_text(value) for value in values]
    elif kind is ColumnKind.LIST:
        values = [list(items) for items in values]
    elif kind is ColumnKind.MAP:
        values = [list(text_map(value).items()) for value in values]
    return pa.array(values, type=_TYPES[kind])


def arrow_chunk(table: ExportTable[Any], lines: Sequence[Any], header: bool) -> bytes:
    """One record batch message, after the schema message when `header` (a fresh export's first chunk)."""
    schema = arrow_schema(table)
    batch = pa.record_batch([_array(column.kind, values) for column, values
                             in zip(table.columns, table.values(lines), strict=True)], schema=schema)
    body: bytes = batch.serialize().to_pybytes()
    if not header:
        return body
    schema_message: bytes = schema.serialize().to_pybytes()
    return schema_message + body
