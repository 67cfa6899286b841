"""JSON Lines record files: one JSON object per line, each saying its "kind"; kinds may be mixed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal

from clients.records.kinds import read_record
from clients.records.model import Kind, ParsedFile, Rejected
from clients.records.values import FieldError
from server.domain.bounded_json import JsonTooDeep, loads_bounded

# A record is one object of flat fields, but for an "attributes" object or a list of ids in it: two
# levels. Python's JSON parser recurses once per level, so a line nested 100,000 deep raised
# RecursionError and stopped the whole load; a line nested deeper than this is rejected instead.
MAX_DEPTH = 16
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep (a record's fields are flat)"


def _no_constant(name: str) -> Decimal:
    raise ValueError(f"{name} is not a number Engage can store")


def parse_jsonl(lines: Iterable[str], default_kind: Kind | None = None) -> ParsedFile:
    """default_kind (from --kind) applies to lines without a "kind" field."""
    parsed = ParsedFile("jsonl")
    for line, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            # Decimal, never float: 0.1 stays 0.1 and 12.50 stays 12.50.
            fields = loads_bounded(text.rstrip("\r\n"), MAX_DEPTH, parse_float=Decimal, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            parsed.rejected.append(Rejected(line, None, "", "INVALID_JSON", f"{exc.msg} (column {exc.colno})"))
            continue
        except JsonTooDeep:
            parsed.rejected.append(Rejected(line, None, "", "INVALID_JSON", _TOO_DEEP))
            continue
        except ValueError as exc:  # NaN or Infinity
            parsed.rejected.append(Rejected(line, None, "", "INVALID_JSON", str(exc)))
            continue
        if not isinstance(fields, dict):
            parsed.rejected.append(Rejected(line, None, "", "INVALID_JSON", "a line must hold one JSON object"))
            continue
        try:
            kind = _kind(fields.get("kind"), default_kind)
        except FieldError as exc:
            parsed.rejected.append(Rejected(line, None, "", exc.reason, exc.message))
            continue
        read_record(parsed, line, kind, fields)
    return parsed


def _kind(value: object, default: Kind | None) -> Kind:
    if value is None or value == "":
        if default is None:
            raise FieldError("MISSING_KIND", 'the "kind" field is required: customer, account, transaction or balance')
        return default
    try:
        return Kind.parse(str(value))
    except ValueError as exc:
        raise FieldError("UNKNOWN_KIND", f"kind '{value}' is not customer, account, transaction or balance") from exc
