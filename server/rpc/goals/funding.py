"""Funding programme and transfer RPCs."""

from __future__ import annotations

from server.services.goals.funding import GoalFundingService


class FundingRpcs:
    funding: GoalFundingService
