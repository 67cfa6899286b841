"""The arq job context as a task sees it: what worker_settings' ctx, the startup hook and arq put there."""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, NotRequired, TypedDict, cast

import structlog
from arq.connections import ArqRedis
from arq.typing import WorkerCoroutine

from server.bootstrap import Services
from server.config import Settings
from server.domain.operations import CronOutcome, CronRunRecord
from server.queue_status import record_cron_finish, record_cron_start, this_worker_id
from server.services.dispatch import DispatchService
from server.services.triggers.webhooks import WebhookDeliveryService
from workers.gateway import ChannelSenders
from workers.webhook_poster import EgressWebhookPoster

log = structlog.get_logger(__name__)


class WorkerContext(TypedDict):
    """Every task finds all the required keys; startup is handed the dict before it has set its own."""

    # worker_settings(): the settings the worker was started with.
    settings: Settings
    # arq, before startup: its Redis pool.
    redis: ArqRedis
    # workers.settings.startup: the services the gRPC server uses too, the channel senders, dispatch.
    services: Services
    senders: ChannelSenders
    dispatch: DispatchService
    webhooks: WebhookDeliveryService
    webhook_poster: EgressWebhookPoster
    # arq, for each job (the startup and shutdown hooks see none of these).
    job_id: NotRequired[str]
    job_try: NotRequired[int]
    enqueue_time: NotRequired[dt.datetime]
    score: NotRequired[int]


def arq_job(function: Callable[Concatenate[WorkerContext, ...], Awaitable[object]]) -> WorkerCoroutine:
    """A task for arq's func() and cron(), which declare the context a plain dict: it is the same dict."""
    return cast(WorkerCoroutine, function)


def cron_task(function: Callable[Concatenate[WorkerContext, ...], Awaitable[object]]) -> WorkerCoroutine:
    """arq_job for cron(), recording each run's start, duration and outcome in Redis for `engagectl
    status`. The recording never fails the run: a cron whose record Redis refused still did its work."""

    @functools.wraps(function)  # keeps the name, which arq's cron job ids are made of
    async def recorded(ctx: WorkerContext, *args: Any, **kwargs: Any) -> object:
        queue_name, name, worker_id = ctx["settings"].queue_name, function.__name__, this_worker_id()
        started_at, started = dt.datetime.now(dt.UTC), time.monotonic()
        await _record(record_cron_start(ctx["redis"], queue_name, name, worker_id, started_at), name)
        outcome, error = CronOutcome.FAILED, ""
        try:
            result = await function(ctx, *args, **kwargs)
            outcome = CronOutcome.SUCCEEDED
            return result
        except BaseException as exc:
            error = repr(exc)
            raise
        finally:
            run = CronRunRecord(name, started_at, dt.timedelta(seconds=time.monotonic() - started), outcome, error,
                                worker_id)
            await _record(record_cron_finish(ctx["redis"], queue_name, run), name)

    return arq_job(recorded)


async def _record(write: Awaitable[None], name: str) -> None:
    try:
        await write
    except Exception as exc:
        log.warning("cron_run_not_recorded", cron=name, error=repr(exc))
