"""Parses the Berka .asc files (semicolon-separated, quoted strings, YYMMDD dates) into typed rows.

Pure: no gRPC. A row that cannot be read is kept as a RowRejection with its line number instead of
stopping the import: real feeds end mid-row now and then (trans.asc here does)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from clients.berka.balances import Posting

FILES = ("district.asc", "client.asc", "disp.asc", "account.asc", "trans.asc", "loan.asc", "card.asc")
CREDIT_TYPES = frozenset({"PRIJEM"})
DEBIT_TYPES = frozenset({"VYDAJ", "VYBER"})

T = TypeVar("T")


class MissingFile(FileNotFoundError):
    """The directory lacks one of the data set's files."""


class BadField(ValueError):
    """A field that does not hold what its column promises."""


@dataclass(frozen=True)
class RowRejection:
    file: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}: {self.code}: {self.message}"


@dataclass(frozen=True)
class District:
    district_id: str
    name: str
    region: str


@dataclass(frozen=True)
class Client:
    client_id: str
    birth_date: dt.date
    gender: str  # "female" or "male", from the birth number's month
    district_id: str


@dataclass(frozen=True)
class Disposition:
    disp_id: str
    client_id: str
    account_id: str
    type: str  # OWNER or DISPONENT


@dataclass(frozen=True)
class BankAccount:
    account_id: str
    district_id: str
    frequency: str  # statement frequency, in Czech as in the file
    opened: dt.date


@dataclass(frozen=True)
class TransactionRow:
    trans_id: str
    account_id: str
    day: dt.date
    type: str  # PRIJEM credit, VYDAJ debit, VYBER cash withdrawal
    operation: str
    amount: Decimal  # positive; type gives the sign
    balance: Decimal  # the bank's running balance after the row
    k_symbol: str
    partner_bank: str
    partner_account: str

    @property
    def is_credit(self) -> bool:
        return self.type in CREDIT_TYPES

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.is_credit else -self.amount

    def posting(self) -> Posting:
        return Posting(account_id=self.account_id, day=self.day, transaction_id=self.trans_id,
                       signed_amount=self.signed_amount, balance=self.balance)


@dataclass(frozen=True)
class Loan:
    loan_id: str
    account_id: str
    granted: dt.date
    amount: Decimal
    duration_months: int
    monthly_payment: Decimal
    status: str  # A finished OK, B finished unpaid, C running OK, D running in debt


@dataclass(frozen=True)
class Card:
    card_id: str
    disp_id: str
    type: str  # junior, classic, gold
    issued: dt.date


@dataclass
class BerkaData:
    districts: dict[str, District]
    clients: list[Client]
    dispositions: list[Disposition]
    accounts: list[BankAccount]
    transactions: list[TransactionRow]
    loans: list[Loan]
    cards: list[Card]
    rejections: list[RowRejection] = field(default_factory=list)


def parse_date(text: str) -> dt.date:
    """YYMMDD (cards add ' 00:00:00'); every date of the data set is in the 1900s."""
    digits = text.strip()[:6]
    if len(digits) != 6 or not digits.isdigit():
        raise BadField(f"'{text}' is not a YYMMDD date")
    try:
        return dt.date(1900 + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError as exc:
        raise BadField(f"'{text}' is not a real date") from exc


def parse_birth_number(text: str) -> tuple[dt.date, str]:
    """YYMMDD where women have 50 added to the month -> (birth date, gender)."""
    digits = text.strip()
    if len(digits) != 6 or not digits.isdigit():
        raise BadField(f"birth number '{text}' is not YYMMDD")
    month = int(digits[2:4])
    gender = "female" if month > 50 else "male"
    return parse_date(f"{digits[:2]}{month % 50:02d}{digits[4:]}"), gender


def parse_amount(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise BadField(f"'{text}' is not a number") from exc
    if not value.is_finite():
        raise BadField(f"'{text}' is not a finite number")
    return value


def parse_int(text: str) -> int:
    if not text.strip().lstrip("-").isdigit():
        raise BadField(f"'{text}' is not a whole number")
    return int(text)


def _id(text: str) -> str:
    value = text.strip()
    if not value:
        raise BadField("an id is empty")
    return value


def _district(f: list[str]) -> District:
    return District(district_id=_id(f[0]), name=f[1].strip(), region=f[2].strip())


def _client(f: list[str]) -> Client:
    birth_date, gender = parse_birth_number(f[1])
    return Client(client_id=_id(f[0]), birth_date=birth_date, gender=gender, district_id=_id(f[2]))


def _disposition(f: list[str]) -> Disposition:
    return Disposition(disp_id=_id(f[0]), client_id=_id(f[1]), account_id=_id(f[2]), type=f[3].strip())


def _account(f: list[str]) -> BankAccount:
    return BankAccount(account_id=_id(f[0]), district_id=_id(f[1]), frequency=f[2].strip(), opened=parse_date(f[3]))


def _transaction(f: list[str]) -> TransactionRow:
    row_type = f[3].strip()
    if row_type not in CREDIT_TYPES | DEBIT_TYPES:
        raise BadField(f"type '{row_type}' is none of PRIJEM, VYDAJ, VYBER")
    amount = parse_amount(f[5])
    if amount < 0:
        raise BadField(f"amount {amount} is negative")
    return TransactionRow(trans_id=_id(f[0]), account_id=_id(f[1]), day=parse_date(f[2]), type=row_type,
                          operation=f[4].strip(), amount=amount, balance=parse_amount(f[6]),
                          k_symbol=f[7].strip(), partner_bank=f[8].strip(), partner_account=f[9].strip())


def _loan(f: list[str]) -> Loan:
    return Loan(loan_id=_id(f[0]), account_id=_id(f[1]), granted=parse_date(f[2]), amount=parse_amount(f[3]),
                duration_months=parse_int(f[4]), monthly_payment=parse_amount(f[5]), status=f[6].strip())


def _card(f: list[str]) -> Card:
    return Card(card_id=_id(f[0]), disp_id=_id(f[1]), type=f[2].strip(), issued=parse_date(f[3]))


def read_rows(text: str, file_name: str, parse: Callable[[list[str]], T],
              rejections: list[RowRejection]) -> Iterator[T]:
    """Parses every row after the header; rows that cannot be read go to `rejections`."""
    lines = text.splitlines()
    complete_last_line = text.endswith(("\n", "\r"))
    if not lines:
        return
    width = len(next(csv.reader([lines[0]], delimiter=";")))
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = next(csv.reader([line], delimiter=";"))
        is_last = number == len(lines)
        if len(fields) < width:
            cut = " (the file ends mid-row)" if is_last and not complete_last_line else ""
            rejections.append(RowRejection(file_name, number, "TRUNCATED_ROW",
                                           f"row has {len(fields)} of {width} fields{cut}: {line!r}"))
            continue
        if len(fields) > width:
            rejections.append(RowRejection(file_name, number, "INVALID_ROW",
                                           f"row has {len(fields)} fields, the header {width}: {line!r}"))
            continue
        try:
            yield parse(fields)
        except BadField as exc:
            rejections.append(RowRejection(file_name, number, "INVALID_ROW", f"{exc}: {line!r}"))


def _load(directory: Path, file_name: str, parse: Callable[[list[str]], T],
          rejections: list[RowRejection]) -> list[T]:
    text = (directory / file_name).read_text(encoding="ascii", errors="replace")
    return list(read_rows(text, file_name, parse, rejections))


def check_files(directory: Path) -> None:
    """Raises MissingFile naming the first file the directory lacks."""
    if not directory.is_dir():
        raise MissingFile(f"{directory} is not a directory")
    for file_name in FILES:
        if not (directory / file_name).is_file():
            raise MissingFile(f"{directory} has no {file_name}")


def read_berka(directory: Path) -> BerkaData:
    check_files(directory)
    rejections: list[RowRejection] = []
    districts = _load(directory, "district.asc", _district, rejections)
    return BerkaData(
        districts={d.district_id: d for d in districts},
        clients=_load(directory, "client.asc", _client, rejections),
        dispositions=_load(directory, "disp.asc", _disposition, rejections),
        accounts=_load(directory, "account.asc", _account, rejections),
        transactions=_load(directory, "trans.asc", _transaction, rejections),
        loans=_load(directory, "loan.asc", _loan, rejections),
        cards=_load(directory, "card.asc", _card, rejections),
        rejections=rejections)
