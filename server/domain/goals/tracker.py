"""GOAL_TRACKER figures: one line per goal with its progress, the period's goal cash flow and where the
customer's own pace takes it. Pure and cheap (a tracker run builds a hundred thousand lines).

Per goal:
 - percent: saved / target * 100, rounded half-up to one decimal place, within 0..100. 100.0 means the
   target is reached: a goal short of it shows at most 99.9 (99.96 % is not "done"), and saving beyond the
   target still shows 100.0.
 - period_cash_flow: the sum of the goal's cash-flow entries in the tracker's period (allocation changes:
   deposits in, withdrawals out), as the caller read them; 0 without any.
 - projected_completion: forecast.py's expected date at the account's mean pace, counting the goals ahead
   of this one in the allocation order first (their money arrives first); today for a goal already at
   its target; None "not at this pace" (a pace ≤ 0, or beyond the forecast horizon) and for an archived
   goal, which takes no part in the allocation.
 - on_track: None without a target date (or archived); else whether projected_completion is on or before
   it (forecast.on_track: a goal at its target is on track).

tracker() takes one account's goals in the allocation order (allocation.allocation_order: priority,
then oldest), so that each goal's "ahead" is the money the goals before it still miss; an archived goal
passed along is left out of that sum and gets a line without a projection. model.Goal is a TrackedGoal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from server.domain.goals.forecast import SavingPace, completion_date, months_to_save

ARCHIVED = "ARCHIVED"
ZERO = Decimal(0)
HUNDRED = Decimal(100)
FULL = Decimal("100.0")
ALMOST_FULL = Decimal("99.9")
TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class TrackerLine:
    goal_id: str
    name: str
    status: str
    saved: Decimal
    target: Decimal
    percent: Decimal
    period_cash_flow: Decimal
    target_date: dt.date | None
    months_needed: int | None
    projected_completion: dt.date | None
    on_track: bool | None


def progress_percent(saved: Decimal, target: Decimal) -> Decimal:
    """saved / target as a percentage with one decimal, 0.0..100.0; 100.0 only once saved ≥ target."""
    if saved >= target:
        return FULL
    if saved <= 0:
        return ZERO.quantize(TENTH)
    return min((saved * HUNDRED / target).quantize(TENTH, rounding=ROUND_HALF_UP), ALMOST_FULL)


def tracker_line(
    goal_id: str,
    name: str,
    status: str,
    saved: Decimal,
    target: Decimal,
    target_date: dt.date | None,
    period_cash_flow: Decimal,
    pace: SavingPace,
    today: dt.date,
    ahead: Decimal = ZERO,
) -> TrackerLine:
    """One goal's line. `status` is the goal's GoalStatus; `ahead` what the goals before it in the
    allocation order still miss."""
    months_needed: int | None = None
    projected: dt.date | None = None
    on_track: bool | None = None
    if status != ARCHIVED:
        remaining = target - saved
        if remaining > 0:
            months_needed = months_to_save(ahead + remaining, pace.monthly)
            projected = completion_date(today, months_needed)
            if projected is None:
                months_needed = None
            if target_date is not None:
                on_track = projected is not None and projected <= target_date
        else:
            months_needed, projected = 0, today
            if target_date is not None:
                on_track = True
    return TrackerLine(
        goal_id=goal_id,
        name=name,
        status=status,
        saved=saved,
        target=target,
        percent=progress_percent(saved, target),
        period_cash_flow=period_cash_flow,
        target_date=target_date,
        months_needed=months_needed,
        projected_completion=projected,
        on_track=on_track,
    )


class _Amount(Protocol):
    @property
    def amount(self) -> Decimal: ...


class TrackedGoal(Protocol):
    """What the tracker reads of a goal (model.Goal has it)."""

    @property
    def goal_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def saved(self) -> Decimal: ...
    @property
    def target(self) -> _Amount: ...
    @property
    def target_date(self) -> dt.date | None: ...


def tracker(
    goals: Iterable[TrackedGoal], period_cash_flows: Mapping[str, Decimal], pace: SavingPace, today: dt.date
) -> list[TrackerLine]:
    """The lines of one customer's goals (one account's pace), `goals` in the allocation order;
    `period_cash_flows` by goal id (a goal without entries in the period: 0)."""
    lines = []
    ahead = ZERO
    for goal in goals:
        target = goal.target.amount
        line = tracker_line(
            goal.goal_id,
            goal.name,
            goal.status,
            goal.saved,
            target,
            goal.target_date,
            period_cash_flows.get(goal.goal_id, ZERO),
            pace,
            today,
            ahead,
        )
        lines.append(line)
        if goal.status != ARCHIVED and goal.saved < target:
            ahead += target - goal.saved
    return lines
