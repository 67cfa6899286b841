"""The insight catalogue: every insight is one plugin (its definition and a pure evaluation function)
registered here with one line."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from server.domain.events import Posting
from server.domain.goals.milestones import Milestone
from server.domain.goals.model import Goal
from server.domain.insights.definition import EffectiveSubscription, InsightDefinition, TriggerType
from server.domain.insights.plugins import goals, large_transactions, low_balance, savings_increased

Payload = dict[str, Any]


@dataclass(frozen=True)
class EventPlugin:
    """Evaluated on each ingested transaction of a subscribed user."""

    definition: InsightDefinition
    evaluate: Callable[[Posting, EffectiveSubscription], Payload | None]
    period: Callable[[Posting], str]


@dataclass(frozen=True)
class MonthEndBalancesPlugin:
    """A SCHEDULE insight evaluated from each eligible account's balance and month-end balances."""

    definition: InsightDefinition
    evaluate: Callable[[list[savings_increased.SavingsAccount], EffectiveSubscription], Payload | None]


@dataclass(frozen=True)
class GoalMilestonePlugin:
    """An EVENT insight of the goal calculation (server.services.goals.tracking), not of single postings:
    evaluated on each milestone that a recalculation after postings finds new."""

    definition: InsightDefinition
    evaluate: Callable[[Milestone, Sequence[Goal], dict[str, Decimal], EffectiveSubscription], Payload]


@dataclass(frozen=True)
class GoalsPlugin:
    """A SCHEDULE insight evaluated from each enrolled customer's goals and their account's recent months."""

    definition: InsightDefinition
    evaluate: Callable[[goals.GoalsCustomer, EffectiveSubscription], Payload | None]


Plugin = EventPlugin | MonthEndBalancesPlugin | GoalMilestonePlugin | GoalsPlugin
ScheduledPlugin = MonthEndBalancesPlugin | GoalsPlugin


@dataclass(frozen=True)
class Catalogue:
    plugins: tuple[Plugin, ...]

    @property
    def definitions(self) -> tuple[InsightDefinition, ...]:
        return tuple(p.definition for p in self.plugins)

    def get(self, name: str) -> InsightDefinition | None:
        return next((d for d in self.definitions if d.name == name), None)

    def plugin(self, name: str) -> Plugin | None:
        return next((p for p in self.plugins if p.definition.name == name), None)

    def __iter__(self) -> Iterator[InsightDefinition]:
        return iter(self.definitions)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.definitions]

    def scheduled(self) -> list[ScheduledPlugin]:
        return [p for p in self.plugins if isinstance(p, MonthEndBalancesPlugin | GoalsPlugin)
                and p.definition.trigger_type is TriggerType.SCHEDULE]

    def event_driven(self) -> list[EventPlugin]:
        return [p for p in self.plugins if isinstance(p, EventPlugin)]

    def goal_milestones(self) -> GoalMilestonePlugin | None:
        return next((p for p in self.plugins if isinstance(p, GoalMilestonePlugin)), None)


def default_catalogue() -> Catalogue:
    return Catalogue((
        MonthEndBalancesPlugin(savings_increased.DEFINITION, savings_increased.evaluate),
        EventPlugin(low_balance.DEFINITION, low_balance.evaluate, low_balance.period),
        EventPlugin(large_transactions.DEPOSIT, large_transactions.evaluate_deposit, large_transactions.period),
        EventPlugin(large_transactions.WITHDRAWAL, large_transactions.evaluate_withdrawal, large_transactions.period),
        GoalMilestonePlugin(goals.MILESTONE_DEFINITION, goals.evaluate_milestone),
        GoalsPlugin(goals.TRACKER_DEFINITION, goals.evaluate_tracker),
        GoalsPlugin(goals.AT_RISK_DEFINITION, goals.evaluate_at_risk),
    ))
