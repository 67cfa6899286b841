"""The stored allocation of a target account: each goal's `saved` recalculated from the account's
balance (server.domain.goals.allocation), inside the caller's unit of work.

Goal management calls it after a goal is created, changed or archived; the calculation after postings
(tracking.py) does the same with the cash flows and milestones of each posting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from server.domain import resource_names
from server.domain.goals.allocation import allocate, settle
from server.domain.goals.history import achieved_entry
from server.services.goals.tracking import SERVICE_ACTOR_ID
from server.store.uow import UnitOfWork


async def reallocate_account(uow: UnitOfWork, account_id: str, *, at: dt.datetime,
                             balance: Decimal | None = None) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Allocates the account's balance to its goals that are not archived, stores each changed `saved`,
    and marks the ACTIVE goals it fills ACHIEVED (a GOAL_ACHIEVED entry each, by SERVICE, as after a
    posting). `balance`: the balance as committed by the caller; None reads the account's current
    balance. Returns (before, after): goal id -> saved amount, archived goals absent from both."""
    await uow.goals.hold_accounts([account_id])
    goals = (await uow.goals.of_accounts([account_id])).get(account_id, [])
    if balance is None:
        account = await uow.accounts.get(account_id)
        balance = (account.current_balance if account is not None else None) or Decimal(0)
    before = {goal.goal_id: goal.saved for goal in goals}
    status_before = {goal.goal_id: goal.status.value for goal in goals}
    after = allocate(balance, goals)
    moved: dict[str, Decimal] = {}
    for goal, achieved in settle(goals, after, at):
        if achieved:
            await uow.goals.update(goal, at)
            await uow.goal_history.append(goal.customer_id, achieved_entry(
                goal.goal_id, status_before[goal.goal_id], SERVICE_ACTOR_ID, at),
                resource=resource_names.GOAL.format(goal.customer_id, goal.goal_id))
        else:
            moved[goal.goal_id] = goal.saved
    await uow.goals.set_saved(moved, at)
    return before, after
