"""Funding programmes and the transfers they request."""

from __future__ import annotations

from server.store.repositories.base import TenantRepository


class FundingProgrammesRepository(TenantRepository):
    pass


class GoalTransfersRepository(TenantRepository):
    pass
