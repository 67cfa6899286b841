"""engage.goals.v1.GoalsService: proto <-> domain translation only, one mixin per group of RPCs."""

from __future__ import annotations

from engage.goals.v1 import goals_service_pb2_grpc
from server.rpc.goals.funding import FundingRpcs
from server.rpc.goals.management import ManagementRpcs
from server.rpc.goals.reports import ReportRpcs
from server.rpc.goals.tracking import TrackingRpcs
from server.services.goals.funding import GoalFundingService
from server.services.goals.management import GoalsService
from server.services.goals.reports import GoalReportsService
from server.services.goals.tracking import GoalTrackingService


class GoalsServicer(ManagementRpcs, TrackingRpcs, FundingRpcs, ReportRpcs, goals_service_pb2_grpc.GoalsServiceServicer):
    def __init__(self, goals: GoalsService, tracking: GoalTrackingService, funding: GoalFundingService,
                 reports: GoalReportsService) -> None:
        self.goals = goals
        self.tracking = tracking
        self.funding = funding
        self.reports = reports
