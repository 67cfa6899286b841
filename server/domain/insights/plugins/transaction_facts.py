"""What EVENT insights see of one ingested transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class TransactionFacts:
    transaction_id: str
    customer_id: str
    account_id: str
    account_container: str
    amount: Decimal  # positive; direction gives the sign
    direction: str  # CREDIT or DEBIT
    currency: str
    posted_at: dt.datetime
    # The account's balance after the transaction: the bank's running balance when sent, else the
    # account's current balance once the batch was stored.
    balance_after: Decimal


def transaction_payload(facts: TransactionFacts) -> dict[str, Any]:
    return {"transaction": {"transactionId": facts.transaction_id, "accountId": facts.account_id,
                            "amount": {"amount": str(facts.amount), "currency": facts.currency},
                            "direction": facts.direction,
                            "balance": {"amount": str(facts.balance_after), "currency": facts.currency}}}
