"""Enrolment, goals and history RPCs."""

from __future__ import annotations

from server.services.goals.management import GoalsService


class ManagementRpcs:
    goals: GoalsService
