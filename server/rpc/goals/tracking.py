"""GetGoalTracker: proto <-> domain translation only. The reference's getInsights with ctxId goalTracking
is this call (docs/goals-tracking.md)."""

from __future__ import annotations

import grpc

from engage.goals.v1 import goals_service_pb2 as pb
from engage.type.v1 import date_pb2
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.resource_names import GOAL, ResourcePattern
from server.rpc.context import current_caller
from server.rpc.convert import date_field, date_to_proto, money_to_proto, timestamp_to_proto
from server.services.goals.tracking import GoalTrackerView, GoalTrackingService, TrackedLine

Context = grpc.aio.ServicerContext

GOAL_TRACKER = ResourcePattern("customers/{customer}/goalTracker")


def _track_status(line: TrackedLine) -> pb.TrackStatus.ValueType:
    if line.line.status == "ARCHIVED":
        return pb.TRACK_STATUS_UNSPECIFIED
    if line.line.on_track is None:
        return pb.TRACK_STATUS_NO_TARGET_DATE
    return pb.TRACK_STATUS_ON_TRACK if line.line.on_track else pb.TRACK_STATUS_BEHIND


def _line_to_proto(tracked: TrackedLine, currency: str) -> pb.GoalTrackerLine:
    line, forecast, goal = tracked.line, tracked.forecast, tracked.goal
    archived = line.status == "ARCHIVED"
    return pb.GoalTrackerLine(
        goal=GOAL.format(goal.customer_id, goal.goal_id), display_name=line.name,
        state=pb.GoalState.Value(f"GOAL_STATE_{line.status}"), saved=money_to_proto(line.saved, currency),
        target=money_to_proto(line.target, currency), percent=str(line.percent),
        target_date=date_to_proto(line.target_date), period_cash_flow=money_to_proto(line.period_cash_flow, currency),
        monthly_pace=money_to_proto(forecast.pace.monthly, currency),
        projected_completion_date=date_to_proto(line.projected_completion), track_status=_track_status(tracked),
        forecast=None if archived else pb.CompletionForecast(earliest_date=date_to_proto(forecast.earliest),
                                                             latest_date=date_to_proto(forecast.latest)),
        explanation=tracked.explanation)


def tracker_to_proto(view: GoalTrackerView) -> pb.GoalTracker:
    first, last = view.period
    return pb.GoalTracker(
        name=GOAL_TRACKER.format(view.customer_id), lines=[_line_to_proto(t, view.currency) for t in view.lines],
        period=date_pb2.DateRange(start_date=date_to_proto(first), end_date=date_to_proto(last)),
        safe_to_save=money_to_proto(view.safe_to_save.amount, view.currency),
        safe_to_save_explanation="; ".join(view.safe_to_save.explanation),
        generate_time=timestamp_to_proto(view.generated_at))


class TrackingRpcs:
    tracking: GoalTrackingService

    async def GetGoalTracker(self, request: pb.GetGoalTrackerRequest, context: Context) -> pb.GoalTracker:
        customer_id = GOAL_TRACKER.id(request.name, "name")
        period = None
        if request.HasField("period"):
            first = date_field(request.period, "start_date", "period.start_date")
            last = date_field(request.period, "end_date", "period.end_date")
            if first is None or last is None:
                raise InvalidArgument("INVALID_DATE", "a period needs its start and end dates",
                                      violations=[FieldViolation("period", "start_date and end_date")])
            period = (first, last)
        return tracker_to_proto(await self.tracking.tracker(current_caller(), customer_id, period))
