"""Personas through gRPC: expressions checked when saved (with the position of a fault), membership of
one customer evaluated in memory (IsMember, ExplainMembership) and the members listed by the compiled SQL
(ListMembers), on both databases; the two agree."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2
from sqlalchemy import select

from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.personas.v1 import personas_service_pb2 as pb
from server.domain.auth import Role
from server.services import personas as personas_service
from server.store.models import DomainEventRow
from server.store.personas_models import PersonaMemberRow
from tests.e2e.test_personas_attributes import definition
from tests.integration.test_domain_events import run_worker_until_idle
from tests.support.builders import account, customer, error_details, failure

# Also on SQLite: this path goes through SQLite's own store code (tests/conftest.py).
pytestmark = pytest.mark.sqlite_too

# Its canonical text: what the persona keeps and answers with.
GLOBETROTTER = "IsGlobetrotter = true AND income > 5000 AND NOT holds('LOAN')"


async def _set_up(server, tenant, service_stubs):  # type: ignore[no-untyped-def]
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        await admin.personas.CreateAttributeDefinition(definition(
            "IsGlobetrotter", pb.ATTRIBUTE_TYPE_BOOL, default=pb.AttributeValue(bool_value=False)))
        await admin.personas.CreateAttributeDefinition(definition("income", pb.ATTRIBUTE_TYPE_DECIMAL))
        await admin.personas.CreateAttributeDefinition(definition("risk", pb.ATTRIBUTE_TYPE_ENUM, "LOW", "HIGH"))
    people = {  # customer: (IsGlobetrotter, income); c3 holds a loan (below)
        "c1": (True, "5200"), "c2": (True, "5000"), "c3": (True, "9000"), "c4": (None, "9000"), "c5": (True, None),
        "c6": (True, "5000.0001")}
    for customer_id, (traveller, income) in people.items():
        await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer(customer_id)))
        values = {}
        if traveller is not None:
            values["IsGlobetrotter"] = pb.AttributeValue(bool_value=traveller)
        if income is not None:
            values["income"] = pb.AttributeValue(decimal_value=income)
        await service_stubs.personas.UpdateCustomerAttributes(pb.UpdateCustomerAttributesRequest(
            name=f"customers/{customer_id}/attributes", values=values))
    # c3's loan is on their account, not on them: it counts.
    await service_stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(account=account("a3", "c3")))
    await service_stubs.ingest.BatchUpsertHoldings(ipb.BatchUpsertHoldingsRequest(holdings=[
        ipb.Holding(holding_id="h1", kind=ipb.HOLDING_KIND_LOAN, account_id="a3"),
        ipb.Holding(holding_id="h2", kind=ipb.HOLDING_KIND_CARD, customer_id="c1")]))
    return people


async def _members(stubs, persona: str, page_size: int = 0) -> list[str]:  # type: ignore[no-untyped-def]
    found, token = [], ""
    while True:
        page = await stubs.personas.ListMembers(pb.ListMembersRequest(persona=persona, page_size=page_size,
                                                                      page_token=token))
        found += [name.removeprefix("customers/") for name in page.customers]
        token = page.next_page_token
        if not token:
            return found


async def test_a_persona_is_saved_and_its_members_listed_and_explained(server, tenant, service_stubs):
    people = await _set_up(server, tenant, service_stubs)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        persona = await admin.personas.CreatePersona(pb.CreatePersonaRequest(
            persona_id="globetrotter", persona=pb.Persona(
                display_name="Globetrotter", description="customer looking to travel",
            expression="IsGlobetrotter and income>5000 and not holds('LOAN')")))
        assert persona.name == "personas/globetrotter"
        assert persona.expression == GLOBETROTTER
        assert (await failure(admin.personas.CreatePersona(pb.CreatePersonaRequest(
            persona_id="globetrotter", persona=pb.Persona(display_name="again", expression="IsGlobetrotter")))))[:2] \
            == (grpc.StatusCode.ALREADY_EXISTS, "PERSONA_EXISTS")

        # In SQL, paged one at a time, and in memory: the same customers.
        members = await _members(admin, persona.name, page_size=1)
        assert members == ["c1", "c6"]
        in_memory = [c for c in sorted(people) if (await service_stubs.personas.IsMember(pb.IsMemberRequest(
            persona=persona.name, customer=f"customers/{c}"))).member]
        assert in_memory == members

        explained = await service_stubs.personas.ExplainMembership(pb.ExplainMembershipRequest(
            persona=persona.name, customer="customers/c4"))
        assert not explained.member and explained.clause.text == GLOBETROTTER
        traveller, income, no_loan = explained.clause.children
        assert (traveller.text, traveller.held, traveller.attribute, traveller.source, traveller.value.bool_value) \
            == ("IsGlobetrotter = true", False, "IsGlobetrotter", pb.VALUE_SOURCE_DEFAULT, False)
        assert (income.held, income.value.decimal_value, income.source) == (True, "9000", pb.VALUE_SOURCE_OWN)
        assert no_loan.held and no_loan.children[0].text == "holds('LOAN')" and not no_loan.children[0].held
        unset = (await service_stubs.personas.ExplainMembership(pb.ExplainMembershipRequest(
            persona=persona.name, customer="customers/c5"))).clause.children[1]
        assert (unset.held, unset.source, unset.HasField("value")) == (False, pb.VALUE_SOURCE_UNSET, False)

        # A new expression is checked and takes effect at once.
        changed = await admin.personas.UpdatePersona(pb.UpdatePersonaRequest(
            persona=pb.Persona(name=persona.name, expression="IsGlobetrotter = false OR holds('CARD')"),
            update_mask=field_mask_pb2.FieldMask(paths=["expression"])))
        assert changed.display_name == "Globetrotter"
        assert await _members(admin, persona.name) == ["c1", "c4"]
        # The attribute a persona names cannot be deleted; once the persona is gone it can.
        assert (await failure(admin.personas.DeleteAttributeDefinition(pb.DeleteAttributeDefinitionRequest(
            name="attributeDefinitions/IsGlobetrotter"))))[:2] == (
            grpc.StatusCode.FAILED_PRECONDITION, "ATTRIBUTE_IN_USE")
        listed = await admin.personas.ListPersonas(pb.ListPersonasRequest())
        assert [p.name for p in listed.personas] == ["personas/globetrotter"]
        await admin.personas.DeletePersona(pb.DeletePersonaRequest(name=persona.name))
        await admin.personas.DeleteAttributeDefinition(pb.DeleteAttributeDefinitionRequest(
            name="attributeDefinitions/IsGlobetrotter"))
        assert (await failure(admin.personas.GetPersona(pb.GetPersonaRequest(name=persona.name))))[:2] == (
            grpc.StatusCode.NOT_FOUND, "PERSONA_NOT_FOUND")


async def test_customers_without_overdraft_protection_are_selected(server, tenant, service_stubs):
    # The reference banner of issue 20 targets them: c2 holds it, c5 on an account of theirs.
    people = await _set_up(server, tenant, service_stubs)
    await service_stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(account=account("a5", "c5")))
    await service_stubs.ingest.BatchUpsertHoldings(ipb.BatchUpsertHoldingsRequest(holdings=[
        ipb.Holding(holding_id="od-2", kind=ipb.HOLDING_KIND_OVERDRAFT_PROTECTION, customer_id="c2"),
        ipb.Holding(holding_id="od-5", kind=ipb.HOLDING_KIND_OVERDRAFT_PROTECTION, account_id="a5")]))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        persona = await admin.personas.CreatePersona(pb.CreatePersonaRequest(
            persona_id="unprotected", persona=pb.Persona(
                display_name="Unprotected", expression="not holds('OVERDRAFT_PROTECTION')")))
        assert persona.expression == "NOT holds('OVERDRAFT_PROTECTION')"
        members = await _members(admin, persona.name)
    assert members == ["c1", "c3", "c4", "c6"]
    in_memory = [c for c in sorted(people) if (await service_stubs.personas.IsMember(pb.IsMemberRequest(
        persona=persona.name, customer=f"customers/{c}"))).member]
    assert in_memory == members


async def test_an_invalid_expression_is_refused_with_its_position(server, tenant, service_stubs):
    await _set_up(server, tenant, service_stubs)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        for text, problem, column in [("income >", "SYNTAX", 9), ("IsGlobetroter", "UNKNOWN_ATTRIBUTE", 1),
                                      ("income > 'a lot'", "TYPE_MISMATCH", 10),
                                      ("risk = 'low'", "VALUE_NOT_ALLOWED", 8)]:
            try:
                await admin.personas.CreatePersona(pb.CreatePersonaRequest(persona_id="p", persona=pb.Persona(
                    display_name="P", expression=text)))
            except grpc.aio.AioRpcError as error:
                details = error_details(error)
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
                info = details["ErrorInfo"]
                assert (info.reason, info.metadata["problem"], info.metadata["column"]) == (
                    "SEGMENT_EXPRESSION_INVALID", problem, str(column)), text
                assert [v.field for v in details["BadRequest"].field_violations] == ["persona.expression"]
            else:
                raise AssertionError(f"accepted {text!r}")
        assert (await failure(admin.personas.CreatePersona(pb.CreatePersonaRequest(
            persona_id="Bad Id", persona=pb.Persona(display_name="P", expression="IsGlobetrotter")))))[:2] == (
            grpc.StatusCode.INVALID_ARGUMENT, "PERSONA_INVALID")
        await admin.personas.CreatePersona(pb.CreatePersonaRequest(persona_id="p", persona=pb.Persona(
            display_name="P", expression="IsGlobetrotter")))
        assert (await failure(admin.personas.UpdatePersona(pb.UpdatePersonaRequest(
            persona=pb.Persona(name="personas/p", expression="income BETWEEN 9 AND 1"),
            update_mask=field_mask_pb2.FieldMask(paths=["expression"])))))[:2] == (
            grpc.StatusCode.INVALID_ARGUMENT, "SEGMENT_EXPRESSION_INVALID")
    # Personas are a bank admin's to write; a user asks only about themselves.
    assert (await failure(service_stubs.personas.CreatePersona(pb.CreatePersonaRequest(
        persona_id="q", persona=pb.Persona(display_name="Q", expression="IsGlobetrotter")))))[:2] == (
        grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    async with server.stubs(server.token(tenant, Role.USER, "c1")) as user:
        assert (await user.personas.IsMember(pb.IsMemberRequest(persona="personas/p", customer="customers/c1"))).member
        assert (await failure(user.personas.IsMember(pb.IsMemberRequest(
            persona="personas/p", customer="customers/c2"))))[:2] == (grpc.StatusCode.PERMISSION_DENIED,
                                                                      "NOT_YOUR_DATA")
        assert (await failure(user.personas.ListMembers(pb.ListMembersRequest(persona="personas/p"))))[:2] == (
            grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")


async def _handle_pending(services, tenant: str) -> None:  # type: ignore[no-untyped-def]
    """What the workers do with the tenant's unprocessed events, here and now."""
    async with services.database.sessions() as session:
        ids = list(await session.scalars(select(DomainEventRow.event_id).where(
            DomainEventRow.tenant_id == tenant, DomainEventRow.processed_at.is_(None)
        ).order_by(DomainEventRow.event_id)))
    for event_id in ids:
        await services.bus.process(event_id)


async def _kept(services, tenant: str) -> tuple[list[str], list[tuple[str, bool]]]:  # type: ignore[no-untyped-def]
    """The stored members of `globetrotter`, and every membership change announced, in order."""
    async with services.database.sessions() as session:
        members = list(await session.scalars(select(PersonaMemberRow.customer_id).where(
            PersonaMemberRow.tenant_id == tenant, PersonaMemberRow.persona_id == "globetrotter"
        ).order_by(PersonaMemberRow.customer_id)))
        payloads = await session.scalars(select(DomainEventRow.payload).where(
            DomainEventRow.tenant_id == tenant, DomainEventRow.kind == "PersonaMembershipChanged"
        ).order_by(DomainEventRow.event_id))
        changes = [(c["customer_id"], c["member"]) for p in payloads for c in p["changes"]]
    return members, changes


async def test_memberships_are_kept_by_events_and_by_expression_changes(server, services, tenant, service_stubs):
    await _set_up(server, tenant, service_stubs)
    await _handle_pending(services, tenant)  # no persona yet: nothing to keep
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        persona = await admin.personas.CreatePersona(pb.CreatePersonaRequest(
            persona_id="globetrotter", persona=pb.Persona(display_name="Globetrotter", expression=GLOBETROTTER)))
        # Saved: the whole tenant evaluated by the bus, not in the call.
        assert await _kept(services, tenant) == ([], [])
        await _handle_pending(services, tenant)
        assert await _kept(services, tenant) == (["c1", "c6"], [("c1", True), ("c6", True)])

        # A value changes: the handler of CustomerAttributesChanged moves c2 in (not before it runs).
        await service_stubs.personas.UpdateCustomerAttributes(pb.UpdateCustomerAttributesRequest(
            name="customers/c2/attributes", values={"income": pb.AttributeValue(decimal_value="6000")}))
        assert (await _kept(services, tenant))[0] == ["c1", "c6"]
        await _handle_pending(services, tenant)
        members, changes = await _kept(services, tenant)
        assert (members, changes[2:]) == (["c1", "c2", "c6"], [("c2", True)])

        # A loan for c1: the handler of HoldingsChanged moves them out.
        await service_stubs.ingest.BatchUpsertHoldings(ipb.BatchUpsertHoldingsRequest(holdings=[
            ipb.Holding(holding_id="h3", kind=ipb.HOLDING_KIND_LOAN, customer_id="c1")]))
        await _handle_pending(services, tenant)
        members, changes = await _kept(services, tenant)
        assert (members, changes[3:]) == (["c2", "c6"], [("c1", False)])
        assert members == await _members(admin, persona.name)  # the stored rows and the SQL agree

        # A new default for an attribute the persona names, then a new expression: recomputed whole.
        await admin.personas.UpdateAttributeDefinition(pb.UpdateAttributeDefinitionRequest(
            attribute_definition=pb.AttributeDefinition(name="attributeDefinitions/IsGlobetrotter",
                                                        default_value=pb.AttributeValue(bool_value=True)),
            update_mask=field_mask_pb2.FieldMask(paths=["default_value"])))
        await _handle_pending(services, tenant)
        members, changes = await _kept(services, tenant)
        assert (members, changes[4:]) == (["c2", "c4", "c6"], [("c4", True)])
        await admin.personas.UpdatePersona(pb.UpdatePersonaRequest(
            persona=pb.Persona(name=persona.name, expression="holds('CARD')"),
            update_mask=field_mask_pb2.FieldMask(paths=["expression"])))
        await _handle_pending(services, tenant)
        members, changes = await _kept(services, tenant)
        assert (members, changes[5:]) == (["c1"], [("c1", True), ("c2", False), ("c4", False), ("c6", False)])

        await admin.personas.DeletePersona(pb.DeletePersonaRequest(name=persona.name))
        members, changes = await _kept(services, tenant)
        assert (members, changes[9:]) == ([], [("c1", False)])
        # The handlers' events were handled by the bus too (no handler for them yet).
        await _handle_pending(services, tenant)


async def test_a_new_customer_without_attributes_joins_the_personas_their_defaults_satisfy(
        server, services, tenant, service_stubs):
    await _set_up(server, tenant, service_stubs)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        await admin.personas.CreatePersona(pb.CreatePersonaRequest(
            persona_id="globetrotter", persona=pb.Persona(display_name="Stay-at-home",
                                                          expression="IsGlobetrotter = false")))
        await _handle_pending(services, tenant)
        assert (await _kept(services, tenant))[0] == ["c4"]  # the only one left at the default
        # A customer ingested with no attribute at all: the default holds for them too, without a full
        # evaluation; a second upsert of the same customer is no news.
        for _ in range(2):
            await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer("c7")))
        await _handle_pending(services, tenant)
        members, changes = await _kept(services, tenant)
        assert (members, changes[1:]) == (["c4", "c7"], [("c7", True)])
        assert members == await _members(admin, "personas/globetrotter")


async def _members_current(admin, name: str) -> bool:  # type: ignore[no-untyped-def]
    """What GetPersona says of the kept members: current, or a whole evaluation pending."""
    state = (await admin.personas.GetPersona(pb.GetPersonaRequest(name=name))).members_state
    assert state in (pb.MEMBERS_STATE_CURRENT, pb.MEMBERS_STATE_PENDING)
    return state == pb.MEMBERS_STATE_CURRENT


async def test_a_new_expression_is_evaluated_whole_by_the_workers_in_chunks(server, services, settings, tenant,
                                                                           service_stubs, monkeypatch):
    monkeypatch.setattr(personas_service, "EVALUATION_CHUNK", 2)  # six customers: three chunks and a last one
    await _set_up(server, tenant, service_stubs)
    await run_worker_until_idle(settings)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        persona = await admin.personas.CreatePersona(pb.CreatePersonaRequest(
            persona_id="globetrotter", persona=pb.Persona(display_name="Globetrotter", expression=GLOBETROTTER)))
        assert persona.members_state == pb.MEMBERS_STATE_PENDING
        assert await _members_current(admin, persona.name) is False
        await run_worker_until_idle(settings)
        assert await _kept(services, tenant) == (["c1", "c6"], [("c1", True), ("c6", True)])
        assert await _members_current(admin, persona.name) is True

        # Saved twice before the workers run: the kept rows lag, the answers do not.
        for expression in ("holds('LOAN')", "income >= 5000"):
            updated = await admin.personas.UpdatePersona(pb.UpdatePersonaRequest(
                persona=pb.Persona(name=persona.name, expression=expression),
                update_mask=field_mask_pb2.FieldMask(paths=["expression"])))
            assert updated.members_state == pb.MEMBERS_STATE_PENDING
        assert await _members_current(admin, persona.name) is False
        assert (await _kept(services, tenant))[0] == ["c1", "c6"]
        expected = ["c1", "c2", "c3", "c4", "c6"]
        assert await _members(admin, persona.name) == expected
        assert [c for c in ["c1", "c2", "c3", "c4", "c5", "c6"] if (await admin.personas.IsMember(pb.IsMemberRequest(
            persona=persona.name, customer=f"customers/{c}"))).member] == expected

        # The first request finds a later revision and does nothing; the second recomputes every chunk.
        await run_worker_until_idle(settings)
        members, changes = await _kept(services, tenant)
        assert (members, changes[2:]) == (expected, [("c2", True), ("c3", True), ("c4", True)])
        assert await _members_current(admin, persona.name) is True
        assert members == await _members(admin, persona.name)
        renamed = await admin.personas.UpdatePersona(pb.UpdatePersonaRequest(  # nothing to re-evaluate
            persona=pb.Persona(name=persona.name, display_name="Globetrotters"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"])))
        assert renamed.members_state == pb.MEMBERS_STATE_CURRENT
        async with services.database.sessions() as session:
            requests = list(await session.scalars(select(DomainEventRow).where(
                DomainEventRow.tenant_id == tenant, DomainEventRow.kind == "PersonaEvaluationRequested")))
        assert sorted(r.payload["revision"] for r in requests) == [1, 2, 3]
        assert all(r.processed_at is not None for r in requests)

        # A new default of an attribute it names: a new revision, recomputed whole again.
        await admin.personas.UpdateAttributeDefinition(pb.UpdateAttributeDefinitionRequest(
            attribute_definition=pb.AttributeDefinition(name="attributeDefinitions/income",
                                                        default_value=pb.AttributeValue(decimal_value="5000")),
            update_mask=field_mask_pb2.FieldMask(paths=["default_value"])))
        assert await _members_current(admin, persona.name) is False
        await run_worker_until_idle(settings)
        assert (await _kept(services, tenant))[0] == ["c1", "c2", "c3", "c4", "c5", "c6"]
        assert await _members_current(admin, persona.name) is True
