"""engage.journeys.v1.JourneysService: proto <-> domain translation only."""

from __future__ import annotations

import grpc

from engage.journeys.v1 import journeys_service_pb2 as pb
from engage.journeys.v1 import journeys_service_pb2_grpc
from engage.personas.v1 import personas_service_pb2 as personas_pb
from server.domain import resource_names
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.journeys.model import (
    FlowRule,
    InstanceState,
    JourneyDefinition,
    JourneyVersion,
    RecordedRoute,
    Route,
    Step,
)
from server.domain.journeys.validate import new_field
from server.domain.pagination import int64_key, page_request
from server.domain.reasons import Reason
from server.domain.segments.attributes import AttributeDefinition, AttributeType
from server.rpc.context import current_caller
from server.rpc.convert import enum_from_proto, timestamp_to_proto, update_mask_paths
from server.rpc.personas_servicer import value_from_proto, value_to_proto
from server.services.journeys import JOURNEYS_LIST, ROUTES_LIST, InstanceView, JourneysService

Context = grpc.aio.ServicerContext

_TYPE_BY_NUMBER = {int(number): name for name, number in personas_pb.AttributeType.items()}
_JOURNEY_PATHS = {"display_name", "fields", "steps"}


def _route_from_proto(route: pb.Route, field: str) -> Route:
    match route.WhichOneof("target"):
        case "step":
            return Route(step=route.step)
        case "journey":
            return Route(journey=resource_names.JOURNEY.id(route.journey, f"{field}.journey"))
    return Route()  # neither: the validator names the field


def _route_to_proto(route: Route) -> pb.Route:
    if route.step is not None:
        return pb.Route(step=route.step)
    return pb.Route(journey=resource_names.JOURNEY.format(route.journey or ""))


def _steps_from_proto(steps: list[pb.Step]) -> tuple[Step, ...]:
    return tuple(
        Step(step.id, step.title, tuple(step.captures),
             tuple(FlowRule(rule.expression, _route_from_proto(rule.route, f"journey.steps[{i}].rules[{n}].route"))
                   for n, rule in enumerate(step.rules)),
             _route_from_proto(step.default_route, f"journey.steps[{i}].default_route")
             if step.HasField("default_route") else None,
             step.end)
        for i, step in enumerate(steps))


def _fields_from_proto(fields: list[pb.JourneyField]) -> tuple[AttributeDefinition, ...]:
    return tuple(new_field(f.name, enum_from_proto(AttributeType, "ATTRIBUTE_TYPE_", f.type, _TYPE_BY_NUMBER,
                                                   f"journey.fields[{i}].type"), tuple(f.enum_values), i)
                 for i, f in enumerate(fields))


def journey_to_proto(stored: JourneyVersion) -> pb.Journey:
    definition = stored.definition
    return pb.Journey(
        name=resource_names.JOURNEY.format(stored.journey_id), version=stored.version,
        display_name=definition.display_name,
        fields=[pb.JourneyField(name=f.name, type=personas_pb.AttributeType.Value(f"ATTRIBUTE_TYPE_{f.type.value}"),
                                enum_values=list(f.values)) for f in definition.fields],
        steps=[pb.Step(id=s.step_id, title=s.title, captures=list(s.captures),
                       rules=[pb.FlowRule(expression=r.expression, route=_route_to_proto(r.route)) for r in s.rules],
                       default_route=None if s.default_route is None else _route_to_proto(s.default_route),
                       end=s.end) for s in definition.steps],
        create_time=timestamp_to_proto(stored.created_at))


def instance_to_proto(view: InstanceView) -> pb.JourneyInstance:
    instance = view.instance
    return pb.JourneyInstance(
        name=resource_names.JOURNEY_INSTANCE.format(instance.customer_id, instance.instance_id),
        journey=resource_names.JOURNEY.format(instance.journey_id), version=instance.version,
        state=pb.JourneyState.Value(f"JOURNEY_STATE_{instance.state.value}"), current_step=instance.current_step,
        captures=list(view.captures), captured={n: value_to_proto(v) for n, v in instance.captured.items()},
        handed_to="" if instance.handed_to is None or instance.state is not InstanceState.HANDED_OFF
        else resource_names.JOURNEY_INSTANCE.format(instance.customer_id, instance.handed_to),
        start_time=timestamp_to_proto(instance.started_at), update_time=timestamp_to_proto(instance.updated_at))


def route_to_proto(customer_id: str, route: RecordedRoute) -> pb.JourneyRoute:
    message = pb.JourneyRoute(
        sequence=route.sequence, from_step=route.from_step, rule_expression=route.rule_expression,
        route=_route_to_proto(route.route), take_time=timestamp_to_proto(route.taken_at),
        handed_to="" if route.handed_to is None else resource_names.JOURNEY_INSTANCE.format(customer_id,
                                                                                            route.handed_to))
    if route.rule_index is not None:
        message.rule_index = route.rule_index
    return message


class JourneysServicer(journeys_service_pb2_grpc.JourneysServiceServicer):
    def __init__(self, journeys: JourneysService) -> None:
        self.journeys = journeys

    async def CreateJourney(self, request: pb.CreateJourneyRequest, context: Context) -> pb.Journey:
        body = request.journey
        definition = JourneyDefinition(body.display_name, _steps_from_proto(list(body.steps)),
                                       _fields_from_proto(list(body.fields)))
        return journey_to_proto(await self.journeys.create_journey(current_caller(), request.journey_id, definition))

    async def GetJourney(self, request: pb.GetJourneyRequest, context: Context) -> pb.Journey:
        journey_id = resource_names.JOURNEY.id(request.name, "name")
        if request.version < 0:
            raise InvalidArgument(Reason.JOURNEY_INVALID, "version must not be negative (0: the latest)",
                                  violations=[FieldViolation("version", "must not be negative")])
        return journey_to_proto(await self.journeys.get_journey(current_caller(), journey_id,
                                                                request.version or None))

    async def ListJourneys(self, request: pb.ListJourneysRequest, context: Context) -> pb.ListJourneysResponse:
        page = await self.journeys.list_journeys(
            current_caller(), page_request(request.page_size, request.page_token, JOURNEYS_LIST))
        return pb.ListJourneysResponse(journeys=[journey_to_proto(j) for j in page.items],
                                       next_page_token=page.next_page_token)

    async def UpdateJourney(self, request: pb.UpdateJourneyRequest, context: Context) -> pb.Journey:
        body = request.journey
        journey_id = resource_names.JOURNEY.id(body.name, "journey.name")
        paths = update_mask_paths(request.update_mask, _JOURNEY_PATHS)
        return journey_to_proto(await self.journeys.update_journey(
            current_caller(), journey_id, body.display_name if "display_name" in paths else None,
            _fields_from_proto(list(body.fields)) if "fields" in paths else None,
            _steps_from_proto(list(body.steps)) if "steps" in paths else None))

    async def StartJourney(self, request: pb.StartJourneyRequest, context: Context) -> pb.JourneyInstance:
        customer_id = resource_names.CUSTOMER.id(request.parent, "parent")
        journey_id = resource_names.JOURNEY.id(request.journey, "journey")
        return instance_to_proto(await self.journeys.start_journey(current_caller(), customer_id, journey_id))

    async def SubmitStep(self, request: pb.SubmitStepRequest, context: Context) -> pb.JourneyInstance:
        customer_id, instance_id = resource_names.JOURNEY_INSTANCE.parse(request.name, "name")
        if not request.step:
            raise InvalidArgument(Reason.JOURNEY_ANSWER_INVALID, "step is required: the step answered",
                                  violations=[FieldViolation("step", "is required")])
        values = {name: value_from_proto(value, f"values[{name[:64]}]", name[:64], Reason.JOURNEY_ANSWER_INVALID)
                  for name, value in request.values.items()}
        return instance_to_proto(await self.journeys.submit_step(current_caller(), customer_id, instance_id,
                                                                 request.step, values))

    async def GetJourneyState(self, request: pb.GetJourneyStateRequest, context: Context) -> pb.JourneyInstance:
        customer_id, instance_id = resource_names.JOURNEY_INSTANCE.parse(request.name, "name")
        return instance_to_proto(await self.journeys.get_state(current_caller(), customer_id, instance_id))

    async def ListJourneyRoutes(self, request: pb.ListJourneyRoutesRequest, context: Context
                                ) -> pb.ListJourneyRoutesResponse:
        customer_id, instance_id = resource_names.JOURNEY_INSTANCE.parse(request.parent, "parent")
        page = await self.journeys.list_routes(
            current_caller(), customer_id, instance_id,
            page_request(request.page_size, request.page_token, ROUTES_LIST, int64_key))
        return pb.ListJourneyRoutesResponse(routes=[route_to_proto(customer_id, r) for r in page.items],
                                            next_page_token=page.next_page_token)
