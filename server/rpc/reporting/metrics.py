"""ReportingService.QueryMetrics: proto <-> domain translation only. Not built yet."""

from __future__ import annotations

import grpc

from engage.reporting.v1 import metrics_pb2 as pb


class MetricsRpcs:
    async def QueryMetrics(self, request: pb.QueryMetricsRequest,
                  context: grpc.aio.ServicerContext) -> pb.QueryMetricsResponse:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "QueryMetrics is not built yet")
