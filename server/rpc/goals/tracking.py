"""GetGoalTracker."""

from __future__ import annotations

from server.services.goals.tracking import GoalTrackingService


class TrackingRpcs:
    tracking: GoalTrackingService
