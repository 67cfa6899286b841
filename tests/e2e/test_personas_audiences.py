"""Audiences through gRPC on both databases: personas combined by union, intersection and exclusion
(and audiences inside audiences), checked when saved (unknown names, cycles), members listed and asked
for one customer from the kept persona memberships, and a persona kept while an audience names it."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2

from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.personas.v1 import personas_service_pb2 as pb
from server.domain.auth import Role
from tests.e2e.test_personas_attributes import definition
from tests.integration.test_domain_events import run_worker_until_idle as run_worker
from tests.support.builders import customer, failure

ALL, ANY = pb.AUDIENCE_MODE_ALL, pb.AUDIENCE_MODE_ANY
# customer: (IsGlobetrotter, IsSaver, IsStudent)
PEOPLE = {"c1": (True, True, False), "c2": (True, False, False), "c3": (False, True, False),
          "c4": (True, True, True), "c5": (False, False, True)}


async def set_up_personas(server, tenant, service_stubs, people=PEOPLE,  # type: ignore[no-untyped-def]
                          upsert_customers=True):
    """Three personas, one per flag, with their memberships kept by the workers."""
    flags = ("IsGlobetrotter", "IsSaver", "IsStudent")
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        for flag in flags:
            await admin.personas.CreateAttributeDefinition(definition(flag, pb.ATTRIBUTE_TYPE_BOOL))
        for customer_id, values in people.items():
            if upsert_customers:
                await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer(customer_id)))
            await service_stubs.personas.UpdateCustomerAttributes(pb.UpdateCustomerAttributesRequest(
                name=f"customers/{customer_id}/attributes",
                values={flag: pb.AttributeValue(bool_value=value) for flag, value in zip(flags, values, strict=True)}))
        for persona_id, flag in (("globetrotter", "IsGlobetrotter"), ("saver", "IsSaver"), ("student", "IsStudent")):
            await admin.personas.CreatePersona(pb.CreatePersonaRequest(
                persona_id=persona_id, persona=pb.Persona(display_name=persona_id, expression=flag)))
    await run_worker(server.settings)  # the workers evaluate each saved persona into persona_members


def audience(audience_id: str, include: list[str], mode: int, exclude: tuple[str, ...] = ()
             ) -> pb.CreateAudienceRequest:
    return pb.CreateAudienceRequest(audience_id=audience_id, audience=pb.Audience(
        display_name=audience_id, definition=pb.AudienceDefinition(include=include, mode=mode, exclude=exclude)))


async def members(stubs, name: str, page_size: int = 0) -> list[str]:  # type: ignore[no-untyped-def]
    found, token = [], ""
    while True:
        page = await stubs.personas.ListAudienceMembers(pb.ListAudienceMembersRequest(
            audience=name, page_size=page_size, page_token=token))
        found += [c.removeprefix("customers/") for c in page.customers]
        token = page.next_page_token
        if not token:
            return found


async def test_audiences_combine_personas_and_other_audiences(server, tenant, service_stubs):
    await set_up_personas(server, tenant, service_stubs)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        both = await admin.personas.CreateAudience(audience("travelling_savers", ["personas/globetrotter",
                                                                                  "personas/saver"], ALL))
        assert both.name == "audiences/travelling_savers"
        assert list(both.definition.include) == ["personas/globetrotter", "personas/saver"]
        either = await admin.personas.CreateAudience(audience(
            "travellers_or_savers", ["personas/globetrotter", "personas/saver"], ANY, ("personas/student",)))
        nested = await admin.personas.CreateAudience(audience(
            "adult_savers_abroad", ["audiences/travellers_or_savers", "audiences/travelling_savers"], ALL))

        assert await members(admin, both.name, page_size=1) == ["c1", "c4"]
        assert await members(service_stubs, either.name) == ["c1", "c2", "c3"]
        assert await members(admin, nested.name) == ["c1"]
        answers = {c: (await service_stubs.personas.IsAudienceMember(pb.IsAudienceMemberRequest(
            audience=nested.name, customer=f"customers/{c}"))).member for c in PEOPLE}
        assert answers == {"c1": True, "c2": False, "c3": False, "c4": False, "c5": False}

        # Changed by a field mask; the members follow.
        changed = await admin.personas.UpdateAudience(pb.UpdateAudienceRequest(
            audience=pb.Audience(name=either.name, definition=pb.AudienceDefinition(
                include=["personas/student"], mode=ANY)), update_mask=field_mask_pb2.FieldMask(paths=["definition"])))
        assert list(changed.definition.exclude) == [] and changed.display_name == "travellers_or_savers"
        assert await members(admin, either.name) == ["c4", "c5"]
        listed = await admin.personas.ListAudiences(pb.ListAudiencesRequest())
        assert [a.name for a in listed.audiences] == [nested.name, either.name, both.name]


async def test_a_definition_is_checked_when_saved(server, tenant, service_stubs):
    await set_up_personas(server, tenant, service_stubs, {"c1": (True, True, True)})
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        for request, reason in [
            (audience("Bad", ["personas/saver"], ANY), "AUDIENCE_INVALID"),
            (audience("a", [], ANY), "AUDIENCE_INVALID"),
            (audience("a", ["personas/saver"], pb.AUDIENCE_MODE_UNSPECIFIED), "AUDIENCE_INVALID"),
            (audience("a", ["saver"], ANY), "AUDIENCE_INVALID"),
            (audience("a", ["personas/saver"], ANY, ("personas/saver",)), "AUDIENCE_INVALID"),
        ]:
            assert (await failure(admin.personas.CreateAudience(request)))[:2] == \
                (grpc.StatusCode.INVALID_ARGUMENT, reason)
        assert (await failure(admin.personas.CreateAudience(audience("a", ["personas/nobody"], ANY))))[:2] == \
            (grpc.StatusCode.FAILED_PRECONDITION, "AUDIENCE_REFERENCE_UNKNOWN")
        assert (await failure(admin.personas.CreateAudience(audience("a", ["audiences/a"], ANY))))[:2] == \
            (grpc.StatusCode.FAILED_PRECONDITION, "AUDIENCE_CYCLE")

        await admin.personas.CreateAudience(audience("a", ["personas/saver"], ANY))
        await admin.personas.CreateAudience(audience("b", ["audiences/a"], ANY))
        assert (await failure(admin.personas.CreateAudience(audience("a", ["personas/saver"], ANY))))[:2] == \
            (grpc.StatusCode.ALREADY_EXISTS, "AUDIENCE_EXISTS")
        # a -> b -> a
        assert (await failure(admin.personas.UpdateAudience(pb.UpdateAudienceRequest(
            audience=pb.Audience(name="audiences/a", definition=pb.AudienceDefinition(
                include=["personas/saver"], mode=ANY, exclude=["audiences/b"])),
            update_mask=field_mask_pb2.FieldMask(paths=["definition"])))))[:2] == \
            (grpc.StatusCode.FAILED_PRECONDITION, "AUDIENCE_CYCLE")

        # Named things are kept: the persona and the inner audience; the outer one goes first.
        assert (await failure(admin.personas.DeletePersona(pb.DeletePersonaRequest(name="personas/saver"))))[:2] == \
            (grpc.StatusCode.FAILED_PRECONDITION, "PERSONA_IN_USE")
        assert (await failure(admin.personas.DeleteAudience(pb.DeleteAudienceRequest(name="audiences/a"))))[:2] == \
            (grpc.StatusCode.FAILED_PRECONDITION, "AUDIENCE_IN_USE")
        await admin.personas.DeleteAudience(pb.DeleteAudienceRequest(name="audiences/b"))
        await admin.personas.DeleteAudience(pb.DeleteAudienceRequest(name="audiences/a"))
        await admin.personas.DeletePersona(pb.DeletePersonaRequest(name="personas/saver"))
        assert (await failure(admin.personas.GetAudience(pb.GetAudienceRequest(name="audiences/a"))))[:2] == \
            (grpc.StatusCode.NOT_FOUND, "AUDIENCE_NOT_FOUND")

    # Audiences are the bank admin's to write; a customer's token reads none.
    assert (await failure(service_stubs.personas.CreateAudience(audience("c", ["personas/student"], ANY))))[0] == \
        grpc.StatusCode.PERMISSION_DENIED
    async with server.stubs(server.token(tenant, Role.USER, "c1")) as user:
        assert (await failure(user.personas.IsAudienceMember(pb.IsAudienceMemberRequest(
            audience="audiences/c", customer="customers/c1"))))[0] == grpc.StatusCode.PERMISSION_DENIED
