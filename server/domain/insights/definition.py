"""What an insight is: its catalogue entry (definition) and the configuration a bank or user sets."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from server.domain.ingest.model import Container
from server.domain.insights.links import DEFAULT_ACCOUNT_LINK_TEMPLATE


class InsightType(enum.StrEnum):
    AGGREGATE = "AGGREGATE"
    TRANSACTION = "TRANSACTION"
    GOAL = "GOAL"


class TriggerType(enum.StrEnum):
    SCHEDULE = "SCHEDULE"
    EVENT = "EVENT"


class Frequency(enum.StrEnum):
    MONTHLY = "MONTHLY"  # once per calendar month, scheduled on the 1st
    DAILY = "DAILY"
    EACH_EVENT = "EACH_EVENT"  # once per triggering transaction


class Duration(enum.StrEnum):
    LAST_THREE_MONTHS = "LAST_THREE_MONTHS"
    LAST_SIX_MONTHS = "LAST_SIX_MONTHS"
    LAST_TWELVE_MONTHS = "LAST_TWELVE_MONTHS"

    @property
    def months(self) -> int:
        return _DURATION_MONTHS[self.value]


_DURATION_MONTHS = {"LAST_THREE_MONTHS": 3, "LAST_SIX_MONTHS": 6, "LAST_TWELVE_MONTHS": 12}


class ThresholdType(enum.StrEnum):
    PERCENT = "PERCENT"
    AMOUNT = "AMOUNT"
    COUNT = "COUNT"


class EntityType(enum.StrEnum):
    ACCOUNT = "ACCOUNT"
    GOAL = "GOAL"


@dataclass(frozen=True)
class ThresholdDefinition:
    name: str
    type: ThresholdType
    minimum: Decimal
    maximum: Decimal
    default: Decimal


@dataclass(frozen=True)
class InsightDefinition:
    name: str
    title: str
    description: str
    insight_type: InsightType
    trigger_type: TriggerType
    containers: tuple[Container, ...]
    applicable_entity: tuple[EntityType, ...]
    frequency: Frequency
    durations: tuple[Duration, ...] = ()
    default_duration: Duration | None = None
    thresholds: tuple[ThresholdDefinition, ...] = ()
    # Whether a user may configure single accounts (entityId); the reference's insight does not allow it.
    entity_level_configuration: bool = False

    def threshold(self, name: str) -> ThresholdDefinition | None:
        return next((t for t in self.thresholds if t.name == name), None)


@dataclass(frozen=True)
class SubscriptionSettings:
    """What one level (bank default or user override) sets; None means "not set at this level"."""

    is_subscribed: bool | None = None
    insight_title: str | None = None  # bank level only
    duration: Duration | None = None
    thresholds: dict[str, Decimal] = field(default_factory=dict)
    # Bank level only: the URL of an account's link in feed items, with the token {accountId}
    # (server.domain.insights.links).
    account_link_template: str | None = None


@dataclass(frozen=True)
class EffectiveSubscription:
    """The configuration an evaluation uses: the user's value where set, else the bank's, else the
    definition's default. A bank-level is_subscribed=false unsubscribes everyone."""

    insight_name: str
    insight_title: str
    is_subscribed: bool
    duration: Duration | None
    thresholds: dict[str, Decimal]
    account_link_template: str = DEFAULT_ACCOUNT_LINK_TEMPLATE


def effective_subscription(definition: InsightDefinition, bank: SubscriptionSettings | None,
                           user: SubscriptionSettings | None) -> EffectiveSubscription:
    bank = bank or SubscriptionSettings()
    user = user or SubscriptionSettings()
    bank_subscribed = bank.is_subscribed is not False
    subscribed = bank_subscribed and (user.is_subscribed if user.is_subscribed is not None else True)
    thresholds = {t.name: user.thresholds.get(t.name, bank.thresholds.get(t.name, t.default))
                  for t in definition.thresholds}
    return EffectiveSubscription(
        insight_name=definition.name,
        insight_title=bank.insight_title or definition.title,
        is_subscribed=subscribed,
        duration=user.duration or bank.duration or definition.default_duration,
        thresholds=thresholds,
        account_link_template=bank.account_link_template or DEFAULT_ACCOUNT_LINK_TEMPLATE,
    )
