"""What the use cases tell an operator's metrics, as a port: the services call it where the thing
happens, after their transaction committed (UnitOfWork.after_commit), and know nothing of Prometheus
(server.metrics adapts it). Tests and tools that build services without metrics get the silent one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from server.domain.insights.feed import Origin


class ActivityMetrics(Protocol):
    def insights_generated(self, origin: Origin, insight_names: Iterable[str]) -> None:
        """Feed items committed, one name per item."""

    def rules_fired(self, tenant_id: str, rule_ids: Iterable[str]) -> None:
        """Trigger rule firings committed, one rule id per firing."""

    def webhook_attempted(self, status: str) -> None:
        """One webhook POST recorded, with the delivery's status after it (PENDING: to be retried)."""


class NoActivityMetrics:
    def insights_generated(self, origin: Origin, insight_names: Iterable[str]) -> None:
        pass

    def rules_fired(self, tenant_id: str, rule_ids: Iterable[str]) -> None:
        pass

    def webhook_attempted(self, status: str) -> None:
        pass


NO_ACTIVITY_METRICS = NoActivityMetrics()
