"""What the bank feeds us: customers, accounts, holdings, transactions and end-of-day balances."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple


class AccountType(enum.StrEnum):
    CHECKING = "CHECKING"
    SAVINGS = "SAVINGS"
    CREDIT = "CREDIT"
    LOAN = "LOAN"
    INVESTMENT = "INVESTMENT"
    OTHER = "OTHER"
    GIFT_CARD = "GIFT_CARD"  # a stored-value card: its balance is what is left to spend
    PREPAID_CARD = "PREPAID_CARD"


class Container(enum.StrEnum):
    BANK = "BANK"
    INVESTMENT = "INVESTMENT"
    CREDIT_CARD = "CREDIT_CARD"
    LOAN = "LOAN"


class Direction(enum.StrEnum):
    CREDIT = "CREDIT"  # money in
    DEBIT = "DEBIT"  # money out


class TransactionStatus(enum.StrEnum):
    """Where a transaction stands at the bank (docs/services/ingest.md#transaction-status). Only BOOKED
    transactions are postings: they move balances and every consumer sees them. PENDING (an
    authorization not yet booked) and DECLINED ones are kept apart and move nothing; a PENDING one
    becomes BOOKED or DECLINED when the bank sends the same transaction id again with that status."""

    BOOKED = "BOOKED"
    PENDING = "PENDING"
    DECLINED = "DECLINED"


class HoldingKind(enum.StrEnum):
    LOAN = "LOAN"
    CARD = "CARD"
    INSURANCE = "INSURANCE"
    OVERDRAFT_PROTECTION = "OVERDRAFT_PROTECTION"
    OTHER = "OTHER"


@dataclass
class Customer:
    customer_id: str
    attributes: dict[str, str] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass
class Account:
    account_id: str
    customer_id: str
    type: AccountType
    container: Container
    currency: str
    provider_name: str = ""
    account_name: str = ""
    # None on an upsert means "keep what is stored" (0 for a new account).
    current_balance: Decimal | None = None
    available_balance: Decimal | None = None
    open_date: dt.date | None = None
    authorized_customer_ids: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class AccountHolder(NamedTuple):
    """Whose an account is and what kind, as read with its balance when a batch locks it."""

    customer_id: str
    type: str
    container: str


@dataclass
class Holding:
    holding_id: str
    kind: HoldingKind
    customer_id: str | None = None
    account_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    start_date: dt.date | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Transaction:
    transaction_id: str
    account_id: str
    amount: Decimal  # never negative: direction gives the sign
    currency: str
    direction: Direction
    posted_at: dt.datetime
    description: str = ""
    category: str = ""
    running_balance: Decimal | None = None
    ingested_at: dt.datetime | None = None
    status: TransactionStatus = TransactionStatus.BOOKED

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.direction is Direction.CREDIT else -self.amount


@dataclass(slots=True)
class IncomingTransaction:
    """A transaction as a batch brings it, before it is stored. Money is already in storage units
    (whole ten-thousandths, see server.domain.money), so the ingestion hot path does no Decimal
    arithmetic per row; an amount that cannot be stored exactly is None with the reason beside it.
    Fields the bank left out are None (direction, posted_at) for validation to name."""

    transaction_id: str
    account_id: str
    amount: int | None  # never negative once valid: direction gives the sign
    currency: str
    direction: Direction | None
    posted_at: dt.datetime | None
    description: str = ""
    category: str = ""
    running_balance: int | None = None
    amount_error: str = ""  # why amount cannot be stored exactly ("" when it can)
    running_balance_error: str = ""
    status: TransactionStatus = TransactionStatus.BOOKED

    @property
    def signed_amount(self) -> int:
        assert self.amount is not None
        return self.amount if self.direction is Direction.CREDIT else -self.amount


@dataclass
class DailyBalance:
    account_id: str
    date: dt.date
    balance: Decimal
    currency: str


@dataclass(frozen=True)
class Rejection:
    """One row the bank sent that was not stored, with a stable reason code."""

    index: int
    item_id: str
    reason: str
    message: str


@dataclass
class BatchOutcome:
    accepted: int = 0
    duplicate: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    accepted_ids: list[str] = field(default_factory=list)
