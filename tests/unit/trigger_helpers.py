"""Postings and snapshots for the trigger engine's unit tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from server.domain.events import Money, Posting
from server.domain.ingest.model import Direction
from server.domain.triggers.series import AccountSnapshot

D = Decimal


def at(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def posting(day: dt.date, amount: str | Decimal, balance_after: str | Decimal, transaction_id: str = "t1",
            *, account_id: str = "acc1", customer_id: str = "cus1", hour: int = 12, minute: int = 0) -> Posting:
    signed = D(amount)
    return Posting(transaction_id=transaction_id, account_id=account_id, customer_id=customer_id,
                   account_type="CHECKING", account_container="BANK", amount=Money(signed, "USD"),
                   balance_after=Money(D(balance_after), "USD"), posted_at=at(day, hour, minute),
                   direction=Direction.CREDIT if signed >= 0 else Direction.DEBIT)


def snapshot(balance: str | Decimal = "0", *, account_id: str = "acc1", customer_id: str = "cus1") -> AccountSnapshot:
    return AccountSnapshot(account_id, customer_id, "USD", D(balance), D(balance))
