"""What rules see of one posting: the posting as committed and the kind of account it moved. The one
type behind EVENT insights and transaction alerts (and the real-time triggers to come)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from server.domain.events import Posting


@dataclass(frozen=True, slots=True)
class TransactionFacts:
    transaction_id: str
    account_id: str
    customer_id: str
    account_type: str  # CHECKING, SAVINGS, ... (server.domain.ingest.model.AccountType)
    account_container: str  # BANK, CREDIT_CARD, ... (server.domain.ingest.model.Container)
    amount: Decimal  # never negative: direction gives the sign
    direction: str  # CREDIT or DEBIT
    currency: str
    posted_at: dt.datetime
    balance_after: Decimal  # the account's current balance right after the posting, as committed
    category: str = ""
    description: str = ""

    @classmethod
    def of(cls, posting: Posting) -> TransactionFacts:
        return cls(posting.transaction_id, posting.account_id, posting.customer_id, posting.account_type,
                   posting.account_container,
                   posting.magnitude, posting.direction.value, posting.amount.currency, posting.posted_at,
                   posting.balance_after.amount, posting.category, posting.description)


def transaction_payload(facts: TransactionFacts) -> dict[str, Any]:
    """How a feed item shows the transaction it is about."""
    return {"transaction": {"transactionId": facts.transaction_id, "accountId": facts.account_id,
                            "amount": {"amount": str(facts.amount), "currency": facts.currency},
                            "direction": facts.direction,
                            "balance": {"amount": str(facts.balance_after), "currency": facts.currency}}}
