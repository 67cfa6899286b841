"""ReportingService: the reporting views' RPCs, one mixin per view in server/rpc/reporting/."""

from __future__ import annotations

from engage.reporting.v1 import reporting_service_pb2_grpc
from server.bootstrap import Services
from server.rpc.reporting.event_history import EventHistoryRpcs
from server.rpc.reporting.exports import ExportRpcs
from server.rpc.reporting.goals_summary import GoalsSummaryRpcs
from server.rpc.reporting.insight_history import InsightHistoryRpcs
from server.rpc.reporting.metrics import MetricsRpcs


class ReportingServicer(InsightHistoryRpcs, EventHistoryRpcs, MetricsRpcs, GoalsSummaryRpcs, ExportRpcs,
                        reporting_service_pb2_grpc.ReportingServiceServicer):
    def __init__(self, services: Services) -> None:
        self.services = services
