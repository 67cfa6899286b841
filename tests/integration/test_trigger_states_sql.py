"""The state conditions' "true since" rows (TriggerRuntimeRepository.change_states and states) on both
databases: PostgreSQL writes them as arrays joined on the key, SQLite through SQLAlchemy's statements;
the same states come back either way."""

from __future__ import annotations

import datetime as dt

from server.bootstrap import Services
from server.store.repositories.trigger_runtime import StateKey
from server.store.uow import UnitOfWork

VERSIONS = [("rule_a", 1), ("rule_a", 2), ("rule_b", 2)]
ACCOUNTS = [f"acc{n}" for n in range(6)]


async def _states(services: Services, tenant: str) -> set[StateKey]:
    async with UnitOfWork(services.database, tenant) as uow:
        return await uow.trigger_runtime.states(VERSIONS, ACCOUNTS)


async def test_states_become_true_and_false_as_written(services: Services, tenant: str) -> None:
    now = dt.datetime.now(dt.UTC)
    held: set[StateKey] = {("rule_a", 1, f"acc{n}") for n in range(5)} | {("rule_b", 2, "acc0"), ("rule_a", 2, "acc0")}
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.trigger_runtime.change_states(sorted(held), [], now)
        await uow.commit()
    assert await _states(services, tenant) == held
    async with UnitOfWork(services.database, tenant) as uow:
        # One already true (kept once), one new; two that held and one that never did become false.
        await uow.trigger_runtime.change_states([("rule_a", 1, "acc0"), ("rule_a", 1, "acc5")],
                                                [("rule_a", 1, "acc1"), ("rule_b", 2, "acc0"), ("rule_b", 1, "acc0")],
                                                now)
        await uow.commit()
    assert await _states(services, tenant) == (held - {("rule_a", 1, "acc1"), ("rule_b", 2, "acc0")}) | {
        ("rule_a", 1, "acc5")}
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.trigger_runtime.change_states([], [("rule_a", 2, "acc0")], now)
        # not committed: the unit of work rolls back
    assert ("rule_a", 2, "acc0") in await _states(services, tenant)
