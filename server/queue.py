"""arq on Redis: the adapter behind the EventPublisher port, shared by server and workers."""

from __future__ import annotations

import datetime as dt
import math
import time

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings

PROCESS_DOMAIN_EVENT = "process_domain_event"
EVALUATE_INSIGHT_CHUNK = "evaluate_insight_chunk"
DISPATCH_DELIVERY = "dispatch_delivery"
DISPATCH_DUE = "dispatch_due"
# Deliveries that fall due within one window share one dispatch job, which starts when the window
# ends: the delay a message waits for company, traded for one job (and a handful of statements) per
# window instead of per message.
DISPATCH_WINDOW_SECONDS = 0.05
RUN_CAMPAIGN = "run_campaign"
DELIVER_WEBHOOK = "deliver_webhook"


def redis_settings(redis_url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(redis_url)
    settings.conn_timeout = 2
    settings.conn_retries = 2
    return settings


async def open_queue(redis_url: str) -> ArqRedis:
    return await create_pool(redis_settings(redis_url))


class ArqPublisher:
    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self._redis = redis
        self._queue_name = queue_name
        self._due_windows: dict[str, int] = {}  # tenant -> the last dispatch window enqueued from here

    async def announce_events(self, event_ids: list[int], resend: int = 0, *, defer_seconds: float = 0.0) -> None:
        defer = defer_seconds if defer_seconds > 0 else None
        for event_id in event_ids:
            # The job id makes a repeated announcement a no-op while its job is queued or kept. A resend
            # gets a new id: Redis may have lost the queue entry but kept the job key. Ids name the queue
            # because they are global to the Redis database.
            await self._redis.enqueue_job(PROCESS_DOMAIN_EVENT, event_id,
                                          _job_id=f"{self._queue_name}:domain-event:{event_id}:{resend}",
                                          _queue_name=self._queue_name, _defer_by=defer)

    async def enqueue_insight_chunks(self, tenant_id: str, batch_id: str, chunk_numbers: list[int],
                                     resend: int = 0) -> None:
        for number in chunk_numbers:
            await self._redis.enqueue_job(EVALUATE_INSIGHT_CHUNK, tenant_id, batch_id, number,
                                          _job_id=f"{self._queue_name}:insight-chunk:{batch_id}:{number}:{resend}",
                                          _queue_name=self._queue_name)

    async def enqueue_deliveries(self, tenant_id: str, delivery_ids: list[str], *, defer_seconds: float = 0.0,
                                 tag: str = "0") -> None:
        defer = defer_seconds if defer_seconds > 0 else None
        for delivery_id in delivery_ids:
            await self._redis.enqueue_job(DISPATCH_DELIVERY, tenant_id, delivery_id,
                                          _job_id=f"{self._queue_name}:delivery:{delivery_id}:{tag}",
                                          _queue_name=self._queue_name, _defer_by=defer)

    async def enqueue_due_dispatch(self, tenant_id: str) -> None:
        # The job of the window now open: enqueued by the first delivery of the window, a no-op for the
        # rest (the job id is taken), started when the window ends, so it finds every delivery committed
        # before its enqueue. The window's end is after this call, hence after the caller's commit.
        window = math.floor(time.time() / DISPATCH_WINDOW_SECONDS) + 1
        if self._due_windows.get(tenant_id) == window:
            # This process enqueued the window's job or is enqueuing it now: either way it starts after
            # this caller's commit. Marked before the enqueue so that concurrent calls do not all ask.
            return
        self._due_windows[tenant_id] = window
        try:
            await self._redis.enqueue_job(
                DISPATCH_DUE, tenant_id, _job_id=f"{self._queue_name}:due:{tenant_id}:{window}",
                _queue_name=self._queue_name,
                _defer_until=dt.datetime.fromtimestamp(window * DISPATCH_WINDOW_SECONDS, dt.UTC))
        except BaseException:
            # Not enqueued: the next caller asks again; those that relied on this one are found by the
            # relay sweep, as when Redis loses a job.
            if self._due_windows.get(tenant_id) == window:
                del self._due_windows[tenant_id]
            raise

    async def enqueue_campaign(self, tenant_id: str, campaign_id: str, tag: str) -> None:
        await self._redis.enqueue_job(RUN_CAMPAIGN, tenant_id, campaign_id,
                                      _job_id=f"{self._queue_name}:campaign:{campaign_id}:{tag}",
                                      _queue_name=self._queue_name)

    async def enqueue_webhook_deliveries(self, tenant_id: str, delivery_ids: list[str], *,
                                         defer_seconds: float = 0.0, tag: str = "0") -> None:
        defer = defer_seconds if defer_seconds > 0 else None
        for delivery_id in delivery_ids:
            await self._redis.enqueue_job(DELIVER_WEBHOOK, tenant_id, delivery_id,
                                          _job_id=f"{self._queue_name}:webhook:{delivery_id}:{tag}",
                                          _queue_name=self._queue_name, _defer_by=defer)
