"""Per-provider rate limits shared by every worker: a counter per configuration and second in Redis."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from workers.redis_faults import REDIS_UNREACHABLE

# Without Redis the shared counts cannot be read: a send waits this long and asks again rather than go
# past a provider's limit that other workers may be using up.
WAIT_WHILE_UNREACHABLE_SECONDS = 1.0

# Grants up to ARGV[2] sends of this second's budget ARGV[1] at once, and counts only those granted:
# a batch asks once for all its sends to one configuration instead of once per send.
_TAKE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local granted = math.min(tonumber(ARGV[2]), math.max(tonumber(ARGV[1]) - used, 0))
if granted > 0 then
  redis.call('INCRBY', KEYS[1], granted)
  redis.call('EXPIRE', KEYS[1], 2)
end
return granted
"""


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._take = redis.register_script(_TAKE)

    async def take(self, key: str, per_second: int, wanted: int) -> tuple[int, float]:
        """How many of `wanted` sends may go now, and (when not all may) the seconds until the next
        second's budget opens."""
        now = time.time()
        second = int(now)
        try:
            granted = int(await self._take(keys=[f"{self._prefix}:rate:{key}:{second}"], args=[per_second, wanted]))
        except REDIS_UNREACHABLE:
            return 0, WAIT_WHILE_UNREACHABLE_SECONDS
        return granted, 0.0 if granted == wanted else max(second + 1 - now, 0.001)
