"""engage.subscriptions.v1.SubscriptionsService: translation between the wire and SubscriptionsService.
Update bodies go to the validator in the reference's JSON shape (camelCase names, only fields set)."""

from __future__ import annotations

import json

import grpc
from google.protobuf.json_format import MessageToDict

from engage.subscriptions.v1 import subscriptions_service_pb2 as pb
from engage.subscriptions.v1 import subscriptions_service_pb2_grpc as pb_grpc
from server.domain.pagination import int64_key, page_request
from server.rpc.context import current_caller
from server.rpc.convert import timestamp_to_proto
from server.rpc.insights_convert import subscription_to_proto
from server.services.subscriptions import SubscriptionsService


class SubscriptionsServicer(pb_grpc.SubscriptionsServiceServicer):
    def __init__(self, subscriptions: SubscriptionsService) -> None:
        self._subscriptions = subscriptions

    async def GetBankSubscriptions(self, request: pb.GetBankSubscriptionsRequest,
                                   context: grpc.aio.ServicerContext) -> pb.BankSubscriptions:
        views = await self._subscriptions.get_bank(current_caller(), list(request.insight_names))
        return pb.BankSubscriptions(customer_subscription=[subscription_to_proto(v.definition, v.bank) for v in views])

    async def UpdateBankSubscriptions(self, request: pb.UpdateBankSubscriptionsRequest,
                                      context: grpc.aio.ServicerContext) -> pb.BankSubscriptions:
        views = await self._subscriptions.update_bank(current_caller(), MessageToDict(request))
        return pb.BankSubscriptions(customer_subscription=[subscription_to_proto(v.definition, v.bank) for v in views])

    async def GetUserSubscriptions(self, request: pb.GetUserSubscriptionsRequest,
                                   context: grpc.aio.ServicerContext) -> pb.UserSubscriptions:
        views = await self._subscriptions.get_user(current_caller(), request.customer_id, list(request.insight_names))
        return pb.UserSubscriptions(user_subscription=[subscription_to_proto(v.definition, v.bank, v.user)
                                                       for v in views])

    async def UpdateUserSubscriptions(self, request: pb.UpdateUserSubscriptionsRequest,
                                      context: grpc.aio.ServicerContext) -> pb.UserSubscriptions:
        body = MessageToDict(request)
        body.pop("customerId", None)
        views = await self._subscriptions.update_user(current_caller(), request.customer_id, body)
        return pb.UserSubscriptions(user_subscription=[subscription_to_proto(v.definition, v.bank, v.user)
                                                       for v in views])

    async def ListSubscriptionChanges(self, request: pb.ListSubscriptionChangesRequest,
                                      context: grpc.aio.ServicerContext) -> pb.ListSubscriptionChangesResponse:
        page = await self._subscriptions.changes(
            current_caller(), request.customer_id or None,
            page_request(request.page_size, request.page_token, "subscription-changes", int64_key))
        return pb.ListSubscriptionChangesResponse(changes=[pb.SubscriptionChange(
            insight_name=c["insight_name"], customer_id=c["customer_id"], changed_by=c["changed_by"],
            changed_by_role=c["changed_by_role"], change_time=timestamp_to_proto(c["changed_at"]),
            before_json=json.dumps(c["before"], sort_keys=True), after_json=json.dumps(c["after"], sort_keys=True))
            for c in page.items], next_page_token=page.next_page_token)
