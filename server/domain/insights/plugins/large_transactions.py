"""LARGE_DEPOSIT and LARGE_WITHDRAWAL: one transaction of at least the AMOUNT threshold into or out
of an account. One insight per transaction."""

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

_AMOUNT = ThresholdDefinition("AMOUNT", ThresholdType.AMOUNT, Decimal("0.01"), Decimal("100000000.00"),
                              Decimal("1000.00"))


def _definition(name: str, title: str, description: str) -> InsightDefinition:
    return InsightDefinition(
        name=name, title=title, description=description, insight_type=InsightType.TRANSACTION,
        trigger_type=TriggerType.EVENT, containers=(Container.BANK, Container.CREDIT_CARD, Container.INVESTMENT),
        applicable_entity=(EntityType.ACCOUNT,), frequency=Frequency.EACH_EVENT, thresholds=(_AMOUNT,))


DEPOSIT = _definition("LARGE_DEPOSIT", "Large deposit received",
                      "Generates an insight when a single deposit is at least the threshold amount.")
WITHDRAWAL = _definition("LARGE_WITHDRAWAL", "Large withdrawal made",
                         "Generates an insight when a single withdrawal or payment is at least the threshold amount.")


def period(facts: TransactionFacts) -> str:
    return f"txn:{facts.transaction_id}"


def _large(direction: str, facts: TransactionFacts, subscription: EffectiveSubscription) -> dict[str, Any] | None:
    if facts.direction != direction or facts.amount < subscription.thresholds["AMOUNT"]:
        return None
    return transaction_payload(facts)


def evaluate_deposit(facts: TransactionFacts, subscription: EffectiveSubscription) -> dict[str, Any] | None:
    return _large("CREDIT", facts, subscription)


def evaluate_withdrawal(facts: TransactionFacts, subscription: EffectiveSubscription) -> dict[str, Any] | None:
    return _large("DEBIT", facts, subscription)
