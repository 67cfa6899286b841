"""ReportingService.ListInsightHistory: proto <-> domain translation only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from engage.reporting.v1 import insight_history_pb2 as pb
from server.domain.insights.feed import Interaction, Origin
from server.domain.reporting.insight_history import CREATE_TIME, InsightHistoryFilter, InsightHistoryLine
from server.domain.reporting.ordering import check_dates, newest_first
from server.rpc.context import current_caller
from server.rpc.convert import date_range_field, enum_from_proto, timestamp_to_proto

if TYPE_CHECKING:
    from server.bootstrap import Services

_ORIGIN_NAMES = {int(number): name for name, number in pb.InsightOrigin.items()}
_INTERACTION_NAMES = {int(number): name for name, number in pb.InteractionKind.items()}
_ORIGINS = {name.removeprefix("INSIGHT_ORIGIN_"): number for name, number in pb.InsightOrigin.items()}
_INTERACTIONS = {name.removeprefix("INTERACTION_KIND_"): number for name, number in pb.InteractionKind.items()}


def insight_history_filter(request: pb.ListInsightHistoryRequest) -> InsightHistoryFilter:
    """The request's filters (ExportView reads the same request)."""
    origin = enum_from_proto(Origin, "INSIGHT_ORIGIN_", request.origin, _ORIGIN_NAMES, "origin").value \
        if request.origin else ""
    interaction = enum_from_proto(Interaction, "INTERACTION_KIND_", request.interaction, _INTERACTION_NAMES,
                                  "interaction").value if request.interaction else ""
    return InsightHistoryFilter(
        customer_id=request.customer_id, insight_name=request.insight, origin=origin, interaction=interaction,
        create_dates=check_dates(date_range_field(request, "create_date_range"), "create_date_range"),
        newest_first=newest_first(request.order_by, CREATE_TIME))


def insight_history_row(line: InsightHistoryLine) -> pb.InsightHistoryRow:
    return pb.InsightHistoryRow(
        customer_id=line.customer_id, feed_item_id=line.feed_item_id, insight=line.insight_name,
        origin=_ORIGINS.get(line.origin, pb.INSIGHT_ORIGIN_UNSPECIFIED), period=line.period,
        create_time=timestamp_to_proto(line.created_at), expire_time=timestamp_to_proto(line.expires_at),
        interactions=[pb.InsightInteraction(kind=_INTERACTIONS.get(i.kind, pb.INTERACTION_KIND_UNSPECIFIED),
                                            create_time=timestamp_to_proto(i.at)) for i in line.interactions])


class InsightHistoryRpcs:
    services: Services

    async def ListInsightHistory(self, request: pb.ListInsightHistoryRequest,
                                 context: grpc.aio.ServicerContext) -> pb.ListInsightHistoryResponse:
        view = self.services.insight_history
        wanted = insight_history_filter(request)
        page = await view.page(current_caller(), wanted,
                               view.page_request(wanted, request.page_size, request.page_token))
        return pb.ListInsightHistoryResponse(rows=[insight_history_row(line) for line in page.items],
                                             next_page_token=page.next_page_token)
