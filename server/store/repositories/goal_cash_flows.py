"""Each change of a goal's saved amount with the posting that caused it."""

from __future__ import annotations

from server.store.repositories.base import TenantRepository


class GoalCashFlowsRepository(TenantRepository):
    pass
