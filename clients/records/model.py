"""What reading a record file gives: records ready to send and lines rejected with a reason."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from google.protobuf.message import Message


class RecordFileError(ValueError):
    """The file as a whole cannot be read (missing, unknown type, CSV header of no known kind)."""


class Kind(enum.StrEnum):
    # Declared in dependency order: the order in which records are sent.
    CUSTOMER = "customer"
    ACCOUNT = "account"
    TRANSACTION = "transaction"
    BALANCE = "balance"

    @property
    def plural(self) -> str:
        return f"{self.value}s"

    @classmethod
    def parse(cls, text: str) -> Kind:
        """'customer', 'customers', 'Customers' -> Kind.CUSTOMER; ValueError otherwise."""
        name = text.strip().lower()
        return cls(name[:-1] if name.endswith("s") else name)


@dataclass(frozen=True)
class Record:
    line: int
    kind: Kind
    # What identifies it: customer_id, account_id, transaction_id, or "account_id@date" for a balance.
    key: str
    message: Message


@dataclass(frozen=True)
class Rejected:
    line: int
    kind: Kind | None  # None when even the kind could not be read
    record_id: str
    reason: str  # a stable code such as INVALID_AMOUNT
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "kind": self.kind.value if self.kind else None, "id": self.record_id,
                "reason": self.reason, "message": self.message}


@dataclass
class ParsedFile:
    format: str  # "csv" or "jsonl"
    records: list[Record] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    # Fields of transactions and balances that mean nothing to Engage (likely typos): reported, not stored.
    ignored_fields: dict[Kind, set[str]] = field(default_factory=dict)

    def of_kind(self, kind: Kind) -> list[Record]:
        return [r for r in self.records if r.kind is kind]

    def warnings(self) -> list[str]:
        return [f"{kind.plural}: ignored unknown fields {', '.join(sorted(names))}"
                for kind, names in sorted(self.ignored_fields.items()) if names]
