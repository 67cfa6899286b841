"""Delivering bank notifications to the bank's webhook: one signed POST per attempt, retried with backoff
until a 2xx or the last attempt; every attempt recorded (docs/triggers.md, "Bank notifications").

A worker claims a due delivery with a lease (so two jobs for one delivery, which arq allows, do not
both POST), POSTs outside any transaction, and records the outcome. A failed attempt with attempts
left re-enqueues the delivery for its next time; the relay sweep re-sends those whose job Redis lost,
or whose worker died holding the lease.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Protocol

import structlog

from server.domain.engagement.retry_policy import RetryPolicy
from server.domain.triggers.notifications import AttemptOutcome, after_attempt, signed_headers
from server.security.secret_box import SecretBox, SecretBoxError
from server.services.activity_metrics import NO_ACTIVITY_METRICS, ActivityMetrics
from server.services.clock import Clock, utc_now
from server.services.events import WebhookQueue, hand_over
from server.store.db import Database
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

# A delivery due this long without a worker holding it has lost its job.
RELAY_GRACE = dt.timedelta(seconds=30)
# Longer than a POST may take (the poster's timeout), so that a lease outlives its attempt.
LEASE = dt.timedelta(seconds=30)


class WebhookPoster(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
        """One POST, within the poster's timeout: the answer's status, or no status and why."""


class WebhookDeliveryService:
    def __init__(self, database: Database, box: SecretBox, queue: WebhookQueue, poster: WebhookPoster,
                 policy: RetryPolicy, clock: Clock = utc_now, rng: random.Random | None = None,
                 metrics: ActivityMetrics = NO_ACTIVITY_METRICS) -> None:
        self._database = database
        self._metrics = metrics
        self._box = box
        self._queue = queue
        self._poster = poster
        self._policy = policy
        self._clock = clock
        self._rng = rng or random.Random()

    async def deliver(self, tenant_id: str, delivery_id: str) -> str:
        """One attempt of a due delivery; its status afterwards ("" when it was not due, done, or held
        by another worker: nothing to do)."""
        async with UnitOfWork(self._database, tenant_id) as uow:
            delivery = await uow.bank_notifications.claim(delivery_id, self._clock(), LEASE)
            webhook = await uow.bank_notifications.webhook() if delivery is not None else None
            await uow.commit()
        if delivery is None:
            return ""
        attempt = delivery.attempts_made + 1
        outcome = await self._attempt(delivery.url, delivery.body, delivery_id,
                                      None if webhook is None else webhook.sealed_secret)
        now = self._clock()
        step = after_attempt(self._policy, attempt, outcome, now, self._rng)
        async with UnitOfWork(self._database, tenant_id) as uow:
            await uow.bank_notifications.record_attempt(delivery_id, attempt, outcome.http_status, outcome.error,
                                                        step.status, step.next_attempt_at, now)
            uow.after_commit(lambda: self._metrics.webhook_attempted(step.status.value))
            await uow.commit()
        log.info("webhook_attempt", tenant_id=tenant_id, delivery_id=delivery_id, attempt=attempt,
                 http_status=outcome.http_status, status=step.status.value)
        if step.next_attempt_at is not None:
            wait = (step.next_attempt_at - now).total_seconds()
            await hand_over(self._queue.enqueue_webhook_deliveries(tenant_id, [delivery_id], defer_seconds=wait,
                                                                   tag=str(attempt)),
                            "webhook_delivery_not_enqueued", tenant_id=tenant_id, delivery_id=delivery_id)
        return step.status.value

    async def _attempt(self, url: str, body: str, delivery_id: str, sealed_secret: bytes | None) -> AttemptOutcome:
        if sealed_secret is None:
            return AttemptOutcome(None, "the bank removed its webhook")
        try:
            secret = self._box.open(sealed_secret)["secret"]
        except (SecretBoxError, KeyError):
            return AttemptOutcome(None, "the webhook's secret cannot be opened with the configured keys")
        headers = signed_headers(secret, delivery_id, body, self._clock())
        return await self._poster.post(url, body.encode(), headers)

    async def relay_lost(self, limit: int = 1000) -> int:
        """The relay sweep: deliveries due for RELAY_GRACE that no worker holds, to the queue again."""
        now = self._clock()
        async with UnitOfWork(self._database) as uow:
            lost = await uow.webhook_deliveries_sweep.lost(now, RELAY_GRACE, limit)
        tag = f"relay-{int(now.timestamp())}"  # not the id of a job Redis kept the result of
        for tenant_id, delivery_id, attempts in lost:
            await self._queue.enqueue_webhook_deliveries(tenant_id, [delivery_id], tag=f"{attempts}-{tag}")
        if lost:
            log.info("webhook_deliveries_relayed", count=len(lost))
        return len(lost)
