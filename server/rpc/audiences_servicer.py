"""The audience RPCs of engage.personas.v1.PersonasService: proto <-> domain translation only
(PersonasServicer takes them in)."""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from engage.personas.v1 import personas_service_pb2 as pb
from server.domain import resource_names
from server.domain.pagination import page_request
from server.domain.personas.audiences import Audience, AudienceDefinition, AudienceMode, audience_definition
from server.rpc.context import current_caller
from server.rpc.convert import timestamp_to_proto, update_mask_paths
from server.services.audiences import AUDIENCE_MEMBERS_LIST, AUDIENCES_LIST, AudiencesService

Context = grpc.aio.ServicerContext

_AUDIENCE_PATHS = {"display_name", "description", "definition"}
_MODES = {pb.AUDIENCE_MODE_ALL: AudienceMode.ALL, pb.AUDIENCE_MODE_ANY: AudienceMode.ANY}
_MODE_NUMBERS = {mode: number for number, mode in _MODES.items()}


def definition_from_proto(definition: pb.AudienceDefinition) -> AudienceDefinition:
    return audience_definition(list(definition.include), _MODES.get(definition.mode), list(definition.exclude))


def audience_to_proto(audience: Audience) -> pb.Audience:
    definition = audience.definition
    return pb.Audience(
        name=resource_names.AUDIENCE.format(audience.audience_id), display_name=audience.display_name,
        description=audience.description, definition=pb.AudienceDefinition(
            include=[p.name for p in definition.include], mode=_MODE_NUMBERS[definition.mode],
            exclude=[p.name for p in definition.exclude]),
        create_time=timestamp_to_proto(audience.created_at), update_time=timestamp_to_proto(audience.updated_at))


class AudienceMethods:
    """Mixed into PersonasServicer, which sets `audiences`."""

    audiences: AudiencesService

    async def CreateAudience(self, request: pb.CreateAudienceRequest, context: Context) -> pb.Audience:
        body = request.audience
        return audience_to_proto(await self.audiences.create(
            current_caller(), request.audience_id, body.display_name, body.description,
            definition_from_proto(body.definition)))

    async def GetAudience(self, request: pb.GetAudienceRequest, context: Context) -> pb.Audience:
        audience_id = resource_names.AUDIENCE.id(request.name, "name")
        return audience_to_proto(await self.audiences.get(current_caller(), audience_id))

    async def ListAudiences(self, request: pb.ListAudiencesRequest, context: Context) -> pb.ListAudiencesResponse:
        page = await self.audiences.list(current_caller(),
                                         page_request(request.page_size, request.page_token, AUDIENCES_LIST))
        return pb.ListAudiencesResponse(audiences=[audience_to_proto(a) for a in page.items],
                                        next_page_token=page.next_page_token)

    async def UpdateAudience(self, request: pb.UpdateAudienceRequest, context: Context) -> pb.Audience:
        body = request.audience
        audience_id = resource_names.AUDIENCE.id(body.name, "audience.name")
        paths = update_mask_paths(request.update_mask, _AUDIENCE_PATHS)
        return audience_to_proto(await self.audiences.update(
            current_caller(), audience_id, body.display_name if "display_name" in paths else None,
            body.description if "description" in paths else None,
            definition_from_proto(body.definition) if "definition" in paths else None))

    async def DeleteAudience(self, request: pb.DeleteAudienceRequest, context: Context) -> empty_pb2.Empty:
        audience_id = resource_names.AUDIENCE.id(request.name, "name")
        await self.audiences.delete(current_caller(), audience_id)
        return empty_pb2.Empty()

    async def ListAudienceMembers(self, request: pb.ListAudienceMembersRequest, context: Context
                                  ) -> pb.ListAudienceMembersResponse:
        audience_id = resource_names.AUDIENCE.id(request.audience, "audience")
        page = await self.audiences.list_members(
            current_caller(), audience_id, page_request(request.page_size, request.page_token, AUDIENCE_MEMBERS_LIST))
        return pb.ListAudienceMembersResponse(customers=[resource_names.CUSTOMER.format(c) for c in page.items],
                                              next_page_token=page.next_page_token)

    async def IsAudienceMember(self, request: pb.IsAudienceMemberRequest, context: Context
                               ) -> pb.IsAudienceMemberResponse:
        audience_id = resource_names.AUDIENCE.id(request.audience, "audience")
        customer_id = resource_names.CUSTOMER.id(request.customer, "customer")
        return pb.IsAudienceMemberResponse(
            member=await self.audiences.is_member(current_caller(), audience_id, customer_id))
