"""LOW_BALANCE_WARNING: after a transaction, a bank account's balance is below the BALANCE amount.
At most one warning per account and day, however many transactions that day."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
from server.domain.transaction_facts import TransactionFacts, transaction_payload

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


def period(facts: TransactionFacts) -> str:
    return f"{facts.posted_at.date().isoformat()}:{facts.account_id}"


def evaluate(facts: TransactionFacts, subscription: EffectiveSubscription) -> dict[str, Any] | None:
    if facts.account_container != Container.BANK.value or facts.direction != "DEBIT":
        return None
    if facts.balance_after >= subscription.thresholds["BALANCE"]:
        return None
    return transaction_payload(facts)
