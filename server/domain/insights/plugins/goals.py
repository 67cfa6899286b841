"""The goals insights: GOAL_MILESTONE (EVENT: a goal crossed one of the bank's milestones), GOAL_TRACKER
(SCHEDULE: each goal's progress, the period's goal cash flow and where the customer's own pace takes it)
and GOAL_AT_RISK (SCHEDULE: a goal will miss its target date at the current pace, with the figures).

The bank configures them as it configures every insight: GOAL_MILESTONE's thresholds are the bank's
milestone policy (server.domain.goals.milestones) — PERCENT_STEP 25 means 25, 50, 75 and 100 % of a goal's
target; AMOUNT_STEP and ALL_GOALS_AMOUNT_STEP (0: none) are steps of money saved towards one goal and
across all the customer's goals — and the SCHEDULE insights' duration is how many recent complete months
the pace is read from. A customer receives them while enrolled and ACTIVE (not paused), with the goal
setting of the insight on, and subscribed to it (bank default or their own choice)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from server.domain.goals.forecast import SavingPace, at_risk, forecast_completion, saving_pace
from server.domain.goals.milestones import Milestone, MilestoneKind, MilestonePolicy
from server.domain.goals.model import Goal, GoalStatus
from server.domain.goals.tracker import TrackerLine, progress_percent, tracker
from server.domain.ingest.model import Container
from server.domain.insights.definition import (
    Duration,
    EffectiveSubscription,
    EntityType,
    Frequency,
    InsightDefinition,
    InsightType,
    ThresholdDefinition,
    ThresholdType,
    TriggerType,
)

MILESTONE = "GOAL_MILESTONE"
TRACKER = "GOAL_TRACKER"
AT_RISK = "GOAL_AT_RISK"
_ZERO = Decimal(0)
_PACE_DURATIONS = (Duration.LAST_THREE_MONTHS, Duration.LAST_SIX_MONTHS, Duration.LAST_TWELVE_MONTHS)

MILESTONE_DEFINITION = InsightDefinition(
    name=MILESTONE,
    title="Goal milestone reached",
    description="Generates an insight when a savings goal reaches one of the bank's milestones: a percentage of "
                "its target, or an amount saved towards it or across all the customer's goals. Each once.",
    insight_type=InsightType.GOAL,
    trigger_type=TriggerType.EVENT,
    containers=(Container.BANK,),
    applicable_entity=(EntityType.GOAL,),
    frequency=Frequency.EACH_EVENT,
    thresholds=(
        ThresholdDefinition("PERCENT_STEP", ThresholdType.PERCENT, Decimal("1"), Decimal("100"), Decimal("25")),
        ThresholdDefinition("AMOUNT_STEP", ThresholdType.AMOUNT, Decimal("0"), Decimal("100000000.00"), Decimal("0")),
        ThresholdDefinition("ALL_GOALS_AMOUNT_STEP", ThresholdType.AMOUNT, Decimal("0"), Decimal("100000000.00"),
                            Decimal("0")),
    ),
)

TRACKER_DEFINITION = InsightDefinition(
    name=TRACKER,
    title="Your goals this month",
    description="Each savings goal's progress: saved, target, percent, the month's goal cash flow, and the "
                "completion date the customer's own recent saving pace projects.",
    insight_type=InsightType.GOAL,
    trigger_type=TriggerType.SCHEDULE,
    containers=(Container.BANK,),
    applicable_entity=(EntityType.GOAL,),
    frequency=Frequency.MONTHLY,
    durations=_PACE_DURATIONS,
    default_duration=Duration.LAST_SIX_MONTHS,
)

AT_RISK_DEFINITION = InsightDefinition(
    name=AT_RISK,
    title="A goal is at risk",
    description="Generates an insight when a goal with a target date will miss it at the customer's recent "
                "saving pace, with the monthly amount that would still make it.",
    insight_type=InsightType.GOAL,
    trigger_type=TriggerType.SCHEDULE,
    containers=(Container.BANK,),
    applicable_entity=(EntityType.GOAL,),
    frequency=Frequency.MONTHLY,
    durations=_PACE_DURATIONS,
    default_duration=Duration.LAST_SIX_MONTHS,
)


def milestone_policy(subscription: EffectiveSubscription) -> MilestonePolicy:
    """The bank's milestone policy from GOAL_MILESTONE's thresholds: every PERCENT_STEP percent up to 100
    (100 always), the amount steps when above 0."""
    step = int(subscription.thresholds.get("PERCENT_STEP", Decimal(25)))
    percentages = tuple(sorted({*range(step, 101, step), 100})) if step >= 1 else (100,)
    amount = subscription.thresholds.get("AMOUNT_STEP", _ZERO)
    all_goals = subscription.thresholds.get("ALL_GOALS_AMOUNT_STEP", _ZERO)
    return MilestonePolicy(percentages, amount if amount > 0 else None, all_goals if all_goals > 0 else None)


def milestone_period(milestone: Milestone) -> str:
    """One item per goal and milestone (per customer for an all-goals one): never announced twice."""
    return f"goal:{milestone.goal_id}:{milestone.key}" if milestone.goal_id else f"goals:{milestone.key}"


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount), "currency": currency}


def _goal_fields(goal: Goal, saved: Decimal) -> dict[str, Any]:
    return {"goalId": goal.goal_id, "name": goal.name, "category": goal.category.value,
            "saved": _money(saved, goal.target.currency), "target": _money(goal.target.amount, goal.target.currency),
            "percent": str(progress_percent(saved, goal.target.amount)),
            "targetDate": goal.target_date.isoformat() if goal.target_date else None}


def evaluate_milestone(milestone: Milestone, goals: Sequence[Goal], saved: dict[str, Decimal],
                       subscription: EffectiveSubscription) -> dict[str, Any]:
    """The feed item's content for a milestone just reached (new_milestones found it: it is news)."""
    currency = goals[0].target.currency if goals else ""
    content: dict[str, Any] = {"milestone": {"key": milestone.key, "kind": milestone.kind.value,
                                             "value": str(milestone.value)}}
    if milestone.goal_id is None:
        total = sum((saved.get(g.goal_id, _ZERO) for g in goals if g.status != GoalStatus.ARCHIVED), _ZERO)
        content["changeValue"] = [{"changeType": MilestoneKind.ALL_GOALS_AMOUNT.value,
                                   "changeAmount": _money(total, currency), "changePercent": ""}]
        return content
    goal = next(g for g in goals if g.goal_id == milestone.goal_id)
    amount = saved.get(goal.goal_id, goal.saved)
    content["goal"] = _goal_fields(goal, amount)
    content["changeValue"] = [{"changeType": f"GOAL_{milestone.kind.value}",
                               "changeAmount": _money(amount, goal.target.currency),
                               "changePercent": str(progress_percent(amount, goal.target.amount))}]
    return content


@dataclass(frozen=True, slots=True)
class GoalsCustomer:
    """What the SCHEDULE goals insights read of one enrolled customer: the goals in allocation order, the
    target account's net saving per recent complete month (oldest first, as many as the longest
    duration asks; each insight uses its own last months), and each goal's cash flow in the period."""

    customer_id: str
    account_id: str
    currency: str
    goals: tuple[Goal, ...]
    monthly_net_saving: tuple[Decimal, ...]
    period_cash_flows: dict[str, Decimal]
    today: dt.date


def _pace(customer: GoalsCustomer, subscription: EffectiveSubscription) -> SavingPace:
    months = subscription.duration.months if subscription.duration else 6
    return saving_pace(customer.monthly_net_saving[-months:])


def tracker_lines(customer: GoalsCustomer, subscription: EffectiveSubscription) -> tuple[SavingPace, list[TrackerLine]]:
    pace = _pace(customer, subscription)
    return pace, tracker(customer.goals, customer.period_cash_flows, pace, customer.today)


def evaluate_tracker(customer: GoalsCustomer, subscription: EffectiveSubscription) -> dict[str, Any] | None:
    """GOAL_TRACKER's content: one line per goal; None without goals."""
    if not customer.goals:
        return None
    pace, lines = tracker_lines(customer, subscription)
    currency = customer.currency
    return {
        "accountId": customer.account_id,
        "monthlyPace": _money(pace.monthly, currency),
        "goals": [{"goalId": line.goal_id, "name": line.name, "status": line.status,
                   "saved": _money(line.saved, currency), "target": _money(line.target, currency),
                   "percent": str(line.percent), "periodCashFlow": _money(line.period_cash_flow, currency),
                   "targetDate": line.target_date.isoformat() if line.target_date else None,
                   "projectedCompletion": line.projected_completion.isoformat() if line.projected_completion else None,
                   "onTrack": line.on_track} for line in lines],
        "changeValue": [{"changeType": "GOAL_PROGRESS", "changeAmount": _money(line.saved, currency),
                         "changePercent": str(line.percent)} for line in lines],
    }


def evaluate_at_risk(customer: GoalsCustomer, subscription: EffectiveSubscription) -> dict[str, Any] | None:
    """GOAL_AT_RISK's content: the goals that will miss their target date at the current pace, each with
    the figures the verdict came from; None when no goal is at risk."""
    pace = _pace(customer, subscription)
    currency = customer.currency
    ahead = _ZERO
    risks = []
    for goal in customer.goals:
        target = goal.target.amount
        forecast = forecast_completion(goal.saved, target, pace, customer.today, ahead)
        if goal.saved < target:
            ahead += target - goal.saved
        risk = at_risk(forecast, goal.target_date)
        if risk is None:
            continue
        risks.append({
            "goalId": goal.goal_id, "name": goal.name, "targetDate": risk.target_date.isoformat(),
            "expectedDate": risk.expected.isoformat() if risk.expected else None,
            "pace": _money(risk.pace, currency), "remaining": _money(risk.remaining, currency),
            "ahead": _money(risk.ahead, currency), "toSave": _money(risk.to_save, currency),
            "monthsLeft": risk.months_left, "monthlyNeeded": _money(risk.monthly_needed, currency),
            "shortfall": _money(risk.shortfall, currency)})
    if not risks:
        return None
    return {"accountId": customer.account_id, "goals": risks,
            "changeValue": [{"changeType": "GOAL_SHORTFALL", "changeAmount": r["shortfall"], "changePercent": ""}
                            for r in risks]}
