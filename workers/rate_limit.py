"""Per-provider rate limits shared by every worker: a send slot is reserved in Redis before each send.

The limit of N a second holds over every one-second window, wherever it starts, not only over whole
wall-clock seconds: a counter per wall-clock second let N go at the end of one second and N more at
the start of the next, twice the limit within a few milliseconds. Slots follow the generic cell rate
algorithm (GCRA): a burst of at most B = max(1, N // 10) at once, then one slot every 1 / (N - B + 1)
seconds, which together never place more than N slots in any one second. Slots are timed by the Redis
server's clock, so workers on hosts whose clocks differ still share one schedule.
"""

from __future__ import annotations

from redis.asyncio import Redis

from server.services.dispatch import Reservation
from workers.redis_faults import REDIS_UNREACHABLE

# Without Redis the shared schedule cannot be read: a send waits this long and asks again rather than
# go past a provider's limit that other workers may be using up.
WAIT_WHILE_UNREACHABLE_SECONDS = 1.0

# KEYS[1] is a hash: the schedule's rate R = N - B + 1 a second, and its next slot (the theoretical
# arrival time, TAT) as `base` microseconds of Redis time plus `k` steps of 1/R s. Kept in integers,
# every value below 2^53 and so exact in Lua's doubles: a TAT summed in float microseconds drifted by
# whole steps over a busy second at high limits. A slot is a TAT less the burst's tolerance of B - 1
# steps, rounded up to the microsecond, which keeps any one-second window at N or fewer.
# ARGV: the limit N, the slots wanted, how far ahead (microseconds) a slot may be reserved.
# Returns {now, first slot .. last slot granted, the earliest next slot}: microseconds of Redis time.
_RESERVE = """
local function ceil_div(a, d)
  local q = math.floor(a / d)
  while q * d < a do q = q + 1 end
  while (q - 1) * d >= a do q = q - 1 end
  return q
end
local per_second = tonumber(ARGV[1])
local wanted = tonumber(ARGV[2])
local within = tonumber(ARGV[3])
local burst = math.max(1, math.floor(per_second / 10))
local rate = per_second - burst + 1
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local stored = redis.call('HMGET', KEYS[1], 'rate', 'base', 'k')
local base, k = now, 0
if tonumber(stored[1]) == rate then
  base, k = tonumber(stored[2]), tonumber(stored[3])
elseif stored[1] then
  base = tonumber(stored[2]) + ceil_div(tonumber(stored[3]) * 1000000, tonumber(stored[1]))
end
if base + ceil_div(k * 1000000, rate) <= now then
  base, k = now, 0  -- idle since the last slot: the burst is whole again
end
local function slot_at(step)
  return math.max(now, base + ceil_div((step - burst + 1) * 1000000, rate))
end
local answer = {now}
for _ = 1, wanted do
  local slot = slot_at(k)
  if slot - now > within then
    break
  end
  answer[#answer + 1] = slot
  k = k + 1
  if k >= rate then
    base, k = base + 1000000, k - rate
  end
end
answer[#answer + 1] = slot_at(k)
if #answer > 2 then
  -- formatted here: Redis would write a number with 14 digits, 100 microseconds off
  redis.call('HSET', KEYS[1], 'rate', rate, 'base', string.format('%.0f', base), 'k', k)
  local tat = base + ceil_div(k * 1000000, rate)
  redis.call('PEXPIRE', KEYS[1], math.ceil((tat - now) / 1000) + 1000)
end
return answer
"""


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._reserve = redis.register_script(_RESERVE)

    async def reserve(self, key: str, per_second: int, wanted: int, within: float) -> Reservation:
        """Reserves up to `wanted` slots that start within `within` seconds (none when Redis is
        unreachable)."""
        answer, _ = await self.reserve_slots(key, per_second, wanted, within)
        return answer

    async def reserve_slots(self, key: str, per_second: int, wanted: int,
                            within: float) -> tuple[Reservation, list[int]]:
        """`reserve`, with the reserved slots' Redis times in microseconds (what tests check)."""
        try:
            answer = await self._reserve(keys=[f"{self._prefix}:rate:{key}"],
                                         args=[per_second, wanted, int(within * 1_000_000)])
        except REDIS_UNREACHABLE:
            return Reservation([], WAIT_WHILE_UNREACHABLE_SECONDS), []
        now, slots, next_slot = int(answer[0]), [int(slot) for slot in answer[1:-1]], int(answer[-1])
        return (Reservation([(slot - now) / 1_000_000 for slot in slots], max((next_slot - now) / 1_000_000, 0.001)),
                slots)
