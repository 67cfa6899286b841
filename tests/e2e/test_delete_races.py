"""A delete and a save naming the same persona at the same moment, on PostgreSQL (SQLite has one write
lock for the whole database, so the two cannot overlap there): whichever holds the persona's row first
wins, and the other sees what it did. The transaction in the middle is opened by hand and left open
until the other call waits on its lock (read from pg_stat_activity, not from a clock)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import grpc
import pytest
from sqlalchemy import text

from engage.personas.v1 import personas_service_pb2 as pb
from engage.triggers.v1 import trigger_rules_service_pb2 as tpb
from server.domain.auth import Role
from server.domain.triggers.rules import (
    Audience,
    AudienceKind,
    BankNotificationAction,
    RuleDefinition,
    RuleStatus,
    TriggerRule,
)
from server.services.references import hold_named, refuse_persona_delete
from server.store.uow import UnitOfWork
from tests.e2e.test_deletes_in_use import refusal, rule_for
from tests.support.builders import failure

# Also on SQLite: this path goes through SQLite's own store code (tests/conftest.py).
pytestmark = pytest.mark.sqlite_too


@pytest.fixture
def postgres_only(settings: Any) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite takes one write lock for the database: a delete and a save never overlap")


async def _until_a_call_waits_on_a_lock(database: Any) -> None:
    while True:
        async with database.sessions() as session:
            waiting = await session.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"))
        if waiting:
            return
        await asyncio.sleep(0.01)


async def _create_saver(server: Any, tenant: str) -> Any:
    admin = server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana"))
    await admin.personas.CreateAttributeDefinition(pb.CreateAttributeDefinitionRequest(
        attribute_definition_id="IsSaver", attribute_definition=pb.AttributeDefinition(type=pb.ATTRIBUTE_TYPE_BOOL)))
    await admin.personas.CreatePersona(pb.CreatePersonaRequest(persona_id="saver", persona=pb.Persona(
        display_name="Saver", expression="IsSaver")))
    return admin


async def test_a_delete_waits_for_a_save_holding_the_persona_and_sees_it(server, tenant, postgres_only):
    admin = await _create_saver(server, tenant)
    database = server.services.database
    now = dt.datetime.now(dt.UTC)
    async with UnitOfWork(database, tenant) as uow:  # a trigger rule's save, between its check and its commit
        await hold_named(uow, personas=["saver"])
        await uow.trigger_rules.add(TriggerRule(
            "savers", RuleDefinition("Savers", "", Audience(AudienceKind.PERSONA, reference_id="saver"),
                                     "balance < 50", (BankNotificationAction("call"),)),
            RuleStatus.DRAFT, 1, "ana", "ana", now, now))
        delete = asyncio.ensure_future(refusal(admin.personas.DeletePersona(
            pb.DeletePersonaRequest(name="personas/saver"))))
        await _until_a_call_waits_on_a_lock(database)
        await uow.commit()
    assert await delete == ("PERSONA_IN_USE", {"persona": "saver", "trigger_rules": "savers"})
    await admin.close()


async def test_a_save_waits_for_a_delete_holding_the_persona_and_finds_it_gone(server, tenant, postgres_only):
    admin = await _create_saver(server, tenant)
    database = server.services.database
    async with UnitOfWork(database, tenant) as uow:  # DeletePersona, between its check and its commit
        await refuse_persona_delete(uow, "saver")
        assert await uow.personas.delete("saver")
        save = asyncio.ensure_future(failure(admin.trigger_rules.CreateTriggerRule(tpb.CreateTriggerRuleRequest(
            trigger_rule_id="savers", trigger_rule=rule_for(tpb.TriggerAudience(persona="personas/saver"))))))
        await _until_a_call_waits_on_a_lock(database)
        await uow.commit()
    assert (await save)[:2] == (grpc.StatusCode.FAILED_PRECONDITION, "TRIGGER_RULE_REFERENCE_UNKNOWN")
    await admin.close()
