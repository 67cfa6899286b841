"""PersonasService through gRPC: custom attribute definitions (bank admin) and customers' typed values,
set and cleared one attribute at a time, with CustomerAttributesChanged in the outbox. Both databases."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2
from sqlalchemy import select

from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.personas.v1 import personas_service_pb2 as pb
from server.domain.auth import Role
from server.store.models import DomainEventRow
from tests.support.builders import customer, error_details, failure


def definition(name: str, type_: int, *values: str, default: pb.AttributeValue | None = None,
               description: str = "") -> pb.CreateAttributeDefinitionRequest:
    return pb.CreateAttributeDefinitionRequest(
        attribute_definition_id=name, attribute_definition=pb.AttributeDefinition(
            type=type_, enum_values=list(values), default_value=default, description=description))


async def attribute_events(services, tenant: str) -> list[dict]:  # type: ignore[no-untyped-def]
    async with services.database.sessions() as session:
        rows = await session.scalars(select(DomainEventRow.payload).where(
            DomainEventRow.tenant_id == tenant, DomainEventRow.kind == "CustomerAttributesChanged"
        ).order_by(DomainEventRow.event_id))
        return list(rows)


async def test_a_bank_admin_defines_reads_updates_and_deletes_attributes(server, tenant, service_stubs):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        made = await admin.personas.CreateAttributeDefinition(definition(
            "IsGlobetrotter", pb.ATTRIBUTE_TYPE_BOOL, default=pb.AttributeValue(bool_value=False),
            description="likes to travel"))
        assert made.name == "attributeDefinitions/IsGlobetrotter"
        assert made.default_value.bool_value is False and made.default_value.HasField("bool_value")
        await admin.personas.CreateAttributeDefinition(definition(
            "risk_profile", pb.ATTRIBUTE_TYPE_ENUM, "LOW", "MEDIUM", "HIGH"))
        await admin.personas.CreateAttributeDefinition(definition("income", pb.ATTRIBUTE_TYPE_DECIMAL))

        listed = await admin.personas.ListAttributeDefinitions(pb.ListAttributeDefinitionsRequest(page_size=2))
        assert [d.name for d in listed.attribute_definitions] == [
            "attributeDefinitions/IsGlobetrotter", "attributeDefinitions/income"]
        rest = await admin.personas.ListAttributeDefinitions(pb.ListAttributeDefinitionsRequest(
            page_token=listed.next_page_token))
        assert [d.name for d in rest.attribute_definitions] == ["attributeDefinitions/risk_profile"]
        assert not rest.next_page_token

        # A built-in attribute reads as one, and its name cannot be taken.
        age = await service_stubs.personas.GetAttributeDefinition(pb.GetAttributeDefinitionRequest(
            name="attributeDefinitions/age"))
        assert age.built_in and age.type == pb.ATTRIBUTE_TYPE_INT
        assert (await failure(admin.personas.CreateAttributeDefinition(definition("age", pb.ATTRIBUTE_TYPE_INT)))
                )[:2] == (grpc.StatusCode.ALREADY_EXISTS, "ATTRIBUTE_DEFINITION_EXISTS")
        assert (await failure(admin.personas.CreateAttributeDefinition(definition("income", pb.ATTRIBUTE_TYPE_INT)))
                )[:2] == (grpc.StatusCode.ALREADY_EXISTS, "ATTRIBUTE_DEFINITION_EXISTS")

        updated = await admin.personas.UpdateAttributeDefinition(pb.UpdateAttributeDefinitionRequest(
            attribute_definition=pb.AttributeDefinition(name="attributeDefinitions/risk_profile",
                                                        enum_values=["LOW", "MEDIUM", "HIGH", "VERY_HIGH"],
                                                        description="from the scoring model"),
            update_mask=field_mask_pb2.FieldMask(paths=["enum_values", "description"])))
        assert list(updated.enum_values) == ["LOW", "MEDIUM", "HIGH", "VERY_HIGH"]
        assert updated.description == "from the scoring model" and updated.type == pb.ATTRIBUTE_TYPE_ENUM
        removing = pb.UpdateAttributeDefinitionRequest(
            attribute_definition=pb.AttributeDefinition(name="attributeDefinitions/risk_profile", enum_values=["LOW"]),
            update_mask=field_mask_pb2.FieldMask(paths=["enum_values"]))
        assert (await failure(admin.personas.UpdateAttributeDefinition(removing)))[:2] == (
            grpc.StatusCode.INVALID_ARGUMENT, "ATTRIBUTE_DEFINITION_INVALID")
        assert (await failure(admin.personas.UpdateAttributeDefinition(pb.UpdateAttributeDefinitionRequest(
            attribute_definition=pb.AttributeDefinition(name="attributeDefinitions/income"),
            update_mask=field_mask_pb2.FieldMask(paths=["type"])))))[:2] == (
            grpc.StatusCode.INVALID_ARGUMENT, "UPDATE_MASK_INVALID")

        await admin.personas.DeleteAttributeDefinition(pb.DeleteAttributeDefinitionRequest(
            name="attributeDefinitions/income"))
        assert (await failure(admin.personas.GetAttributeDefinition(pb.GetAttributeDefinitionRequest(
            name="attributeDefinitions/income"))))[:2] == (grpc.StatusCode.NOT_FOUND, "ATTRIBUTE_DEFINITION_NOT_FOUND")

    # Only a bank admin writes definitions.
    assert (await failure(service_stubs.personas.CreateAttributeDefinition(definition(
        "x", pb.ATTRIBUTE_TYPE_BOOL))))[:2] == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")


async def test_invalid_definitions_are_refused_with_a_reason(server, tenant):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        for request, field in [
            (definition("and", pb.ATTRIBUTE_TYPE_BOOL), "attribute_definition"),
            (definition("1st", pb.ATTRIBUTE_TYPE_BOOL), "attribute_definition"),
            (definition("colour", pb.ATTRIBUTE_TYPE_ENUM), "attribute_definition"),
            (definition("colour", pb.ATTRIBUTE_TYPE_STRING, "RED"), "attribute_definition"),
            (definition("colour", pb.ATTRIBUTE_TYPE_ENUM, "RED", default=pb.AttributeValue(string_value="BLUE")),
             "attribute_definition"),
            (definition("n", pb.ATTRIBUTE_TYPE_INT, default=pb.AttributeValue(decimal_value="1.5")),
             "attribute_definition"),
            (definition("n", pb.ATTRIBUTE_TYPE_DECIMAL, default=pb.AttributeValue(decimal_value="abc")),
             "attribute_definition.default_value"),
        ]:
            assert await failure(admin.personas.CreateAttributeDefinition(request)) == (
                grpc.StatusCode.INVALID_ARGUMENT, "ATTRIBUTE_DEFINITION_INVALID", [field]), request
        assert (await failure(admin.personas.CreateAttributeDefinition(definition("n", 0))))[:2] == (
            grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ENUM")


async def test_customer_attributes_change_one_by_one_and_emit_their_changes(server, services, tenant, service_stubs):
    await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer("c1", segment="retail")))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        await admin.personas.CreateAttributeDefinition(definition("IsGlobetrotter", pb.ATTRIBUTE_TYPE_BOOL))
        await admin.personas.CreateAttributeDefinition(definition("income", pb.ATTRIBUTE_TYPE_DECIMAL))
        await admin.personas.CreateAttributeDefinition(definition("born", pb.ATTRIBUTE_TYPE_DATE))
    before = len(await attribute_events(services, tenant))

    first = await service_stubs.personas.UpdateCustomerAttributes(pb.UpdateCustomerAttributesRequest(
        name="customers/c1/attributes", values={
            "IsGlobetrotter": pb.AttributeValue(bool_value=True), "income": pb.AttributeValue(decimal_value="5200.50"),
            "born": pb.AttributeValue(date_value={"year": 1990, "month": 2, "day": 28})}))
    assert first.values["income"].decimal_value == "5200.5"
    # Only the named attribute changes; the others keep their values.
    second = await service_stubs.personas.UpdateCustomerAttributes(pb.UpdateCustomerAttributesRequest(
        name="customers/c1/attributes", values={"income": pb.AttributeValue(decimal_value="4800")}))
    assert set(second.values) == {"IsGlobetrotter", "income", "born"}
    assert second.values["IsGlobetrotter"].bool_value is True
    cleared = await service_stubs.personas.UpdateCustomerAttributes(pb.UpdateCustomerAttributesRequest(
        name="customers/c1/attributes", clear=["born"]))
    assert set(cleared.values) == {"IsGlobetrotter", "income"}
    # Setting a value it has already changes nothing and emits nothing.
    await service_stubs.personas.UpdateCustomerAttributes(pb.UpdateCustomerAttributesRequest(
        name="customers/c1/attributes", values={"IsGlobetrotter": pb.AttributeValue(bool_value=True)}))
    got = await service_stubs.personas.GetCustomerAttributes(pb.GetCustomerAttributesRequest(
        name="customers/c1/attributes"))
    assert got == cleared

    events = (await attribute_events(services, tenant))[before:]
    changes = [change for event in events for change in event["changes"]]
    assert [(c["customer_id"], c["old"], c["new"]) for c in changes] == [
        ("c1", {"IsGlobetrotter": "", "born": "", "income": ""},
         {"IsGlobetrotter": "true", "born": "1990-02-28", "income": "5200.5"}),
        ("c1", {"income": "5200.5"}, {"income": "4800"}),
        ("c1", {"born": "1990-02-28"}, {"born": ""}),
    ]
    # Ingestion's free-form attribute map is its own: untouched by these.
    stored = await service_stubs.ingest.GetCustomer(ipb.GetCustomerRequest(name="customers/c1"))
    assert dict(stored.attributes) == {"segment": "retail"}


async def test_a_value_of_the_wrong_type_is_refused_naming_the_attribute(server, tenant, service_stubs):
    await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer("c1")))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        await admin.personas.CreateAttributeDefinition(definition("IsGlobetrotter", pb.ATTRIBUTE_TYPE_BOOL))
        await admin.personas.CreateAttributeDefinition(definition("risk", pb.ATTRIBUTE_TYPE_ENUM, "LOW", "HIGH"))
        await admin.personas.CreateAttributeDefinition(definition("kids", pb.ATTRIBUTE_TYPE_INT))
    for values, attribute in [
        ({"IsGlobetrotter": pb.AttributeValue(string_value="yes")}, "IsGlobetrotter"),
        ({"risk": pb.AttributeValue(string_value="low")}, "risk"),
        ({"kids": pb.AttributeValue(bool_value=True)}, "kids"),
        ({"kids": pb.AttributeValue()}, "kids"),
        ({"kids": pb.AttributeValue(int_value=2), "risk": pb.AttributeValue(decimal_value="x")}, "risk"),
    ]:
        call = service_stubs.personas.UpdateCustomerAttributes(pb.UpdateCustomerAttributesRequest(
            name="customers/c1/attributes", values=values))
        try:
            await call
        except grpc.aio.AioRpcError as error:
            details = error_details(error)
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert details["ErrorInfo"].reason == "ATTRIBUTE_VALUE_INVALID"
            assert details["ErrorInfo"].metadata["attribute"] == attribute
            assert attribute in error.details()
        else:
            raise AssertionError(f"accepted {values}")
    # Nothing of a refused call was kept (kids was valid beside a bad risk).
    got = await service_stubs.personas.GetCustomerAttributes(pb.GetCustomerAttributesRequest(
        name="customers/c1/attributes"))
    assert dict(got.values) == {}
    for request, reason in [
        (pb.UpdateCustomerAttributesRequest(name="customers/c1/attributes",
                                            values={"age": pb.AttributeValue(int_value=40)}), "ATTRIBUTE_UNKNOWN"),
        (pb.UpdateCustomerAttributesRequest(name="customers/c1/attributes", clear=["nope"]), "ATTRIBUTE_UNKNOWN"),
        (pb.UpdateCustomerAttributesRequest(name="customers/c1/attributes", clear=["kids"],
                                            values={"kids": pb.AttributeValue(int_value=1)}),
         "ATTRIBUTE_VALUE_INVALID"),
    ]:
        assert (await failure(service_stubs.personas.UpdateCustomerAttributes(request)))[:2] == (
            grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert (await failure(service_stubs.personas.UpdateCustomerAttributes(pb.UpdateCustomerAttributesRequest(
        name="customers/nobody/attributes", values={"kids": pb.AttributeValue(int_value=1)}))))[:2] == (
        grpc.StatusCode.NOT_FOUND, "CUSTOMER_NOT_FOUND")
    # A user reads their own values, and writes none.
    async with server.stubs(server.token(tenant, Role.USER, "c1")) as user:
        await user.personas.GetCustomerAttributes(pb.GetCustomerAttributesRequest(name="customers/c1/attributes"))
        assert (await failure(user.personas.UpdateCustomerAttributes(pb.UpdateCustomerAttributesRequest(
            name="customers/c1/attributes", clear=["kids"]))))[:2] == (
            grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
