"""LOW_BALANCE_WARNING: after a transaction, a bank account's balance is below the BALANCE amount.
At most one warning per account and day, however many transactions that day."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from server.domain.events import Posting
from server.domain.ingest.model import Container
from server.domain.insights.definition import (
    EffectiveSubscription,
    EntityType,
    Frequency,
    InsightDefinition,
    InsightType,
    ThresholdDefinition,
    ThresholdType,
    TriggerType,
)
from server.domain.transaction_facts import transaction_payload

NAME = "LOW_BALANCE_WARNING"

DEFINITION = InsightDefinition(
    name=NAME,
    title="Your balance is running low",
    description="Generates an insight when a transaction leaves the balance of a bank account below a threshold "
                "amount.",
    insight_type=InsightType.TRANSACTION,
    trigger_type=TriggerType.EVENT,
    containers=(Container.BANK,),
    applicable_entity=(EntityType.ACCOUNT,),
    frequency=Frequency.DAILY,
    thresholds=(ThresholdDefinition("BALANCE", ThresholdType.AMOUNT, Decimal("0.00"), Decimal("1000000.00"),
                                    Decimal("100.00")),),
)


def period(posting: Posting) -> str:
    return f"{posting.posted_at.date().isoformat()}:{posting.account_id}"


# An enum member's .value is a property lookup: read once, not for every posting.
_BANK = Container.BANK.value


def evaluate(posting: Posting, subscription: EffectiveSubscription) -> dict[str, Any] | None:
    if posting.account_container != _BANK or posting.direction != "DEBIT":
        return None
    if posting.balance_after.amount >= subscription.thresholds["BALANCE"]:
        return None
    return transaction_payload(posting)
