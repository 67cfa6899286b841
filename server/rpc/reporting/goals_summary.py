"""ReportingService.SummarizeGoals: proto <-> domain translation only. Not built yet."""

from __future__ import annotations

import grpc

from engage.reporting.v1 import goals_summary_pb2 as pb


class GoalsSummaryRpcs:
    async def SummarizeGoals(self, request: pb.SummarizeGoalsRequest,
                  context: grpc.aio.ServicerContext) -> pb.GoalsSummary:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "SummarizeGoals is not built yet")
