"""CSV record files: one kind per file, told by --kind or by the header."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from clients.records.kinds import read_record
from clients.records.model import Kind, ParsedFile, RecordFileError, Rejected


def infer_kind(columns: Iterable[str]) -> Kind | None:
    names = set(columns)
    if "transaction_id" in names:
        return Kind.TRANSACTION
    if {"date", "balance"} <= names:
        return Kind.BALANCE
    if {"account_id", "type"} <= names:
        return Kind.ACCOUNT
    if "customer_id" in names and "account_id" not in names:
        return Kind.CUSTOMER
    return None


def parse_csv(lines: Iterable[str], kind: Kind | None = None) -> ParsedFile:
    """Column names are matched case-insensitively (stored lower-case); line 1 is the header."""
    parsed = ParsedFile("csv")
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return parsed  # an empty file loads nothing
    columns = [name.strip().lower() for name in header]
    repeated = sorted({name for name in columns if name and columns.count(name) > 1})
    if repeated:
        raise RecordFileError(f"the header repeats columns: {', '.join(repeated)}")
    kind = kind or infer_kind(columns)
    if kind is None:
        raise RecordFileError(f"cannot tell the kind of records from the header ({', '.join(columns)}): "
                              "pass --kind customers|accounts|transactions|balances")
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return parsed
        except csv.Error as exc:
            parsed.rejected.append(Rejected(line, kind, "", "INVALID_CSV", str(exc)))
            continue
        if not any(cell.strip() for cell in row):
            continue  # blank lines carry nothing
        if len(row) != len(columns):
            parsed.rejected.append(Rejected(line, kind, "", "WRONG_CELL_COUNT",
                                            f"the row has {len(row)} cells, the header {len(columns)}"))
            continue
        # Cells under a blank header name (a trailing comma) are dropped.
        read_record(parsed, line, kind, {name: cell for name, cell in zip(columns, row, strict=True) if name})
