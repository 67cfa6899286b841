"""LARGE_DEPOSIT and LARGE_WITHDRAWAL: one transaction of at least the AMOUNT threshold into or out
of an account. One insight per transaction."""

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


def period(posting: Posting) -> str:
    return f"txn:{posting.transaction_id}"


def _large(direction: str, posting: Posting, subscription: EffectiveSubscription) -> dict[str, Any] | None:
    if posting.direction != direction or posting.magnitude < subscription.thresholds["AMOUNT"]:
        return None
    return transaction_payload(posting)


def evaluate_deposit(posting: Posting, subscription: EffectiveSubscription) -> dict[str, Any] | None:
    return _large("CREDIT", posting, subscription)


def evaluate_withdrawal(posting: Posting, subscription: EffectiveSubscription) -> dict[str, Any] | None:
    return _large("DEBIT", posting, subscription)
