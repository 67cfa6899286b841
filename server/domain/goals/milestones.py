"""Goal milestones: when a goal's saved amount crosses a significant point, said once.

The bank's policy (MilestonePolicy) names the points: percentages of a goal's target (25, 50, 75 and 100
by default), an optional amount step per goal (every 1,000 saved towards it, say), and an optional amount
step for all the customer's goals together (every 5,000 saved across them). Saved amounts are those of
the latest allocation (allocation.py); ARCHIVED goals count for nothing.

Once, even across dips. Each milestone has a stable key (`percent:50`, `amount:1000`, `all:5000`) that the
caller keeps per goal (and per customer for `all:`) once the milestone is announced. A key stands for its
milestone and every lower one of its kind: the highest reached value of a kind is a high-water mark, and
only a milestone above it is new. So a balance that dips below 50% and recovers does not announce 50%
again, and a bank that later adds a 60% point does not announce it to a goal already past 75%.

One per kind at a time. When one posting crosses several points of a kind (a deposit from 10% to 80%
crosses 25, 50 and 75), the result is the highest of them (75%) only: that is the news, and it is what
the customer is told; the lower ones are reached by implication. This also keeps what is stored
bounded: a small amount step on a large goal would otherwise make one key per step. One posting may
still give a goal a percentage and an amount milestone, and the customer an all-goals one.

Targets. Percentages are of the goal's current target. A goal's keys stay when its target changes, so a
raised target does not announce the percentages passed before again.

Validation: MILESTONE_POLICY_INVALID (INVALID_ARGUMENT) when the percentages are not whole numbers
strictly increasing within 1..100, or a step is not a positive storable amount.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import NoReturn

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.goals.model import Goal, GoalStatus
from server.domain.money import AmountError, to_scaled

DEFAULT_PERCENTAGES = (25, 50, 75, 100)
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class MilestoneKind(enum.StrEnum):
    PERCENT = "PERCENT"  # of one goal's target
    AMOUNT = "AMOUNT"  # saved towards one goal
    ALL_GOALS_AMOUNT = "ALL_GOALS_AMOUNT"  # saved across all the customer's goals


_PREFIX = {MilestoneKind.PERCENT: "percent", MilestoneKind.AMOUNT: "amount", MilestoneKind.ALL_GOALS_AMOUNT: "all"}
_KIND_OF_PREFIX = {prefix: kind for kind, prefix in _PREFIX.items()}


@dataclass(frozen=True, slots=True)
class MilestonePolicy:
    """The bank's milestones; checked when made."""

    percentages: tuple[int, ...] = DEFAULT_PERCENTAGES
    amount_step: Decimal | None = None
    all_goals_amount_step: Decimal | None = None

    def __post_init__(self) -> None:
        values = self.percentages
        if not all(type(p) is int and 1 <= p <= 100 for p in values) or any(
            a >= b for a, b in itertools.pairwise(values)
        ):
            _invalid("percentages", "whole numbers strictly increasing within 1..100")
        for name in ("amount_step", "all_goals_amount_step"):
            step = getattr(self, name)
            if step is not None and not _positive_storable(step):
                _invalid(name, "a positive amount with at most 4 decimal places")


@dataclass(frozen=True, slots=True)
class Milestone:
    kind: MilestoneKind
    goal_id: str | None  # None for ALL_GOALS_AMOUNT
    value: Decimal  # the percentage, or the amount

    @property
    def key(self) -> str:
        """Stable text to remember the milestone by: `percent:50`, `amount:1000`, `all:5000`."""
        return f"{_PREFIX[self.kind]}:{format(self.value.normalize(), 'f')}"


@dataclass(frozen=True, slots=True)
class ReachedMilestones:
    """The keys announced so far: per goal, and the customer's all-goals ones."""

    per_goal: Mapping[str, frozenset[str]] = field(default_factory=dict)
    customer: frozenset[str] = frozenset()

    def record(self, milestones: Iterable[Milestone]) -> ReachedMilestones:
        per_goal = {goal_id: set(keys) for goal_id, keys in self.per_goal.items()}
        customer = set(self.customer)
        for milestone in milestones:
            if milestone.goal_id is None:
                customer.add(milestone.key)
            else:
                per_goal.setdefault(milestone.goal_id, set()).add(milestone.key)
        return ReachedMilestones({goal_id: frozenset(keys) for goal_id, keys in per_goal.items()}, frozenset(customer))


def parse_key(key: str) -> tuple[MilestoneKind, Decimal] | None:
    """A key's kind and value; None for text that is not a milestone key."""
    prefix, _, number = key.partition(":")
    kind = _KIND_OF_PREFIX.get(prefix)
    if kind is None:
        return None
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    return (kind, value) if value.is_finite() else None


def high_water(keys: Iterable[str], kind: MilestoneKind) -> Decimal | None:
    """The highest value of `kind` among the keys: every milestone of that kind up to it is reached."""
    values = [parsed[1] for parsed in map(parse_key, keys) if parsed is not None and parsed[0] == kind]
    return max(values) if values else None


def new_milestones(
    policy: MilestonePolicy,
    goals: Sequence[Goal],
    reached: ReachedMilestones,
    *,
    saved: Mapping[str, Decimal] | None = None,
) -> list[Milestone]:
    """The milestones crossed now and above every one reached before, at most one per goal and kind (the
    highest), then the customer's all-goals one. `saved`: goal id -> its amount after the latest
    allocation (allocation.allocate); a goal absent from it, or every goal without it, counts its `saved`.
    The caller announces them and records them (ReachedMilestones.record) in the same transaction."""
    found: list[Milestone] = []
    total = _ZERO
    for goal in goals:
        if goal.status == GoalStatus.ARCHIVED:
            continue
        amount = saved.get(goal.goal_id, goal.saved) if saved is not None else goal.saved
        if amount <= _ZERO:
            continue
        total += amount
        keys = reached.per_goal.get(goal.goal_id, frozenset())
        percent = _highest_percentage(policy.percentages, amount, goal.target.amount)
        if percent is not None:
            found += _if_new(Milestone(MilestoneKind.PERCENT, goal.goal_id, Decimal(percent)), keys)
        if policy.amount_step is not None:
            found += _if_new(_highest_step(MilestoneKind.AMOUNT, goal.goal_id, amount, policy.amount_step), keys)
    if policy.all_goals_amount_step is not None and total > _ZERO:
        step = _highest_step(MilestoneKind.ALL_GOALS_AMOUNT, None, total, policy.all_goals_amount_step)
        found += _if_new(step, reached.customer)
    return found


def _highest_percentage(percentages: Sequence[int], amount: Decimal, target: Decimal) -> int | None:
    # amount * 100 >= p * target, without dividing (exact for every stored amount).
    if target <= _ZERO:
        return None
    scaled = amount * _HUNDRED
    crossed = [p for p in percentages if scaled >= p * target]
    return crossed[-1] if crossed else None


def _highest_step(kind: MilestoneKind, goal_id: str | None, amount: Decimal, step: Decimal) -> Milestone | None:
    steps = amount // step  # amount > 0: whole steps, rounded down
    return Milestone(kind, goal_id, steps * step) if steps >= 1 else None


def _if_new(milestone: Milestone | None, keys: frozenset[str]) -> list[Milestone]:
    if milestone is None:
        return []
    mark = high_water(keys, milestone.kind)
    return [milestone] if mark is None or milestone.value > mark else []


def _positive_storable(step: object) -> bool:
    if not isinstance(step, Decimal) or not step.is_finite() or step <= _ZERO:
        return False
    try:
        to_scaled(step)
    except AmountError:
        return False
    return True


def _invalid(name: str, description: str) -> NoReturn:
    raise InvalidArgument(
        "MILESTONE_POLICY_INVALID",
        f"milestone {name}: {description}",
        violations=[FieldViolation(f"milestone_policy.{name}", description)],
    )
