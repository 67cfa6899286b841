"""A savings goal and the rules for creating and changing one.

A goal lives in the customer's target account (the account chosen at enrolment) and its target is in
that account's currency. Its `saved` amount is not kept by adding deposits: it is the goal's share of
the account's balance (allocation.py), recalculated after every posting.

Validation (every failure INVALID_ARGUMENT unless said):
| code | when |
| --- | --- |
| GOAL_NAME_INVALID | a name empty, only spaces, or over 80 characters |
| GOAL_TARGET_NOT_POSITIVE | a target of zero or less |
| INVALID_AMOUNT | a target that is not a storable amount (more than 4 decimals, too large) |
| GOAL_CURRENCY_MISMATCH | a target in another currency than the target account's |
| GOAL_TARGET_DATE_NOT_FUTURE | a target date today or earlier (checked on create, and on a change of it) |
| GOAL_PRIORITY_INVALID | a priority outside 1..100 (1 is the most important) |
| TOO_MANY_ACTIVE_GOALS (FAILED_PRECONDITION) | a goal becoming ACTIVE (created, resumed, reopened) at the limit |
| GOAL_ARCHIVED (FAILED_PRECONDITION) | any change to an archived goal |

Statuses. ACTIVE: being saved for. PAUSED: the customer paused it; it keeps its money (and its place in
the allocation) but is not marked achieved while paused. ACHIEVED: its saved amount reached the target
once; it stays ACHIEVED when the balance later dips (no second GOAL_ACHIEVED), but raising its target
reopens it as ACTIVE. ARCHIVED (DeleteGoal): final; its money goes back to the other goals.
A change may set the status to ACTIVE or PAUSED only: ACHIEVED is reached by saving, ARCHIVED by
archiving. Setting an ACHIEVED goal back to ACTIVE is the customer's choice: if it is still full, the
next allocation achieves it again. Only ACTIVE goals count against the limit of active goals.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace
from decimal import Decimal

from server.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument
from server.domain.events import Money
from server.domain.money import AmountError, to_scaled

MAX_NAME_LENGTH = 80
MIN_PRIORITY = 1
MAX_PRIORITY = 100
DEFAULT_MAX_ACTIVE_GOALS = 10


class GoalCategory(enum.StrEnum):
    EMERGENCY = "EMERGENCY"
    TRAVEL = "TRAVEL"
    HOME = "HOME"
    EDUCATION = "EDUCATION"
    CAR = "CAR"
    WEDDING = "WEDDING"
    RETIREMENT = "RETIREMENT"
    CUSTOM = "CUSTOM"


class GoalStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    ACHIEVED = "ACHIEVED"
    PAUSED = "PAUSED"
    ARCHIVED = "ARCHIVED"


# What a change (UpdateGoal) may set the status to.
SETTABLE_STATUSES = frozenset({GoalStatus.ACTIVE, GoalStatus.PAUSED})
# The fields a change may touch (UpdateGoal's update_mask, GOAL_EDITED history); the rest are the goal's
# identity or kept by the calculation.
EDITABLE_FIELDS = ("name", "category", "target", "target_date", "priority", "status")
_FIXED_FIELDS = ("goal_id", "customer_id", "account_id", "created_at", "archived_at")


@dataclass(frozen=True, slots=True)
class Goal:
    goal_id: str
    customer_id: str
    account_id: str
    name: str
    category: GoalCategory
    target: Money
    target_date: dt.date | None
    priority: int  # 1 is the most important: it is filled first
    status: GoalStatus
    saved: Decimal  # its share of the account's balance at the last recalculation
    created_at: dt.datetime
    achieved_at: dt.datetime | None = None
    archived_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class GoalDraft:
    """What a customer chooses for a new goal."""

    name: str
    category: GoalCategory
    target: Money
    target_date: dt.date | None = None
    priority: int = MIN_PRIORITY


def validate_new_goal(
    draft: GoalDraft,
    *,
    account_currency: str,
    today: dt.date,
    active_goals: int,
    max_active_goals: int = DEFAULT_MAX_ACTIVE_GOALS,
) -> None:
    """`active_goals`: how many of the customer's goals are ACTIVE now; `today` in the bank's calendar."""
    _check_name(draft.name)
    _check_target(draft.target, account_currency)
    if draft.target_date is not None:
        _check_target_date(draft.target_date, today)
    _check_priority(draft.priority)
    _check_room_for_active(active_goals, max_active_goals)


def new_goal(draft: GoalDraft, *, goal_id: str, customer_id: str, account_id: str, at: dt.datetime) -> Goal:
    """A validated draft as a new ACTIVE goal with nothing saved yet (the next allocation fills it)."""
    return Goal(
        goal_id=goal_id,
        customer_id=customer_id,
        account_id=account_id,
        name=draft.name.strip(),
        category=draft.category,
        target=draft.target,
        target_date=draft.target_date,
        priority=draft.priority,
        status=GoalStatus.ACTIVE,
        saved=Decimal(0),
        created_at=at,
    )


def validate_goal_change(
    before: Goal,
    after: Goal,
    *,
    account_currency: str,
    today: dt.date,
    active_goals: int,
    max_active_goals: int = DEFAULT_MAX_ACTIVE_GOALS,
) -> Goal:
    """Checks `after` (the stored goal with the update's fields applied) against `before` and returns the goal
    to store: a name stripped, and an ACHIEVED goal whose target was raised reopened as ACTIVE. Only the
    changed fields are checked, so an old goal whose target date has passed can still be renamed.
    `active_goals`: how many of the customer's goals are ACTIVE now (`before` among them if it is).

    After a change of target, priority or status the caller runs the allocation again."""
    if any(getattr(before, name) != getattr(after, name) for name in _FIXED_FIELDS):
        raise ValueError("a change may not touch a goal's identity, account or times")
    if before.status == GoalStatus.ARCHIVED:
        raise FailedPrecondition(
            "GOAL_ARCHIVED",
            f"goal '{before.goal_id}' is archived and cannot be changed",
            metadata={"goal_id": before.goal_id},
        )
    if after.name != before.name:
        _check_name(after.name)
        after = replace(after, name=after.name.strip())
    if after.target != before.target:
        _check_target(after.target, account_currency)
    if after.target_date != before.target_date and after.target_date is not None:
        _check_target_date(after.target_date, today)
    if after.priority != before.priority:
        _check_priority(after.priority)
    if after.status != before.status and after.status not in SETTABLE_STATUSES:
        raise InvalidArgument(
            "INVALID_ENUM",
            "a goal's status may be set to ACTIVE or PAUSED only",
            violations=[FieldViolation("goal.status", "ACTIVE or PAUSED")],
        )
    if (
        before.status == GoalStatus.ACHIEVED
        and after.status == GoalStatus.ACHIEVED
        and after.target.amount > before.target.amount
    ):
        after = replace(after, status=GoalStatus.ACTIVE, achieved_at=None)
    if after.status == GoalStatus.ACTIVE and before.status != GoalStatus.ACTIVE:
        _check_room_for_active(active_goals, max_active_goals)
    return after


def mark_achieved(goal: Goal, *, at: dt.datetime) -> Goal:
    return replace(goal, status=GoalStatus.ACHIEVED, achieved_at=at)


def archive(goal: Goal, *, at: dt.datetime) -> Goal:
    """DeleteGoal. Its saved amount drops to 0 at once: an archived goal takes no part in the allocation."""
    if goal.status == GoalStatus.ARCHIVED:
        raise FailedPrecondition(
            "GOAL_ARCHIVED", f"goal '{goal.goal_id}' is archived already", metadata={"goal_id": goal.goal_id}
        )
    return replace(goal, status=GoalStatus.ARCHIVED, archived_at=at, saved=Decimal(0))


def _check_name(name: str) -> None:
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            "GOAL_NAME_INVALID",
            f"a goal needs a name of 1-{MAX_NAME_LENGTH} characters",
            violations=[FieldViolation("goal.name", f"1-{MAX_NAME_LENGTH} characters")],
        )


def _check_target(target: Money, account_currency: str) -> None:
    if not target.amount.is_finite() or target.amount <= 0:
        raise InvalidArgument(
            "GOAL_TARGET_NOT_POSITIVE",
            "a goal's target must be more than zero",
            violations=[FieldViolation("goal.target", "must be more than zero")],
        )
    try:
        to_scaled(target.amount)
    except AmountError as exc:
        raise InvalidArgument("INVALID_AMOUNT", str(exc), violations=[FieldViolation("goal.target", str(exc))]) from exc
    if target.currency != account_currency:
        raise InvalidArgument(
            "GOAL_CURRENCY_MISMATCH",
            f"a goal's target must be in its account's currency {account_currency}, not {target.currency}",
            violations=[FieldViolation("goal.target.currency_code", f"must be {account_currency}")],
        )


def _check_target_date(target_date: dt.date, today: dt.date) -> None:
    if target_date <= today:
        raise InvalidArgument(
            "GOAL_TARGET_DATE_NOT_FUTURE",
            f"a goal's target date must be after {today}",
            violations=[FieldViolation("goal.target_date", f"must be after {today}")],
        )


def _check_priority(priority: int) -> None:
    if isinstance(priority, bool) or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise InvalidArgument(
            "GOAL_PRIORITY_INVALID",
            f"a goal's priority must be {MIN_PRIORITY}-{MAX_PRIORITY}",
            violations=[FieldViolation("goal.priority", f"{MIN_PRIORITY} (most important) to {MAX_PRIORITY}")],
        )


def _check_room_for_active(active_goals: int, max_active_goals: int) -> None:
    if active_goals >= max_active_goals:
        raise FailedPrecondition(
            "TOO_MANY_ACTIVE_GOALS",
            f"a customer may have at most {max_active_goals} active goals",
            metadata={"max_active_goals": str(max_active_goals)},
        )
