"""engage.personas.v1.PersonasService: proto <-> domain translation only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import grpc
from google.protobuf import empty_pb2

from engage.personas.v1 import personas_service_pb2 as pb
from engage.personas.v1 import personas_service_pb2_grpc
from server.domain import resource_names
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.pagination import page_request
from server.domain.personas.model import Persona, StoredDefinition
from server.domain.reasons import Reason
from server.domain.segments.attributes import AttributeType, AttributeValue
from server.domain.segments.evaluate import Explanation, ValueSource
from server.rpc.audiences_servicer import AudienceMethods
from server.rpc.context import current_caller
from server.rpc.convert import date_from_proto, date_to_proto, enum_from_proto, timestamp_to_proto, update_mask_paths
from server.services.audiences import AudiencesService
from server.services.personas import DEFINITIONS_LIST, MEMBERS_LIST, PERSONAS_LIST, PersonasService

Context = grpc.aio.ServicerContext

_TYPE_BY_NUMBER = {int(number): name for name, number in pb.AttributeType.items()}
_DEFINITION_PATHS = {"description", "default_value", "enum_values"}
_PERSONA_PATHS = {"display_name", "description", "expression", "tokens"}


def value_from_proto(message: pb.AttributeValue, field: str, attribute: str, reason: Reason) -> AttributeValue:
    """The value in the oneof's field; its type is checked against the attribute's by the domain."""
    def invalid(message_text: str) -> InvalidArgument:
        return InvalidArgument(reason, f"{attribute}: {message_text}",
                               violations=[FieldViolation(field, message_text)], metadata={"attribute": attribute})

    match message.WhichOneof("kind"):
        case "bool_value":
            return message.bool_value
        case "int_value":
            return message.int_value
        case "decimal_value":
            try:
                return Decimal(message.decimal_value)
            except InvalidOperation:
                raise invalid(f"{message.decimal_value[:40]!r} is not a decimal number") from None
        case "string_value":
            return message.string_value
        case "date_value":
            try:
                return date_from_proto(message.date_value)
            except ValueError:
                raise invalid("not a calendar date") from None
    raise invalid("no value given")


def value_to_proto(value: AttributeValue) -> pb.AttributeValue:
    if isinstance(value, bool):
        return pb.AttributeValue(bool_value=value)
    if isinstance(value, int):
        return pb.AttributeValue(int_value=value)
    if isinstance(value, Decimal):
        return pb.AttributeValue(decimal_value=format(value, "f"))
    if isinstance(value, dt.date):
        return pb.AttributeValue(date_value=date_to_proto(value))
    return pb.AttributeValue(string_value=value)


def definition_to_proto(stored: StoredDefinition) -> pb.AttributeDefinition:
    definition = stored.definition
    return pb.AttributeDefinition(
        name=resource_names.ATTRIBUTE_DEFINITION.format(definition.name),
        type=pb.AttributeType.Value(f"ATTRIBUTE_TYPE_{definition.type.value}"), enum_values=list(definition.values),
        default_value=None if definition.default is None else value_to_proto(definition.default),
        description=definition.description, built_in=definition.derived,
        create_time=timestamp_to_proto(stored.created_at), update_time=timestamp_to_proto(stored.updated_at))


def persona_to_proto(persona: Persona) -> pb.Persona:
    return pb.Persona(name=resource_names.PERSONA.format(persona.persona_id), display_name=persona.display_name,
                      description=persona.description, expression=persona.expression, tokens=persona.tokens,
                      create_time=timestamp_to_proto(persona.created_at),
                      update_time=timestamp_to_proto(persona.updated_at),
                      members_state=pb.MEMBERS_STATE_CURRENT if persona.members_current else pb.MEMBERS_STATE_PENDING)


def _attributes_to_proto(customer_id: str, values: dict[str, AttributeValue]) -> pb.CustomerAttributes:
    return pb.CustomerAttributes(name=resource_names.CUSTOMER_ATTRIBUTES.format(customer_id),
                                 values={name: value_to_proto(v) for name, v in values.items()})


def clause_to_proto(explanation: Explanation) -> pb.Clause:
    clause = pb.Clause(text=explanation.clause, held=explanation.held,
                       children=[clause_to_proto(c) for c in explanation.children])
    seen = explanation.seen
    if seen is not None:
        clause.attribute = seen.attribute
        clause.source = pb.ValueSource.Value(f"VALUE_SOURCE_{seen.source.value}")
        if seen.source is not ValueSource.UNSET and seen.value is not None:
            clause.value.CopyFrom(value_to_proto(seen.value))
    return clause


def _default(definition: pb.AttributeDefinition, name: str) -> AttributeValue | None:
    if not definition.HasField("default_value"):
        return None
    return value_from_proto(definition.default_value, "attribute_definition.default_value", name,
                            Reason.ATTRIBUTE_DEFINITION_INVALID)


class PersonasServicer(AudienceMethods, personas_service_pb2_grpc.PersonasServiceServicer):
    def __init__(self, personas: PersonasService, audiences: AudiencesService) -> None:
        self.personas = personas
        self.audiences = audiences

    # -- attribute definitions ----------------------------------------------------------------------

    async def CreateAttributeDefinition(self, request: pb.CreateAttributeDefinitionRequest, context: Context
                                        ) -> pb.AttributeDefinition:
        body = request.attribute_definition
        name = request.attribute_definition_id
        type_ = enum_from_proto(AttributeType, "ATTRIBUTE_TYPE_", body.type, _TYPE_BY_NUMBER,
                                "attribute_definition.type")
        return definition_to_proto(await self.personas.create_definition(
            current_caller(), name, type_, tuple(body.enum_values), _default(body, name), body.description))

    async def GetAttributeDefinition(self, request: pb.GetAttributeDefinitionRequest, context: Context
                                     ) -> pb.AttributeDefinition:
        name = resource_names.ATTRIBUTE_DEFINITION.id(request.name, "name")
        return definition_to_proto(await self.personas.get_definition(current_caller(), name))

    async def ListAttributeDefinitions(self, request: pb.ListAttributeDefinitionsRequest, context: Context
                                       ) -> pb.ListAttributeDefinitionsResponse:
        page = await self.personas.list_definitions(
            current_caller(), page_request(request.page_size, request.page_token, DEFINITIONS_LIST))
        return pb.ListAttributeDefinitionsResponse(attribute_definitions=[definition_to_proto(d) for d in page.items],
                                                   next_page_token=page.next_page_token)

    async def UpdateAttributeDefinition(self, request: pb.UpdateAttributeDefinitionRequest, context: Context
                                        ) -> pb.AttributeDefinition:
        body = request.attribute_definition
        name = resource_names.ATTRIBUTE_DEFINITION.id(body.name, "attribute_definition.name")
        paths = update_mask_paths(request.update_mask, _DEFINITION_PATHS)
        return definition_to_proto(await self.personas.update_definition(
            current_caller(), name, tuple(body.enum_values) if "enum_values" in paths else None,
            body.description if "description" in paths else None, change_default="default_value" in paths,
            default=_default(body, name) if "default_value" in paths else None))

    async def DeleteAttributeDefinition(self, request: pb.DeleteAttributeDefinitionRequest, context: Context
                                        ) -> empty_pb2.Empty:
        name = resource_names.ATTRIBUTE_DEFINITION.id(request.name, "name")
        await self.personas.delete_definition(current_caller(), name)
        return empty_pb2.Empty()

    # -- customer attribute values -----------------------------------------------------------------

    async def UpdateCustomerAttributes(self, request: pb.UpdateCustomerAttributesRequest, context: Context
                                       ) -> pb.CustomerAttributes:
        customer_id = resource_names.CUSTOMER_ATTRIBUTES.id(request.name, "name")
        values = {name: value_from_proto(value, f"values[{name[:64]}]", name[:64], Reason.ATTRIBUTE_VALUE_INVALID)
                  for name, value in request.values.items()}
        after = await self.personas.update_customer_attributes(current_caller(), customer_id, values,
                                                               list(request.clear))
        return _attributes_to_proto(customer_id, after)

    async def GetCustomerAttributes(self, request: pb.GetCustomerAttributesRequest, context: Context
                                    ) -> pb.CustomerAttributes:
        customer_id = resource_names.CUSTOMER_ATTRIBUTES.id(request.name, "name")
        return _attributes_to_proto(customer_id, await self.personas.get_customer_attributes(current_caller(),
                                                                                            customer_id))

    # -- personas ------------------------------------------------------------------------------------

    async def CreatePersona(self, request: pb.CreatePersonaRequest, context: Context) -> pb.Persona:
        body = request.persona
        return persona_to_proto(await self.personas.create_persona(
            current_caller(), request.persona_id, body.display_name, body.description, body.expression,
            dict(body.tokens)))

    async def GetPersona(self, request: pb.GetPersonaRequest, context: Context) -> pb.Persona:
        persona_id = resource_names.PERSONA.id(request.name, "name")
        return persona_to_proto(await self.personas.get_persona(current_caller(), persona_id))

    async def ListPersonas(self, request: pb.ListPersonasRequest, context: Context) -> pb.ListPersonasResponse:
        page = await self.personas.list_personas(
            current_caller(), page_request(request.page_size, request.page_token, PERSONAS_LIST))
        return pb.ListPersonasResponse(personas=[persona_to_proto(p) for p in page.items],
                                       next_page_token=page.next_page_token)

    async def UpdatePersona(self, request: pb.UpdatePersonaRequest, context: Context) -> pb.Persona:
        body = request.persona
        persona_id = resource_names.PERSONA.id(body.name, "persona.name")
        paths = update_mask_paths(request.update_mask, _PERSONA_PATHS)
        return persona_to_proto(await self.personas.update_persona(
            current_caller(), persona_id, body.display_name if "display_name" in paths else None,
            body.description if "description" in paths else None,
            body.expression if "expression" in paths else None, dict(body.tokens) if "tokens" in paths else None))

    async def DeletePersona(self, request: pb.DeletePersonaRequest, context: Context) -> empty_pb2.Empty:
        persona_id = resource_names.PERSONA.id(request.name, "name")
        await self.personas.delete_persona(current_caller(), persona_id)
        return empty_pb2.Empty()

    # -- membership ----------------------------------------------------------------------------------

    async def IsMember(self, request: pb.IsMemberRequest, context: Context) -> pb.IsMemberResponse:
        persona_id = resource_names.PERSONA.id(request.persona, "persona")
        customer_id = resource_names.CUSTOMER.id(request.customer, "customer")
        return pb.IsMemberResponse(member=await self.personas.is_member(current_caller(), persona_id, customer_id))

    async def ExplainMembership(self, request: pb.ExplainMembershipRequest, context: Context
                                ) -> pb.MembershipExplanation:
        persona_id = resource_names.PERSONA.id(request.persona, "persona")
        customer_id = resource_names.CUSTOMER.id(request.customer, "customer")
        explanation = await self.personas.explain_membership(current_caller(), persona_id, customer_id)
        return pb.MembershipExplanation(member=explanation.held, clause=clause_to_proto(explanation))

    async def ListMembers(self, request: pb.ListMembersRequest, context: Context) -> pb.ListMembersResponse:
        persona_id = resource_names.PERSONA.id(request.persona, "persona")
        page = await self.personas.list_members(
            current_caller(), persona_id, page_request(request.page_size, request.page_token, MEMBERS_LIST))
        return pb.ListMembersResponse(customers=[resource_names.CUSTOMER.format(c) for c in page.items],
                                      next_page_token=page.next_page_token)
