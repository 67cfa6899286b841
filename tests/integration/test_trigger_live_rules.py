"""The rule set a trigger evaluation uses, kept across batches (LiveRules, docs/triggers.md#when-rules-are-
evaluated): each batch reads only the set's stamp, and sees at once every approval, pause, resume, edit,
archive and attribute definition change committed before it began; an unchanged set is not read again."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from server.bootstrap import Services
from server.domain.auth import Caller, Role
from server.domain.segments.attributes import AttributeType
from server.domain.triggers.rules import Audience, BannerAction, RuleDefinition
from server.services.triggers import live_rules
from server.services.triggers.live_rules import LiveRules
from server.store.repositories.triggers import TriggerRulesRepository
from server.store.uow import UnitOfWork

WEEK = dt.timedelta(days=7)


def _definition(condition: str) -> RuleDefinition:
    return RuleDefinition("Rule", "", Audience.everyone(), condition,
                          (BannerAction("Hi", "There", "See", "https://bank.example/x", WEEK),))


async def test_each_batch_sees_every_change_committed_before_it(services: Services, tenant: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ana = Caller(tenant_id=tenant, subject="ana", role=Role.BANK_ADMIN)
    ben = Caller(tenant_id=tenant, subject="ben", role=Role.BANK_ADMIN)
    rules = services.trigger_rules
    kept = LiveRules()
    full_reads = 0
    active = TriggerRulesRepository.active

    async def counted(self: TriggerRulesRepository) -> object:
        nonlocal full_reads
        full_reads += 1
        return await active(self)

    monkeypatch.setattr(TriggerRulesRepository, "active", counted)

    async def live() -> dict[str, tuple[int, str]]:
        async with UnitOfWork(services.database, tenant) as uow:
            return {r.rule.rule_id: (r.rule.version, r.rule.definition.condition)
                    for r in await kept.of(uow, dt.datetime.now(dt.UTC))}

    await rules.create_rule(ana, "low", _definition("balance < 100"))
    await rules.submit(ana, "low")
    assert await live() == {}
    await rules.approve(ben, "low")
    assert await live() == {"low": (1, "balance < 100")}
    reads = full_reads
    assert await live() == {"low": (1, "balance < 100")}
    assert full_reads == reads  # unchanged: only the stamp read

    await rules.pause(ana, "low")
    assert await live() == {}
    await rules.resume(ana, "low")
    assert await live() == {"low": (1, "balance < 100")}
    await rules.update_rule(ana, "low", lambda d: dataclasses.replace(d, condition="balance < 50"))
    assert await live() == {}  # the edit awaits approval
    await rules.approve(ben, "low")
    assert await live() == {"low": (2, "balance < 50")}

    # An attribute definition change recompiles the conditions (a default is read at parse).
    await services.personas.create_definition(ana, "tier", AttributeType.STRING, (), None, "")
    await rules.create_rule(ana, "gold", _definition("tier = 'gold' AND balance > 10"))
    await rules.submit(ana, "gold")
    await rules.approve(ben, "gold")
    assert set(await live()) == {"low", "gold"}
    async with UnitOfWork(services.database, tenant) as uow:
        (_, definitions) = await kept.with_definitions(uow, dt.datetime.now(dt.UTC))
    assert [d.default for d in definitions if d.name == "tier"] == [None]
    await services.personas.update_definition(ana, "tier", None, None, change_default=True, default="gold")
    async with UnitOfWork(services.database, tenant) as uow:
        (_, definitions) = await kept.with_definitions(uow, dt.datetime.now(dt.UTC))
    assert [d.default for d in definitions if d.name == "tier"] == ["gold"]

    await rules.archive(ana, "low")
    assert set(await live()) == {"gold"}


async def test_a_warm_up_compiles_each_tenants_live_rules_before_its_first_batch(
        services: Services, tenant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server warms up at start (Services.warm_up, docs/triggers.md#latency): its first live batch finds
    the rules compiled and compiles nothing on its banner's path."""
    ana = Caller(tenant_id=tenant, subject="ana", role=Role.BANK_ADMIN)
    ben = Caller(tenant_id=tenant, subject="ben", role=Role.BANK_ADMIN)
    await services.trigger_rules.create_rule(ana, "low", _definition("balance < 100"))
    await services.trigger_rules.submit(ana, "low")
    await services.trigger_rules.approve(ben, "low")
    evaluation = services.trigger_evaluation
    await evaluation.warm_up([tenant])

    def no_compiling(*args: object) -> None:
        raise AssertionError("compiled on the batch's path")

    monkeypatch.setattr(live_rules, "compile_rule", no_compiling)
    async with UnitOfWork(services.database, tenant) as uow:
        assert [r.rule.rule_id for r in await evaluation._rules.of(uow, dt.datetime.now(dt.UTC))] == ["low"]
