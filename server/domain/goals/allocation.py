"""The calculation "behind the scenes": how a target account's balance is shared among its goals.

Policy. After every posting in the target account (a deposit or a withdrawal) the account's balance is
allocated afresh to its goals:
- the goals that hold money are every goal not ARCHIVED: ACTIVE, PAUSED and ACHIEVED ones alike (a
  paused or achieved goal keeps its money);
- they are filled one by one in order of priority (1 first), then the oldest first (created_at), then by
  goal id, so that the order is total and the result does not depend on the order the goals are read in;
- each takes min(its target, what is left): a goal never holds more than its target, and a goal gets
  nothing until every goal before it is full;
- a balance of zero or less gives every goal 0; what is left after the last goal is unallocated.
Hence a withdrawal releases money from the lowest-priority goals first, and the allocated sum never
exceeds the balance (nor ever leaves money unallocated while a goal is short of its target).

Derived from state, not from deltas: the allocation is a function of the balance and the goals only, not
of the amount that moved. A duplicated posting, a re-run, or events handled out of order give the same
allocation as long as the caller passes the account's balance as committed (the latest posting's balance
after it, or the stored current balance), never a balance moved by adding the event's amount.

Cash flow. Each change of a goal's saved amount between two allocations is a goal cash-flow entry
(`cash_flows`): positive when money went to the goal, negative when it was released.

Achieved. An ACTIVE goal whose allocation reaches its target becomes ACHIEVED (`newly_achieved`), once:
when the balance later dips it stays ACHIEVED (its saved amount may fall), so there is no second
GOAL_ACHIEVED for a dip and a recovery. A PAUSED goal is not marked achieved while paused; it is at the
first allocation after it is resumed, if it is full then.

The calculation after postings runs this rule in SQL on PostgreSQL
(server.store.repositories.goal_cash_flows: a goal's share is min(target, max(0, max(balance, 0) - the
targets of the goals before it))); tests/integration/test_goal_allocation_store.py holds the two equal.

Speed: this runs for every posting of a target account, so it does a handful of Decimal comparisons and
subtractions per goal and nothing else (no rounding, no context changes: amounts have at most 4 decimal
places and 14 whole digits, so every sum and difference is exact).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from server.domain.goals.model import Goal, GoalStatus, mark_achieved

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class CashFlow:
    """A change of one goal's saved amount, and the posting that caused it."""

    goal_id: str
    amount: Decimal  # signed: positive into the goal, negative released from it
    transaction_id: str | None  # None when a goal change, not a posting, moved the money
    at: dt.datetime


def _order_key(goal: Goal) -> tuple[int, dt.datetime, str]:
    return goal.priority, goal.created_at, goal.goal_id


def allocation_order(goals: Sequence[Goal]) -> list[Goal]:
    """The goals that hold money, in the order they are filled."""
    return sorted((g for g in goals if g.status != GoalStatus.ARCHIVED), key=_order_key)


def allocate(balance: Decimal, goals: Sequence[Goal]) -> dict[str, Decimal]:
    """Each participating goal's share of `balance` (goal id -> amount), by the policy above. Archived
    goals are not in the result."""
    remaining = balance if balance > _ZERO else _ZERO
    shares: dict[str, Decimal] = {}
    for goal in allocation_order(goals):
        target = goal.target.amount
        if remaining >= target:
            shares[goal.goal_id] = target
            remaining -= target
        else:
            shares[goal.goal_id] = remaining
            remaining = _ZERO
    return shares


def unallocated(balance: Decimal, shares: Mapping[str, Decimal]) -> Decimal:
    """What of the balance no goal holds (0 for a balance of zero or less)."""
    return (balance if balance > _ZERO else _ZERO) - sum(shares.values(), _ZERO)


def cash_flows(before: Mapping[str, Decimal], after: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Goal id -> the change of its saved amount from `before` to `after` (a goal absent from one is at 0
    there), for the goals whose amount changed only."""
    flows: dict[str, Decimal] = {}
    for goal_id, amount in after.items():
        change = amount - before.get(goal_id, _ZERO)
        if change:
            flows[goal_id] = change
    for goal_id, amount in before.items():
        if goal_id not in after and amount:
            flows[goal_id] = -amount
    return flows


def newly_achieved(goals: Sequence[Goal], after_allocation: Mapping[str, Decimal]) -> list[str]:
    """The ids of the ACTIVE goals that the allocation fills to their target, in allocation order: the
    caller marks them ACHIEVED (model.mark_achieved) and records GOAL_ACHIEVED once."""
    return [
        goal.goal_id
        for goal in allocation_order(goals)
        if goal.status == GoalStatus.ACTIVE and after_allocation.get(goal.goal_id, _ZERO) >= goal.target.amount
    ]


def settle(goals: Sequence[Goal], allocation: Mapping[str, Decimal], at: dt.datetime) -> list[tuple[Goal, bool]]:
    """The goals an allocation changes, as they are after it: each with its new share, the ACTIVE ones it
    fills marked ACHIEVED. True beside a goal: it was achieved now (record GOAL_ACHIEVED once)."""
    achieved = set(newly_achieved(goals, allocation))
    settled = []
    for goal in goals:
        share = allocation.get(goal.goal_id, _ZERO)
        if share == goal.saved and goal.goal_id not in achieved:
            continue
        updated = replace(goal, saved=share)
        if goal.goal_id in achieved:
            updated = mark_achieved(updated, at=at)
        settled.append((updated, goal.goal_id in achieved))
    return settled
