"""ReportingService.ListEventHistory: proto <-> domain translation only. Not built yet."""

from __future__ import annotations

import grpc

from engage.reporting.v1 import event_history_pb2 as pb


class EventHistoryRpcs:
    async def ListEventHistory(self, request: pb.ListEventHistoryRequest,
                  context: grpc.aio.ServicerContext) -> pb.ListEventHistoryResponse:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "ListEventHistory is not built yet")
