"""Retries for jobs that failed on a passing fault (database restart, deadlock): arq retries only
what raises Retry, so a task turns other exceptions into a deferred Retry until its tries run out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from arq import Retry

from server.backoff import backoff_seconds
from workers.context import WorkerContext

T = TypeVar("T")
log = structlog.get_logger(__name__)

# The longest a failed job waits for its next try.
MAX_RETRY_WAIT_SECONDS = 300.0


async def with_retries(ctx: WorkerContext, work: Callable[[], Awaitable[T]], max_tries: int) -> T:
    try:
        return await work()
    except Exception as exc:
        job_try = int(ctx.get("job_try", 1))
        if job_try >= max_tries:
            raise
        delay = backoff_seconds(job_try, ctx["settings"].retry_backoff_seconds, MAX_RETRY_WAIT_SECONDS)
        log.warning("job_retry", job_id=ctx.get("job_id"), job_try=job_try, defer_seconds=round(delay, 2),
                    error=repr(exc))
        raise Retry(defer=delay) from exc
