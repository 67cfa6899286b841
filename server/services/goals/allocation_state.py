"""The stored allocation of a target account: each goal's `saved` recalculated from the account's
balance (server.domain.goals.allocation), inside the caller's unit of work.

One function for every caller: goal management after a goal is created, changed or archived, and the
tracking after each posting (which adds the cash-flow entries and milestones around it)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from server.domain.goals.allocation import allocate
from server.store.uow import UnitOfWork


async def reallocate_account(uow: UnitOfWork, account_id: str, *, at: dt.datetime,
                             balance: Decimal | None = None) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Allocates the account's balance to its goals that are not archived and stores each changed
    `saved`. `balance`: the balance as committed by the caller's posting; None reads the account's
    current balance. Returns (before, after): goal id -> saved amount, archived goals absent from both."""
    goals = (await uow.goals.of_accounts([account_id])).get(account_id, [])
    if balance is None:
        account = await uow.accounts.get(account_id)
        balance = (account.current_balance if account is not None else None) or Decimal(0)
    before = {goal.goal_id: goal.saved for goal in goals}
    after = allocate(balance, goals)
    await uow.goals.set_saved({goal_id: amount for goal_id, amount in after.items() if before.get(goal_id) != amount},
                              at)
    return before, after
