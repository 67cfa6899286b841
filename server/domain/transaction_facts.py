"""How a feed item shows the posting it is about. Rules read postings themselves
(server.domain.events.Posting): one type from the outbox to every rule."""

from __future__ import annotations

from typing import Any

from server.domain.events import Posting


def transaction_payload(posting: Posting) -> dict[str, Any]:
    return {"transaction": {"transactionId": posting.transaction_id, "accountId": posting.account_id,
                            "amount": {"amount": str(posting.magnitude), "currency": posting.currency},
                            "direction": str(posting.direction),  # a StrEnum: its value, without .value's lookup
                            "balance": {"amount": str(posting.balance_after.amount), "currency": posting.currency}}}
