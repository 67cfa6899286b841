"""The state conditions' "true since" rows (TriggerRuntimeRepository.save_series, states_and_last_fired and
series) on both databases: PostgreSQL writes them as arrays joined on the key and reads them in the
evaluation's one statement after its locks, SQLite through SQLAlchemy's statements; the same states, and
the same last firings, come back either way."""

from __future__ import annotations

import datetime as dt
import random

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


async def test_the_states_and_last_firings_read_are_those_of_the_rules_accounts_and_customers_asked(
        services: Services, tenant: str) -> None:
    """Many rules, versions, accounts and customers, some not asked for: the evaluation's read (on PostgreSQL
    probed account by account and customer by customer) gives what a plain reading of the rows written does."""
    shuffler = random.Random(20)
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    rules = [f"rule_{n}" for n in range(6)]
    accounts = [f"acc{n}" for n in range(30)]
    customers = [f"c{n}" for n in range(12)]
    held = {(shuffler.choice(rules), shuffler.randint(1, 3), shuffler.choice(accounts)) for _ in range(120)}
    firings = [FiringRecord(f"f{n}", shuffler.choice(rules), shuffler.randint(1, 3), shuffler.choice(customers),
                            shuffler.choice(accounts), at + dt.timedelta(minutes=shuffler.randint(0, 10_000)), None,
                            f"d{n}") for n in range(150)]
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.trigger_firings.add_firings(firings)
        await uow.trigger_runtime.save_series([], sorted(held), [], at)
        await uow.commit()
    versions = [(rule, version) for rule in rules[:4] for version in (1, 3)]
    asked_accounts, asked_rules, asked_customers = accounts[::2], rules[1:5], customers[:9]
    expected_states = {key for key in held if key[:2] in versions and key[2] in asked_accounts}
    expected_fired: dict[tuple[str, str], dt.datetime] = {}
    for firing in firings:
        key = (firing.rule_id, firing.customer_id)
        if firing.rule_id in asked_rules and firing.customer_id in asked_customers:
            expected_fired[key] = max(expected_fired.get(key, firing.fired_at), firing.fired_at)
    async with UnitOfWork(services.database, tenant) as uow:
        states, last_fired = await uow.trigger_runtime.states_and_last_fired(
            versions, asked_accounts, asked_rules, asked_customers)
        read = await uow.trigger_runtime.series(asked_accounts, at.date(), versions, asked_rules, asked_customers,
                                                scaled=True)
    assert expected_states and expected_fired  # the case reads something
    assert states == read.states == expected_states
    assert last_fired == read.last_fired == expected_fired
