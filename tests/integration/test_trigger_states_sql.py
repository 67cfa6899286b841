"""The state conditions' "true since" rows (TriggerRuntimeRepository.save_series, states_and_last_fired and
series) on both databases: PostgreSQL writes them as arrays joined on the key and reads them in the
evaluation's one statement after its locks, SQLite through SQLAlchemy's statements; the same states, and
the same last firings, come back either way."""

from __future__ import annotations

import datetime as dt

from server.bootstrap import Services
from server.domain.triggers.records import FiringRecord
from server.store.repositories.trigger_runtime import StateKey
from server.store.uow import UnitOfWork

VERSIONS = [("rule_a", 1), ("rule_a", 2), ("rule_b", 2)]
ACCOUNTS = [f"acc{n}" for n in range(6)]


async def _states(services: Services, tenant: str) -> set[StateKey]:
    async with UnitOfWork(services.database, tenant) as uow:
        states = (await uow.trigger_runtime.states_and_last_fired(VERSIONS, ACCOUNTS, [], []))[0]
        assert (await uow.trigger_runtime.series(ACCOUNTS, dt.date(2026, 1, 1), VERSIONS, [], [])).states == states
        return states


async def test_states_become_true_and_false_as_written(services: Services, tenant: str) -> None:
    now = dt.datetime.now(dt.UTC)
    held: set[StateKey] = {("rule_a", 1, f"acc{n}") for n in range(5)} | {("rule_b", 2, "acc0"), ("rule_a", 2, "acc0")}
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.trigger_runtime.save_series([], sorted(held), [], now)
        await uow.commit()
    assert await _states(services, tenant) == held
    async with UnitOfWork(services.database, tenant) as uow:
        # One already true (kept once), one new; two that held and one that never did become false.
        await uow.trigger_runtime.save_series([], [("rule_a", 1, "acc0"), ("rule_a", 1, "acc5")],
                                              [("rule_a", 1, "acc1"), ("rule_b", 2, "acc0"), ("rule_b", 1, "acc0")],
                                              now)
        await uow.commit()
    assert await _states(services, tenant) == (held - {("rule_a", 1, "acc1"), ("rule_b", 2, "acc0")}) | {
        ("rule_a", 1, "acc5")}
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.trigger_runtime.save_series([], [], [("rule_a", 2, "acc0")], now)
        # not committed: the unit of work rolls back
    assert ("rule_a", 2, "acc0") in await _states(services, tenant)


async def test_the_last_firing_of_each_rule_and_customer_any_version(services: Services, tenant: str) -> None:
    at = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    firings = [FiringRecord(f"f{n}", rule, version, customer, "acc0", at + dt.timedelta(hours=n), None, f"d{n}")
               for n, (rule, version, customer) in enumerate([("rule_a", 1, "c1"), ("rule_a", 2, "c1"),
                                                              ("rule_b", 2, "c2"), ("rule_c", 1, "c1")])]
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.trigger_firings.add_firings(firings)
        await uow.trigger_runtime.save_series([], [("rule_a", 1, "acc0")], [], at)
        await uow.commit()
    expected = {("rule_a", "c1"): at + dt.timedelta(hours=1), ("rule_b", "c2"): at + dt.timedelta(hours=2)}
    async with UnitOfWork(services.database, tenant) as uow:
        states, last_fired = await uow.trigger_runtime.states_and_last_fired(
            VERSIONS, ACCOUNTS, ["rule_a", "rule_b"], ["c1", "c2", "c3"])
        read = await uow.trigger_runtime.series(ACCOUNTS, at.date(), VERSIONS, ["rule_a", "rule_b"],
                                                ["c1", "c2", "c3"])
    assert last_fired == read.last_fired == expected
    assert states == read.states == {("rule_a", 1, "acc0")}
