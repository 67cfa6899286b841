"""One record's fields -> an engage.ingest.v1 message, per kind (the columns are documented in __init__)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from clients.engagectl.money import money
from clients.records import values
from clients.records.model import Kind, ParsedFile, Record, Rejected
from clients.records.values import FieldError, Fields
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.type.v1 import date_pb2
from server.domain.ingest.validation import MAX_ATTRIBUTE_LENGTH, MAX_ATTRIBUTES

# "kind" says what a JSON line is; it is never data of the record.
RESERVED = frozenset({"kind"})
ACCOUNT_TYPES = ("CHECKING", "SAVINGS", "CREDIT", "LOAN", "INVESTMENT", "OTHER")
CONTAINERS = ("BANK", "INVESTMENT", "CREDIT_CARD", "LOAN")
DIRECTIONS = ("CREDIT", "DEBIT")
# The container an account type implies when the file gives none.
DEFAULT_CONTAINER = {"CHECKING": "BANK", "SAVINGS": "BANK", "OTHER": "BANK", "CREDIT": "CREDIT_CARD",
                     "LOAN": "LOAN", "INVESTMENT": "INVESTMENT"}

CUSTOMER_FIELDS = ("customer_id", "attributes")
ACCOUNT_FIELDS = ("account_id", "customer_id", "type", "container", "currency", "provider_name", "account_name",
                  "current_balance", "available_balance", "open_date", "authorized_customer_ids", "attributes")
TRANSACTION_FIELDS = ("transaction_id", "account_id", "amount", "currency", "direction", "posted_at",
                      "description", "category", "running_balance")
BALANCE_FIELDS = ("account_id", "date", "balance", "currency")


@dataclass(frozen=True)
class Built:
    key: str
    message: Message


def _date(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _attribute_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise FieldError("INVALID_ATTRIBUTES", f"attribute {name} must be text, a number or a boolean")
    return str(value).strip()


def attributes(fields: Fields, known: tuple[str, ...]) -> dict[str, str]:
    """Every field that is not a known one, plus the entries of an "attributes" object (which win)."""
    found = {name: value for name, value in fields.items() if name not in known and name not in RESERVED}
    explicit = fields.get("attributes")
    if values.is_present(explicit):
        if not isinstance(explicit, dict):
            raise FieldError("INVALID_ATTRIBUTES", "attributes must be a JSON object of names to values")
        found.update(explicit)
    result = {name: _attribute_value(name, value) for name, value in found.items() if values.is_present(value)}
    if len(result) > MAX_ATTRIBUTES:
        raise FieldError("INVALID_ATTRIBUTES", f"at most {MAX_ATTRIBUTES} attributes")
    for name, value in result.items():
        if not name or len(name) > 64 or len(value) > MAX_ATTRIBUTE_LENGTH:
            raise FieldError("INVALID_ATTRIBUTES",
                             f"attribute '{name[:64]}': names are 1-64 and values at most {MAX_ATTRIBUTE_LENGTH} "
                             "characters")
    return result


def customer(fields: Fields) -> Built:
    customer_id = values.identifier(fields, "customer_id")
    return Built(customer_id, pb.Customer(customer_id=customer_id, attributes=attributes(fields, CUSTOMER_FIELDS)))


def _customer_ids(fields: Fields, name: str) -> list[str]:
    """A JSON list, or text separated by semicolons."""
    raw = fields.get(name)
    if not values.is_present(raw):
        return []
    items = raw if isinstance(raw, list) else str(raw).split(";")
    ids = [str(item).strip() for item in items if values.is_present(item)]
    for found in ids:
        values.identifier({name: found}, name)
    return ids


def account(fields: Fields) -> Built:
    account_id = values.identifier(fields, "account_id")
    currency = values.currency(fields)
    account_type = values.choice(fields, "type", ACCOUNT_TYPES, prefix="ACCOUNT_TYPE_")
    container = values.choice(fields, "container", CONTAINERS, prefix="CONTAINER_", required=False)
    message = pb.Account(
        account_id=account_id, customer_id=values.identifier(fields, "customer_id"),
        authorized_customer_ids=_customer_ids(fields, "authorized_customer_ids"),
        type=pb.AccountType.Value(f"ACCOUNT_TYPE_{account_type}"),
        container=pb.Container.Value(f"CONTAINER_{container or DEFAULT_CONTAINER[account_type]}"),
        currency_code=currency, provider_name=values.text(fields, "provider_name"),
        account_name=values.text(fields, "account_name"), attributes=attributes(fields, ACCOUNT_FIELDS))
    for name in ("current_balance", "available_balance"):
        balance = values.amount(fields, name)
        if balance is not None:
            getattr(message, name).CopyFrom(money(balance, currency))
    open_date = values.calendar_date(fields, "open_date")
    if open_date:
        message.open_date.CopyFrom(_date(open_date))
    return Built(account_id, message)


def transaction(fields: Fields) -> Built:
    transaction_id = values.identifier(fields, "transaction_id")
    account_id = values.identifier(fields, "account_id")
    amount = values.amount(fields, "amount", required=True)
    assert amount is not None
    currency = values.currency(fields)
    direction = values.choice(fields, "direction", DIRECTIONS, prefix="DIRECTION_", required=False)
    if direction and amount < 0:
        raise FieldError("INVALID_AMOUNT", "amount must not be negative when direction is given (it gives the sign)")
    if not direction:
        # A signed amount without a direction, as many bank exports have it.
        if amount == 0:
            raise FieldError("MISSING_FIELD", "direction is required (CREDIT or DEBIT) when the amount is 0")
        direction = "CREDIT" if amount > 0 else "DEBIT"
    posted = timestamp_pb2.Timestamp()
    posted.FromDatetime(values.timestamp(fields, "posted_at"))
    message = pb.Transaction(
        transaction_id=transaction_id, account_id=account_id, amount=money(abs(amount), currency),
        direction=pb.Direction.Value(f"DIRECTION_{direction}"), post_time=posted,
        description=values.text(fields, "description"), category=values.text(fields, "category"))
    running = values.amount(fields, "running_balance")
    if running is not None:
        message.running_balance.CopyFrom(money(running, currency))
    return Built(transaction_id, message)


def balance(fields: Fields) -> Built:
    account_id = values.identifier(fields, "account_id")
    day = values.calendar_date(fields, "date", required=True)
    assert day is not None
    amount = values.amount(fields, "balance", required=True)
    assert amount is not None
    message = pb.DailyBalance(account_id=account_id, date=_date(day), balance=money(amount, values.currency(fields)))
    return Built(f"{account_id}@{day.isoformat()}", message)


BUILDERS: dict[Kind, Callable[[Fields], Built]] = {
    Kind.CUSTOMER: customer, Kind.ACCOUNT: account, Kind.TRANSACTION: transaction, Kind.BALANCE: balance}
# Kinds whose extra fields are not attributes: the names of the fields they know.
STRICT_FIELDS: dict[Kind, frozenset[str]] = {Kind.TRANSACTION: frozenset(TRANSACTION_FIELDS) | RESERVED,
                                             Kind.BALANCE: frozenset(BALANCE_FIELDS) | RESERVED}
KEY_FIELDS = {Kind.CUSTOMER: "customer_id", Kind.ACCOUNT: "account_id", Kind.TRANSACTION: "transaction_id",
              Kind.BALANCE: "account_id"}


def ignored_fields(kind: Kind, names: Iterable[str]) -> set[str]:
    """Fields of a transaction or balance that Engage does not know (customers and accounts keep them as
    attributes)."""
    known = STRICT_FIELDS.get(kind)
    return set() if known is None else {name for name in names if name not in known}


def _plain(value: object) -> str:
    return str(value).strip()[:64] if isinstance(value, str | int) and not isinstance(value, bool) else ""


def record_id(kind: Kind, fields: Fields) -> str:
    """The record's own id as well as it can be read, to name a rejected line ("account@date" for a balance)."""
    found = _plain(fields.get(KEY_FIELDS[kind]))
    day = _plain(fields.get("date")) if kind is Kind.BALANCE else ""
    return f"{found}@{day}" if found and day else found


def read_record(parsed: ParsedFile, line: int, kind: Kind, fields: Fields) -> None:
    """Adds the record to parsed, or its rejection: one bad line never stops the others."""
    ignored = ignored_fields(kind, fields)
    if ignored:
        parsed.ignored_fields.setdefault(kind, set()).update(ignored)
    try:
        built = BUILDERS[kind](fields)
    except FieldError as exc:
        parsed.rejected.append(Rejected(line, kind, record_id(kind, fields), exc.reason, exc.message))
    except (ValueError, OverflowError) as exc:  # e.g. a date-time protobuf cannot hold
        parsed.rejected.append(Rejected(line, kind, record_id(kind, fields), "INVALID_FIELD", str(exc)))
    else:
        parsed.records.append(Record(line, kind, built.key, built.message))
