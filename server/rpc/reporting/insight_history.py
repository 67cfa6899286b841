"""ReportingService.ListInsightHistory: proto <-> domain translation only. Not built yet."""

from __future__ import annotations

import grpc

from engage.reporting.v1 import insight_history_pb2 as pb


class InsightHistoryRpcs:
    async def ListInsightHistory(self, request: pb.ListInsightHistoryRequest,
                  context: grpc.aio.ServicerContext) -> pb.ListInsightHistoryResponse:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "ListInsightHistory is not built yet")
