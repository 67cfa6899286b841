"""What a worker does while Redis is away: which errors mean that, and one outage's log and waits."""

from __future__ import annotations

import asyncio
import time

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.backoff import backoff_seconds

log = structlog.get_logger("engage.worker")

# Redis refusing, resetting, timing out or still loading its data (BusyLoadingError is a
# ConnectionError); OSError for a socket that fails beneath redis-py.
REDIS_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)

# Waits between tries while Redis is away: from a tenth of a second up to this, so that a worker
# comes back within seconds of Redis without hammering it meanwhile.
RECONNECT_CAP_SECONDS = 5.0
RECONNECT_BASE_SECONDS = 0.1


class RedisOutage:
    """Logs an outage once when it starts and once when it ends, and spaces the tries between."""

    def __init__(self) -> None:
        self._failures = 0
        self._since: float | None = None

    async def wait_after(self, error: BaseException) -> None:
        if self._since is None:
            self._since = time.monotonic()
            log.warning("redis_unavailable", error=repr(error),
                        detail="running jobs go on; new jobs wait until Redis answers again")
        self._failures += 1
        await asyncio.sleep(backoff_seconds(self._failures, RECONNECT_BASE_SECONDS, RECONNECT_CAP_SECONDS))

    def answered(self) -> None:
        if self._since is not None:
            log.info("redis_available", outage_seconds=round(time.monotonic() - self._since, 1),
                        failed_polls=self._failures)
        self._since = None
        self._failures = 0
