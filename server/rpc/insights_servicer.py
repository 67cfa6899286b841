"""engage.insights.v1.InsightsService: translation between the wire and InsightsService only."""

from __future__ import annotations

import datetime as dt

import grpc

from engage.insights.v1 import insights_service_pb2 as pb
from engage.insights.v1 import insights_service_pb2_grpc as pb_grpc
from server.domain import resource_names
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.insights.batches import Batch
from server.domain.insights.feed import Interaction
from server.domain.pagination import instant_and_text_key, page_request, text_key
from server.rpc.context import current_caller
from server.rpc.convert import date_field, date_to_proto, timestamp_to_proto
from server.rpc.insights_convert import definition_to_proto, feed_item_to_proto
from server.services.insights import InsightsService


def _batch_to_proto(batch: Batch) -> pb.InsightBatch:
    done = batch.finished_at is not None
    return pb.InsightBatch(
        name=f"insightBatches/{batch.batch_id}", batch_id=batch.batch_id, as_of=date_to_proto(batch.as_of),
        state=pb.BATCH_STATE_SUCCEEDED if done else pb.BATCH_STATE_RUNNING, total_chunks=batch.total_chunks,
        done_chunks=batch.done_chunks, users_evaluated=batch.users_evaluated, items_generated=batch.items_generated,
        create_time=timestamp_to_proto(batch.created_at), finish_time=timestamp_to_proto(batch.finished_at))


class InsightsServicer(pb_grpc.InsightsServiceServicer):
    def __init__(self, insights: InsightsService) -> None:
        self._insights = insights

    async def ListInsightDefinitions(self, request: pb.ListInsightDefinitionsRequest,
                                     context: grpc.aio.ServicerContext) -> pb.ListInsightDefinitionsResponse:
        return pb.ListInsightDefinitionsResponse(
            insight_definitions=[definition_to_proto(d) for d in self._insights.definitions(current_caller())])

    async def TriggerInsights(self, request: pb.TriggerInsightsRequest,
                              context: grpc.aio.ServicerContext) -> pb.TriggerInsightsResponse:
        result = await self._insights.trigger(current_caller(), request.customer_id, list(request.insight_names),
                                              date_field(request, "as_of", "as_of"))
        return pb.TriggerInsightsResponse(
            generated=[feed_item_to_proto(i) for i in result.generated],
            not_generated=[pb.NotGenerated(insight_name=n.insight_name, reason=n.reason.value, period=n.period)
                           for n in result.not_generated])

    async def GetFeed(self, request: pb.GetFeedRequest, context: grpc.aio.ServicerContext) -> pb.GetFeedResponse:
        since = until = None
        if request.HasField("create_date_range"):
            since = date_field(request.create_date_range, "start_date", "create_date_range.start_date")
            until = date_field(request.create_date_range, "end_date", "create_date_range.end_date")
        page = await self._insights.feed(current_caller(), request.customer_id, list(request.insight_names), since,
                                         until, page_request(request.page_size, request.page_token, "feed",
                                                             instant_and_text_key))
        return pb.GetFeedResponse(feed=[feed_item_to_proto(i) for i in page.items],
                                  next_page_token=page.next_page_token)

    async def RecordInteraction(self, request: pb.RecordInteractionRequest,
                                context: grpc.aio.ServicerContext) -> pb.Interaction:
        customer_id, feed_item_id = resource_names.FEED_ITEM.parse(request.feed_item, "feed_item")
        name = pb.InteractionType.Name(request.type).removeprefix("INTERACTION_TYPE_") \
            if request.type in pb.InteractionType.values() else ""
        if name not in Interaction.__members__:
            raise InvalidArgument("INVALID_ENUM", "type must be VIEWED, CLICKED, DISMISSED or ACTED",
                                  violations=[FieldViolation("type", "VIEWED, CLICKED, DISMISSED or ACTED")])
        caller = current_caller()
        when = await self._insights.record_interaction(caller, customer_id, feed_item_id, Interaction(name))
        return pb.Interaction(feed_item=request.feed_item, type=request.type, subject=caller.subject,
                              create_time=timestamp_to_proto(when))

    async def RunInsightBatch(self, request: pb.RunInsightBatchRequest,
                              context: grpc.aio.ServicerContext) -> pb.InsightBatch:
        batch = await self._insights.run_batch(current_caller(), date_field(request, "as_of", "as_of"),
                                               request.chunk_size)
        return _batch_to_proto(batch)

    async def GetInsightBatch(self, request: pb.GetInsightBatchRequest,
                              context: grpc.aio.ServicerContext) -> pb.InsightBatch:
        batch_id = resource_names.INSIGHT_BATCH.id(request.name, "name")
        return _batch_to_proto(await self._insights.get_batch(current_caller(), batch_id))

    async def ListInsightBatches(self, request: pb.ListInsightBatchesRequest,
                                 context: grpc.aio.ServicerContext) -> pb.ListInsightBatchesResponse:
        page = await self._insights.list_batches(current_caller(), page_request(
            request.page_size, request.page_token, "insight_batches", _date_key))
        return pb.ListInsightBatchesResponse(insight_batches=[_batch_to_proto(b) for b in page.items],
                                             next_page_token=page.next_page_token)


def _date_key(after: object) -> str:
    """A batches page token's key: an ISO date (ValueError otherwise: a forged token)."""
    return dt.date.fromisoformat(text_key(after)).isoformat()
