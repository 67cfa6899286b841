"""Dispatch (worker side): claims one delivery, sends it through its channel, and records the answer.
Temporary errors come back later with exponential backoff and jitter until the tries run out
(dead letter); permanent errors fail at once; a sent delivery is never claimed again."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from typing import Protocol

import structlog

from server.domain.engagement.entities import ChannelConfig, Delivery, DeliveryState
from server.domain.engagement.retry_policy import RetryPolicy
from server.domain.engagement.sending import SendOutcome, SendReport
from server.security.secret_box import SecretBox, SecretBoxError
from server.services.clock import Clock, utc_now
from server.services.engagement import PARK_HORIZON
from server.services.events import DeliveryQueue
from server.store.db import Database
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)


class ChannelGateway(Protocol):
    async def send(self, delivery: Delivery, content: dict[str, str], config: ChannelConfig,
                   secrets: dict[str, str], callback_url: str | None) -> SendReport:
        """Sends through the provider; classifies every problem instead of raising."""


class RateLimiter(Protocol):
    async def wait_time(self, key: str, per_second: int) -> float:
        """Seconds to wait before this send may go (0: go now); counts the send when it may go."""


class DispatchService:
    def __init__(self, database: Database, box: SecretBox, queue: DeliveryQueue, gateway: ChannelGateway,
                 limiter: RateLimiter, policy: RetryPolicy, lease: dt.timedelta, default_rate_limit: int,
                 receipts_base_url: str | None = None, clock: Clock = utc_now) -> None:
        self._database = database
        self._box = box
        self._queue = queue
        self._gateway = gateway
        self._limiter = limiter
        self._policy = policy
        self._lease = lease
        self._default_rate_limit = default_rate_limit
        self._receipts_base_url = receipts_base_url.rstrip("/") if receipts_base_url else None
        self._clock = clock
        self._random = random.Random()

    async def dispatch(self, tenant_id: str, delivery_id: str) -> str:
        """One job. Returns what happened (for logs and tests): a state, or 'not-mine' when the delivery
        is done, not due yet or held by a live worker."""
        async with UnitOfWork(self._database, tenant_id) as uow:
            delivery = await uow.deliveries.claim(delivery_id, self._clock(), self._lease)
            config = await uow.channel_configs.get(delivery.config_id) if delivery else None
            sealed = await uow.channel_configs.sealed_secrets(delivery.config_id) if delivery and config else None
            await uow.commit()
        if delivery is None:
            return "not-mine"
        if config is None:
            return await self._finish(tenant_id, delivery, SendReport(
                SendOutcome.PERMANENT_FAILURE, error_code="CHANNEL_CONFIG_MISSING",
                error_message=f"channel configuration '{delivery.config_id}' no longer exists"))
        try:
            content = self._box.open(delivery.sealed_content) if delivery.sealed_content else delivery.content
            secrets = self._box.open(sealed) if sealed else {}
        except SecretBoxError as exc:
            # A key that was rotated away or mistyped: retrying cannot help, an operator must look.
            log.error("delivery_secrets_unreadable", tenant=tenant_id, delivery=delivery.delivery_id, error=str(exc))
            return await self._finish(tenant_id, delivery, SendReport(
                SendOutcome.PERMANENT_FAILURE, error_code="SECRETS_UNREADABLE", error_message=str(exc)))
        await self._respect_rate_limit(tenant_id, config)
        callback = (f"{self._receipts_base_url}/{tenant_id}/{config.config_id}"
                    if self._receipts_base_url else None)
        try:
            # Stay well inside the lease, so that no other worker takes the delivery over mid-send.
            report = await asyncio.wait_for(
                self._gateway.send(delivery, content, config, secrets, callback),
                timeout=max(self._lease.total_seconds() - 5, 1))
        except TimeoutError:
            report = SendReport(SendOutcome.TEMPORARY_FAILURE, error_code="TIMEOUT",
                                error_message="the provider did not answer in time")
        return await self._finish(tenant_id, delivery, report)

    async def _respect_rate_limit(self, tenant_id: str, config: ChannelConfig) -> None:
        per_second = config.rate_limit_per_second or self._default_rate_limit
        for _ in range(50):
            wait = await self._limiter.wait_time(f"{tenant_id}:{config.config_id}", per_second)
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def _finish(self, tenant_id: str, delivery: Delivery, report: SendReport) -> str:
        now = self._clock()
        retry_at: dt.datetime | None = None
        async with UnitOfWork(self._database, tenant_id) as uow:
            if report.outcome is SendOutcome.SENT:
                state = DeliveryState.SENT
                await uow.deliveries.finish(delivery.delivery_id, state, now,
                                            provider_message_id=report.provider_message_id)
            elif report.outcome is SendOutcome.PERMANENT_FAILURE:
                state = DeliveryState.FAILED
                await uow.deliveries.finish(delivery.delivery_id, state, now, error_code=report.error_code,
                                            error_message=report.error_message)
            elif self._policy.is_exhausted(delivery.attempts):
                state = DeliveryState.DEAD_LETTER
                await uow.deliveries.finish(delivery.delivery_id, state, now, error_code=report.error_code,
                                            error_message=report.error_message)
            else:
                state = DeliveryState.QUEUED
                delay = self._policy.delay_before_try(delivery.attempts + 1, self._random)
                delay = max(delay, report.retry_after_seconds or 0.0)
                retry_at = now + dt.timedelta(seconds=delay)
                await uow.deliveries.reschedule(delivery.delivery_id, retry_at, now, error_code=report.error_code,
                                                error_message=report.error_message)
            await uow.commit()
        if retry_at is not None and retry_at - now <= PARK_HORIZON:
            await self._queue.enqueue_deliveries(tenant_id, [delivery.delivery_id], tag=f"try{delivery.attempts + 1}",
                                                 defer_seconds=(retry_at - now).total_seconds())
        log.info("delivery_dispatched", tenant=tenant_id, delivery=delivery.delivery_id, channel=str(delivery.channel),
                 provider=delivery.provider, attempt=delivery.attempts, state=str(state),
                 error_code=report.error_code or None)
        return str(state)
