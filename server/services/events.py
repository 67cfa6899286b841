"""The ports through which committed work reaches the queue (arq in production)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)

# What a bus handler asks to be done once its unit of work committed (e.g. hand deliveries to the queue).
AfterCommit = Callable[[], Awaitable[None]]


async def hand_over(enqueue: Awaitable[None], failed_event: str, **fields: Any) -> None:
    """Hands work the caller has committed to the queue. The database holds it already, so when Redis
    cannot take it now a relay sweep finds it later: the failure is logged as `failed_event`, not
    raised, since the caller's change is done and must not be reported as failed."""
    try:
        await enqueue
    except Exception as exc:
        log.warning(failed_event, error=repr(exc), **fields)


async def announce_committed(publisher: EventPublisher, event_ids: list[int], *, gather_seconds: float = 0.0
                             ) -> None:
    """After the commit that wrote them: hands domain events to the workers; when Redis cannot take
    them, the relay sweep does later (they are in the database). `gather_seconds`: their jobs start that
    much later, so that the first takes in the events committed meanwhile (MessageBus, events_per_job)."""
    if event_ids:
        await hand_over(publisher.announce_events(list(event_ids), defer_seconds=gather_seconds),
                        "domain_events_not_enqueued", event_ids=event_ids)


class EventPublisher(Protocol):
    async def announce_events(self, event_ids: list[int], resend: int = 0, *, defer_seconds: float = 0.0) -> None:
        """Hands committed domain events to the workers, their jobs due `defer_seconds` from now. May fail
        or lose them: the outbox sweep re-sends, each time with a new `resend` number (jobs run at least
        once; the bus runs each handler once per event)."""


class ChunkQueue(Protocol):
    async def enqueue_insight_chunks(self, tenant_id: str, batch_id: str, chunk_numbers: list[int],
                                     resend: int = 0) -> None:
        """Hands batch chunks to the workers; a lost one is re-sent by the sweep."""


class DeliveryQueue(Protocol):
    async def enqueue_deliveries(self, tenant_id: str, delivery_ids: list[str], *, defer_seconds: float = 0.0,
                                 tag: str = "0") -> None:
        """Hands deliveries to the dispatch workers, each job no earlier than `defer_seconds` from now.
        The same (delivery, tag) is enqueued once; a lost job is re-sent by the relay sweep."""

    async def enqueue_due_dispatch(self, tenant_id: str) -> None:
        """Asks the dispatch workers to send every delivery of the tenant that is due: one job serves
        the deliveries recorded within a short window. A lost one is covered by the relay sweep."""

    async def enqueue_campaign(self, tenant_id: str, campaign_id: str, tag: str) -> None:
        """Hands a campaign's fan-out to a worker; the campaign sweep re-sends a lost one."""


class WebhookQueue(Protocol):
    async def enqueue_webhook_deliveries(self, tenant_id: str, delivery_ids: list[str], *,
                                         defer_seconds: float = 0.0, tag: str = "0") -> None:
        """Hands bank notifications' webhook deliveries to the workers, each job no earlier than
        `defer_seconds` from now; the same (delivery, tag) is enqueued once, a lost one is re-sent by
        the relay sweep."""


class Queue(EventPublisher, ChunkQueue, DeliveryQueue, WebhookQueue, Protocol):
    """Every port to the workers at once: what the queue adapter (or NoPublisher) provides."""


class NoPublisher:
    """For operator commands that run without a queue: the workers' sweeps pick the work up."""

    async def announce_events(self, event_ids: list[int], resend: int = 0, *, defer_seconds: float = 0.0) -> None:
        return None

    async def enqueue_insight_chunks(self, tenant_id: str, batch_id: str, chunk_numbers: list[int],
                                     resend: int = 0) -> None:
        return None

    async def enqueue_deliveries(self, tenant_id: str, delivery_ids: list[str], *, defer_seconds: float = 0.0,
                                 tag: str = "0") -> None:
        return None

    async def enqueue_due_dispatch(self, tenant_id: str) -> None:
        return None

    async def enqueue_campaign(self, tenant_id: str, campaign_id: str, tag: str) -> None:
        return None

    async def enqueue_webhook_deliveries(self, tenant_id: str, delivery_ids: list[str], *,
                                         defer_seconds: float = 0.0, tag: str = "0") -> None:
        return None
