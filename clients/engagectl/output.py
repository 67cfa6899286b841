"""How engagectl prints, for every command alike.

- Lists: `emit_table` (or `emit_list` for protobuf messages). On a terminal a rich table whose id
  columns are never cut: the least important columns (the rightmost ones not marked as ids) are
  dropped until the ids fit, and the rest wrap. Piped, plain tab-separated columns under a header
  row, as gh prints them, for `cut` and `awk`.
- One record: `emit_record`, every field as `key: value` (nested fields dotted, lists indexed).
- `--json` / `-o json`: `emit_json`; protobuf messages through `as_dict`, which prints every field
  (zeros too), money as {"amount": "12.50", "currency_code": "EUR"} and enum values without their
  type's prefix (`EMAIL`, not `CHANNEL_EMAIL`), the spelling tables and options use as well.
- Messages for the person rather than the output (more pages, warnings, errors): stderr, one line,
  never wrapped.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from server.domain.money import amount_text, units_nanos_to_decimal

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

T = TypeVar("T")
V = TypeVar("V", bound=int)

# Piped, a long line stays one line (a reader or grep sees the whole of it), as gh prints.
console = Console(soft_wrap=not sys.stdout.isatty())
# soft_wrap: an error or notice stays one line whatever the terminal's width (or 80 when piped).
errors = Console(stderr=True, soft_wrap=True, highlight=False)

MONEY_TYPE = "engage.type.v1.Money"
# A terminal column other than an id is not squeezed below this (or its own width, if narrower).
MIN_COLUMN_WIDTH = 8


class OutputFormat(enum.StrEnum):
    table = "table"
    wide = "wide"
    json = "json"


@dataclass
class _Chosen:
    format: OutputFormat = OutputFormat.table


# One engagectl process runs one command: the format chosen on its command line (before or after the
# subcommand) is kept here, so that every printing helper follows it without being handed it.
_chosen = _Chosen()


def choose_format(chosen: OutputFormat) -> None:
    _chosen.format = chosen


def output_format() -> OutputFormat:
    return _chosen.format


def json_wanted() -> bool:
    return _chosen.format is OutputFormat.json


# ---- messages on stderr ---------------------------------------------------------------------------

class CommandFailed(Exception):
    """A command that cannot go on, or did not wholly succeed: main.run() prints `error: <message>`
    on one line and exits 1, as for an error the server reported."""


def error_line(text: str) -> None:
    """One line on stderr, as typed: no markup, no wrapping."""
    errors.print(text, markup=False, highlight=False, soft_wrap=True)


def notice(text: str) -> None:
    """A hint for the person (more pages, dropped columns): stderr, so stdout stays the data."""
    errors.print(text, markup=False, highlight=False, soft_wrap=True, style="dim")


def more_results(next_page_token: str) -> None:
    if next_page_token:
        notice(f"more results: use --all or --page-token {next_page_token}")


# ---- JSON ---------------------------------------------------------------------------------------

def emit_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, sort_keys=True, default=str))


def enum_label(enum_type: EnumDescriptor, name: str) -> str:
    """`CHANNEL_EMAIL` -> `EMAIL`: the value's name without its type's prefix (AIP-126's prefix is
    the zero value's name less `UNSPECIFIED`; nested enums such as App.State have none to drop)."""
    zero = enum_type.values_by_number[0].name if 0 in enum_type.values_by_number else ""
    prefix = zero[: -len("UNSPECIFIED")] if zero.endswith("_UNSPECIFIED") else ""
    return name[len(prefix):] if prefix and name.startswith(prefix) else name


def enum_label_of(enum_type: EnumDescriptor, number: int) -> str:
    value = enum_type.values_by_number.get(number)
    return enum_label(enum_type, value.name) if value else str(number)


def enum_number(enum_wrapper: _EnumTypeWrapper[V], text: str) -> V:
    """The number of `EMAIL`, `email` or `CHANNEL_EMAIL` in `pb.Channel`; ValueError names the accepted labels."""
    enum_type, wanted = enum_wrapper.DESCRIPTOR, text.strip().upper()
    for value in enum_type.values:
        if value.number and wanted in (value.name, enum_label(enum_type, value.name)):
            return enum_wrapper.Value(value.name)
    labels = ", ".join(enum_label(enum_type, v.name) for v in enum_type.values if v.number)
    raise ValueError(f"{text!r} is none of {labels}")


def _money(value: Mapping[str, Any]) -> dict[str, str]:
    amount = units_nanos_to_decimal(int(value.get("units", 0)), int(value.get("nanos", 0)))
    return {"amount": amount_text(amount), "currency_code": value.get("currency_code", "")}


def _polish_value(field: FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None:
        return _polish_message(field.message_type, value)
    if field.enum_type is not None and isinstance(value, str):
        return enum_label(field.enum_type, value)
    return value


def _polish_message(message_type: Descriptor, value: Any) -> Any:
    if not isinstance(value, dict):  # well-known types (Timestamp, Duration, Struct) are already text
        return value
    if message_type.full_name == MONEY_TYPE:
        return _money(value)
    for field in message_type.fields:
        if field.name not in value:
            continue
        found = value[field.name]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            item_field = field.message_type.fields_by_name["value"]
            value[field.name] = {k: _polish_value(item_field, v) for k, v in found.items()}
        elif isinstance(found, list):
            value[field.name] = [_polish_value(field, v) for v in found]
        else:
            value[field.name] = _polish_value(field, found)
    return value


def as_dict(message: Message) -> dict[str, Any]:
    """A message as JSON-ready data: every field (protobuf drops zeros: a zero balance had no
    amount), money with its amount, enum values as their short labels."""
    raw = MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    # typeshed gives DESCRIPTOR as the pure-Python or the upb Descriptor: the same API either way.
    return _polish_message(cast(Descriptor, message.DESCRIPTOR), raw)


# ---- tables -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    header: str
    # An id is shown whole, always: never truncated, never dropped to make room.
    id: bool = False
    # Only with `-o wide` (gh and kubectl keep the default table to what fits a terminal).
    wide: bool = False


def Id(header: str) -> Column:
    return Column(header, id=True)


def Wide(header: str) -> Column:
    return Column(header, wide=True)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _tsv_cell(text: str) -> str:
    # A tab or newline inside a cell would split it into columns or rows.
    return text.replace("\t", " ").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def fit_columns(columns: list[Column], rows: list[list[str]], width: int) -> tuple[list[int], list[int] | None]:
    """Which columns to show and how wide each is, so that every id column gets its whole width.
    Returns the kept column positions and their widths (None: not even the ids fit; let them fold)."""
    natural = [max([cell_len(c.header)] + [cell_len(row[i]) for row in rows]) for i, c in enumerate(columns)]
    kept = list(range(len(columns)))
    while True:
        ids = [i for i in kept if columns[i].id]
        others = [i for i in kept if not columns[i].id]
        # Each column takes its padding (2) and a border (1); the table one more border.
        room = width - (3 * len(kept) + 1) - sum(natural[i] for i in ids)
        needed = sum(min(natural[i], MIN_COLUMN_WIDTH) for i in others)
        if room >= needed:
            break
        if not others:
            return kept, None
        kept.remove(others[-1])
    widths = {i: natural[i] for i in ids}
    left = room
    by_width = sorted(others, key=lambda i: natural[i])
    for position, i in enumerate(by_width):
        share = left // (len(by_width) - position)
        widths[i] = min(natural[i], share)
        left -= widths[i]
    return kept, [widths[i] for i in kept]


def emit_table(title: str, columns: Sequence[str | Column], rows: Sequence[Sequence[Any]]) -> None:
    """Rows under headers: a table on a terminal, tab-separated values otherwise (see the module)."""
    shown = [c if isinstance(c, Column) else Column(c) for c in columns]
    chosen = [i for i, c in enumerate(shown) if not c.wide or output_format() is OutputFormat.wide]
    heads = [shown[i] for i in chosen]
    cells = [[_cell(row[i]) if i < len(row) else "" for i in chosen] for row in rows]
    if not console.is_terminal:
        for line in [[c.header for c in heads], *cells]:
            print("\t".join(_tsv_cell(cell) for cell in line))
        return
    kept, widths = fit_columns(heads, cells, console.width)
    dropped = [heads[i].header for i in range(len(heads)) if i not in kept]
    table = Table(title=title, caption=f"not shown to fit the terminal: {', '.join(dropped)}" if dropped else None)
    for position, i in enumerate(kept):
        width = widths[position] if widths else None
        table.add_column(heads[i].header, overflow="fold", no_wrap=heads[i].id and widths is not None,
                         width=width, min_width=width)
    for row in cells:
        table.add_row(*(Text(row[i]) for i in kept))  # Text: a cell's brackets are not rich markup
    console.print(table)


def emit_list(title: str, columns: Sequence[str | Column], items: Sequence[T], row: Callable[[T], Sequence[Any]],
              next_page_token: str = "") -> None:
    """Protobuf messages as a table (one row each) or a JSON array; says so when more pages exist."""
    if json_wanted():
        emit_json([as_dict(i) for i in items])  # type: ignore[arg-type]
    else:
        emit_table(title, columns, [row(i) for i in items])
    more_results(next_page_token)


# ---- one record ---------------------------------------------------------------------------------

def _is_money(value: Any) -> bool:
    return isinstance(value, dict) and value.keys() == {"amount", "currency_code"}


def _scalar(value: Any) -> str:
    if _is_money(value):
        # Every place the amount has, at least two: a cost of 0.0015 is not 0.00.
        amount = Decimal(value["amount"])
        places = max(2, -int(amount.as_tuple().exponent))
        return f"{amount:,.{places}f} {value['currency_code']}".strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    return _cell(value)


def record_fields(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(key, text) for every leaf: nested keys dotted, lists of records indexed, lists of plain
    values joined by commas."""
    if isinstance(value, dict) and not _is_money(value):
        if not value and prefix:
            yield prefix, ""
        for key, item in value.items():
            yield from record_fields(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        if value and all(isinstance(v, dict) and not _is_money(v) for v in value):
            for index, item in enumerate(value):
                yield from record_fields(item, f"{prefix}[{index}]")
        else:
            yield prefix, ", ".join(_scalar(v) for v in value)
    else:
        yield prefix, _scalar(value)


def emit_record(title: str, record: Message | Mapping[str, Any]) -> None:
    """One record: JSON with --json; otherwise every field as `key: value`, a key's value aligned on
    a terminal and after a tab when piped (as `gh ... view` prints)."""
    data = as_dict(record) if isinstance(record, Message) else dict(record)
    if json_wanted():
        emit_json(data)
        return
    fields = list(record_fields(data))
    if not console.is_terminal:
        for key, text in fields:
            print(f"{key}:\t{_tsv_cell(text)}")
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, text in fields:
        grid.add_row(Text(f"{key}:"), Text(text))
    console.print(Text(title, style="bold underline"))
    console.print(grid)
