"""Per-provider rate limits shared by every worker: a counter per configuration and second in Redis."""

from __future__ import annotations

import time

from redis.asyncio import Redis


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def wait_time(self, key: str, per_second: int) -> float:
        now = time.time()
        second = int(now)
        counter = f"{self._prefix}:rate:{key}:{second}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, 2)
            count, _ = await pipe.execute()
        if count <= per_second:
            return 0.0
        # Over this second's budget: try again at the start of the next second.
        return max(second + 1 - now, 0.001)
