"""Enrolments in the goals programme, goals, and the customer history (server.store.goals_models)."""

from __future__ import annotations

from server.store.repositories.base import TenantRepository


class GoalEnrolmentsRepository(TenantRepository):
    """One enrolment per customer."""


class GoalsRepository(TenantRepository):
    """Goals, by customer and by target account."""


class GoalHistoryRepository(TenantRepository):
    """The customer history: appended to, listed by customer, kind and period."""
