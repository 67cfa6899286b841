"""ReportingService.SummarizeGoals: proto <-> domain translation only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from engage.reporting.v1 import goals_summary_pb2 as pb
from server.domain.reporting.goals_summary import GoalsSummary, GoalsSummaryFilter
from server.domain.reporting.metrics import check_date_order
from server.rpc.context import current_caller
from server.rpc.convert import date_range_field, date_to_proto

if TYPE_CHECKING:
    from server.bootstrap import Services


def summary_filter(request: pb.SummarizeGoalsRequest) -> GoalsSummaryFilter:
    since, until = date_range_field(request, "date_range")
    check_date_order(since, until)
    return GoalsSummaryFilter(since, until)


def summary_message(summary: GoalsSummary) -> pb.GoalsSummary:
    return pb.GoalsSummary(
        goals=summary.goals,
        progress=[pb.ProgressBucket(lower_percent=b.lower_percent, upper_percent=b.upper_percent, goals=b.goals)
                  for b in summary.progress],
        milestones=[pb.MilestonesInPeriod(period_start=date_to_proto(m.month), milestone=m.milestone,
                                          reached=m.reached) for m in summary.milestones])


class GoalsSummaryRpcs:
    services: Services

    async def SummarizeGoals(self, request: pb.SummarizeGoalsRequest,
                             context: grpc.aio.ServicerContext) -> pb.GoalsSummary:
        return summary_message(await self.services.goals_summary.summarize(current_caller(),
                                                                           summary_filter(request)))
