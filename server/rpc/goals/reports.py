"""The reporting views' List RPCs."""

from __future__ import annotations

from server.services.goals.reports import GoalReportsService


class ReportRpcs:
    reports: GoalReportsService
