"""The export formatters (server/domain/reporting/): whatever text, amounts, times and maps a view holds, the
csv module reads back each cell as docs/exports.md writes it, every JSON line parses back to its row, and
Arrow IPC chunks joined in order are one stream of the same values."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.reporting.arrow_chunks import arrow_chunk
from server.domain.reporting.export_columns import (
    Column,
    ColumnKind,
    ExportTable,
    amount_text,
    timestamp_text,
)
from server.domain.reporting.export_formats import csv_chunk, jsonl_chunk


@dataclass(frozen=True)
class Line:
    text: str
    at: dt.datetime | None
    day: dt.date | None
    amount: Decimal | None
    count: int
    items: tuple[str, ...]
    values: dict[str, str | None]


TABLE = ExportTable("test", tuple(Column(name, kind, name) for name, kind in (
    ("text", ColumnKind.TEXT), ("at", ColumnKind.TIMESTAMP), ("day", ColumnKind.DATE), ("amount", ColumnKind.AMOUNT),
    ("count", ColumnKind.INTEGER), ("items", ColumnKind.LIST), ("values", ColumnKind.MAP))))

# Any text PostgreSQL can hold: no NUL, no lone surrogates (not UTF-8).
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
instants = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9999, 12, 30),
                        timezones=st.just(dt.UTC))
# Stored money: four places, at most 14 digits before them.
amounts = st.integers(-(10**18) + 1, 10**18 - 1).map(lambda scaled: Decimal(scaled).scaleb(-4))
lines = st.builds(Line, texts, st.none() | instants, st.none() | st.dates(), st.none() | amounts,
                  st.integers(0, 2**62), st.lists(texts, max_size=3).map(tuple),
                  st.dictionaries(texts, st.none() | texts, max_size=3))


def _expected_text(line: Line) -> list[str]:
    return [line.text, timestamp_text(line.at), line.day.isoformat() if line.day else "", amount_text(line.amount),
            str(line.count), json.dumps(list(line.items), ensure_ascii=False, separators=(",", ":")),
            json.dumps({k: line.values[k] or "" for k in sorted(line.values)}, ensure_ascii=False,
                       separators=(",", ":"))]


@settings(max_examples=100, deadline=None)
@given(st.lists(lines, max_size=6), st.lists(lines, max_size=6))
def test_csv_chunks_read_back_cell_for_cell(first, second):
    data = csv_chunk(TABLE, first, header=True) + csv_chunk(TABLE, second, header=False)
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert rows == [list(TABLE.names), *map(_expected_text, first + second)]


@settings(max_examples=100, deadline=None)
@given(st.lists(lines, max_size=6))
def test_json_lines_read_back_row_for_row(page):
    data = jsonl_chunk(TABLE, page, header=True)
    assert data.count(b"\n") == len(page)
    parsed = [json.loads(line) for line in data.decode().split("\n")[:-1]]
    assert parsed == [{
        "text": line.text, "at": timestamp_text(line.at), "day": line.day.isoformat() if line.day else "",
        "amount": amount_text(line.amount), "count": line.count, "items": list(line.items),
        "values": {k: v or "" for k, v in line.values.items()}} for line in page]
    assert all(list(row) == list(TABLE.names) for row in parsed)


@settings(max_examples=40, deadline=None)
@given(st.lists(lines, max_size=5), st.lists(lines, max_size=5))
def test_arrow_chunks_join_into_one_stream_of_the_same_values(first, second):
    data = arrow_chunk(TABLE, first, header=True) + arrow_chunk(TABLE, second, header=False)
    table = pa.ipc.open_stream(data).read_all()
    assert table.column_names == list(TABLE.names)
    assert table.to_pylist() == [{
        "text": line.text, "at": line.at, "day": line.day, "amount": line.amount, "count": line.count,
        "items": list(line.items), "values": sorted((k, v or "") for k, v in line.values.items())}
        for line in first + second]


def test_timestamps_as_protobuf_json_writes_them():
    def at(microsecond: int) -> dt.datetime:
        return dt.datetime(2025, 1, 10, 9, 0, 0, microsecond, tzinfo=dt.UTC)

    assert [timestamp_text(at(0)), timestamp_text(at(120_000)), timestamp_text(at(1500))] == [
        "2025-01-10T09:00:00Z", "2025-01-10T09:00:00.120Z", "2025-01-10T09:00:00.001500Z"]
    prague = dt.timezone(dt.timedelta(hours=1))
    assert timestamp_text(dt.datetime(2025, 1, 10, 10, tzinfo=prague)) == "2025-01-10T09:00:00Z"
    assert [amount_text(Decimal("12.5000")), amount_text(Decimal("0.1234")), amount_text(None)] == [
        "12.50", "0.1234", ""]
