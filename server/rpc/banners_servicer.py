"""engage.triggers.v1.BannersService: proto <-> domain translation only."""

from __future__ import annotations

import grpc

from engage.triggers.v1 import banners_service_pb2 as pb
from engage.triggers.v1 import banners_service_pb2_grpc
from server.domain import resource_names
from server.domain.pagination import page_request
from server.rpc.context import current_caller
from server.rpc.triggers_convert import banner_to_proto
from server.services.triggers.banners import BANNERS_LIST, BannersService

Context = grpc.aio.ServicerContext


class BannersServicer(banners_service_pb2_grpc.BannersServiceServicer):
    def __init__(self, banners: BannersService) -> None:
        self.banners = banners

    async def ListBanners(self, request: pb.ListBannersRequest, context: Context) -> pb.ListBannersResponse:
        customer_id = resource_names.CUSTOMER.id(request.parent, "parent")
        page = await self.banners.list_banners(current_caller(), customer_id,
                                               page_request(request.page_size, request.page_token, BANNERS_LIST))
        return pb.ListBannersResponse(banners=[banner_to_proto(b) for b in page.items],
                                      next_page_token=page.next_page_token)

    async def RecordBannerImpression(self, request: pb.RecordBannerImpressionRequest, context: Context
                                     ) -> pb.Banner:
        customer_id, banner_id = resource_names.BANNER.parse(request.name, "name")
        return banner_to_proto(await self.banners.record_impression(current_caller(), customer_id, banner_id))

    async def RecordBannerClick(self, request: pb.RecordBannerClickRequest, context: Context) -> pb.Banner:
        customer_id, banner_id = resource_names.BANNER.parse(request.name, "name")
        return banner_to_proto(await self.banners.record_click(current_caller(), customer_id, banner_id))
