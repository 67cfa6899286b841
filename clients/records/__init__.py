"""Record files for `engagectl ingest FILE`: CSV or JSON Lines -> engage.ingest.v1 messages (pure: no gRPC).

Formats
-------
The extension decides the format: `.csv` is CSV, `.jsonl` and `.ndjson` are JSON Lines. Files are
UTF-8 (a byte-order mark is allowed). Lines are numbered from 1 as in an editor; in CSV line 1 is
the header.

JSON Lines: one JSON object per line with a `kind` field (`customer`, `account`, `transaction` or
`balance`; plurals and any letter case are accepted) and the fields below, flat. A file may mix
kinds. `--kind` gives the kind of lines that have no `kind` field. Blank lines are skipped.
Numbers may be JSON numbers or strings: they are read as Decimal, never as float
(`12.50` stays 12.50, `0.1` stays 0.1); NaN and Infinity are rejected, and so is a line nested more
than 16 levels deep (INVALID_JSON; a record needs two: an `attributes` object in the line's object).

CSV: one kind per file, given by `--kind` or inferred from the header: a `transaction_id` column
means transactions; `date` and `balance` mean balances; `account_id` and `type` mean accounts;
`customer_id` without `account_id` means customers. Column names are case-insensitive (stored
lower-case); a column with a blank name or named `kind` is ignored, as are blank rows; a row must
have as many cells as the header. An empty cell is the same as a missing field. Cells may be quoted
("Pizzeria Roma, Vienna"), also over several lines.

Records are sent in dependency order whatever their order in the file: customers, accounts,
transactions, balances. For customers, accounts and balances a later line with the same id (same
account and date for balances) replaces an earlier one, which is counted as a duplicate.

Fields (required in **bold**)
-----------------------------
customer: **customer_id**; every other field becomes an attribute (text; JSON numbers and booleans
  are written as text, null and empty values are skipped). In JSON an `attributes` object may also
  be given; its entries win over flat fields of the same name. At most 100 attributes, names of
  1-64 characters, values of at most 1024.

account: **account_id**, **customer_id**, **type** (CHECKING, SAVINGS, CREDIT, LOAN, INVESTMENT,
  OTHER), container (BANK, INVESTMENT, CREDIT_CARD, LOAN; default: CREDIT -> CREDIT_CARD, LOAN ->
  LOAN, INVESTMENT -> INVESTMENT, others -> BANK), **currency** (ISO 4217, e.g. EUR), provider_name,
  account_name, current_balance, available_balance (decimals; when both are missing the stored
  balances are kept, and a new account starts at 0; when one is given the other follows it),
  open_date (YYYY-MM-DD), authorized_customer_ids (customers who may also use the account: a JSON
  list, or ids separated by `;`). Other fields become account attributes, as for customers.

transaction: **transaction_id**, **account_id**, **amount**, **currency**, direction (CREDIT = money
  in, DEBIT = money out), **posted_at**, description, category, running_balance (decimal, the
  account's balance after the transaction, may be negative). With a direction the amount must be
  positive or zero; without one the amount's sign decides (negative = DEBIT, positive = CREDIT,
  0 needs a direction). posted_at is an ISO 8601 date (`2026-10-31`, meaning 00:00 UTC) or
  date-time with an offset (`2026-10-31T14:05:00Z`, `2026-10-31T16:05:00+02:00`); a date-time
  without an offset is rejected, since guessing its zone could move it to another day. Other
  fields are ignored and named in a warning. Sending a transaction_id again changes nothing (it
  is counted as a duplicate); every accepted transaction moves the account's current balance.

balance (end-of-day): **account_id**, **date** (YYYY-MM-DD), **balance** (decimal, may be
  negative), **currency**. Other fields are ignored and named in a warning.

Values: ids are 1-64 letters, digits and `. _ : @ -`; decimals are plain notation (`-1234.5`, no
thousands separators or exponent) with at most 4 decimal places (finer is rejected, never
rounded); enum names are case-insensitive and may carry their wire prefix (`ACCOUNT_TYPE_CHECKING`).

Rejections
----------
A bad line never stops the load: it is reported with its line number, id and a reason code, and
every good line is still sent. Codes found while reading: INVALID_JSON, MISSING_KIND, UNKNOWN_KIND,
INVALID_CSV, WRONG_CELL_COUNT, MISSING_FIELD, INVALID_FIELD, INVALID_ID, INVALID_AMOUNT,
INVALID_CURRENCY, INVALID_ENUM, INVALID_DATE, INVALID_TIMESTAMP, INVALID_ATTRIBUTES. The service
adds its own (e.g. UNKNOWN_CUSTOMER, UNKNOWN_ACCOUNT, CURRENCY_MISMATCH). A missing file, an
unknown extension or a CSV header of no known kind stops before anything is sent.
"""

from __future__ import annotations

from pathlib import Path

from clients.records.csv_records import infer_kind, parse_csv
from clients.records.jsonl_records import parse_jsonl
from clients.records.model import Kind, ParsedFile, Record, RecordFileError, Rejected
from clients.records.report import Counts, LoadReport

__all__ = ["Counts", "Kind", "LoadReport", "ParsedFile", "Record", "RecordFileError", "Rejected", "infer_kind",
           "parse_csv", "parse_jsonl", "read_records"]

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def read_records(path: Path, kind: Kind | None = None) -> ParsedFile:
    """Reads the whole file; RecordFileError when it cannot be read at all."""
    file_format = FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise RecordFileError(f"{path}: unknown file type '{path.suffix}': use .csv, .jsonl or .ndjson")
    try:
        # newline="" lets the csv module see line breaks inside quoted cells.
        with path.open(encoding="utf-8-sig", newline="" if file_format == "csv" else None) as lines:
            return parse_csv(lines, kind) if file_format == "csv" else parse_jsonl(lines, kind)
    except FileNotFoundError as exc:
        raise RecordFileError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise RecordFileError(f"{path}: is a directory, not a file") from exc
    except UnicodeDecodeError as exc:
        raise RecordFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise RecordFileError(f"{path}: {exc.strerror or exc}") from exc
