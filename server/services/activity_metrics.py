"""What the use cases tell an operator's metrics, as a port: the services call it where the thing
happens, after their transaction committed (UnitOfWork.after_commit), and know nothing of Prometheus
(server.metrics adapts it). Tests and tools that build services without metrics get the silent one."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from typing import Protocol


class InsightOrigin(enum.StrEnum):
    """How an insight came to be generated, in the words the insight history uses: a chunk of a scheduled
    batch, an ingested posting (EVENT insights and goal milestones), or TriggerInsights."""

    SCHEDULE = "SCHEDULE"
    EVENT = "EVENT"
    ON_DEMAND = "ON_DEMAND"


class ActivityMetrics(Protocol):
    def insights_generated(self, origin: InsightOrigin, insight_names: Iterable[str]) -> None:
        """Feed items committed, one name per item."""

    def rules_fired(self, tenant_id: str, rule_ids: Iterable[str]) -> None:
        """Trigger rule firings committed, one rule id per firing."""

    def webhook_attempted(self, status: str) -> None:
        """One webhook POST recorded, with the delivery's status after it (PENDING: to be retried)."""


class NoActivityMetrics:
    def insights_generated(self, origin: InsightOrigin, insight_names: Iterable[str]) -> None:
        pass

    def rules_fired(self, tenant_id: str, rule_ids: Iterable[str]) -> None:
        pass

    def webhook_attempted(self, status: str) -> None:
        pass


NO_ACTIVITY_METRICS = NoActivityMetrics()


def tally(names: Iterable[str]) -> dict[str, int]:
    """How many of each name, for adapters that count in batches."""
    return dict(Counter(names))
