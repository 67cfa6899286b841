"""The shared rate limit on a real Redis: workers reserving slots at once never get more than the limit
in any one-second window, wherever the window starts, and still get close to the limit."""

import asyncio
import itertools
import uuid

import pytest
from redis.asyncio import Redis

from workers.rate_limit import WAIT_WHILE_UNREACHABLE_SECONDS, RedisRateLimiter

SECOND = 1_000_000  # microseconds, as the slots are timed


def most_in_any_second(slots: list[int]) -> int:
    """The most slots in any half-open one-second window: the worst window starts at some slot."""
    slots = sorted(slots)
    most, end = 0, 0
    for start, slot in enumerate(slots):
        while end < len(slots) and slots[end] < slot + SECOND:
            end += 1
        most = max(most, end - start)
    return most


async def reserve_for(limiter: RedisRateLimiter, key: str, per_second: int, wanted: int, seconds: float,
                      slots: list[int]) -> None:
    """One worker: asks for `wanted` slots at a time, waits for its turns, for `seconds`."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while loop.time() < until:
        reservation, reserved = await limiter.reserve_slots(key, per_second, wanted, within=0.5)
        slots.extend(reserved)
        await asyncio.sleep(reservation.delays[-1] if reservation.delays else reservation.retry_after)


@pytest.mark.parametrize(("per_second", "wanted"), [(5, 1), (5, 3), (100, 20), (2000, 100)])
async def test_workers_together_never_pass_the_limit_in_any_one_second(redis_url: str, per_second: int,
                                                                      wanted: int) -> None:
    key = f"test-{uuid.uuid4()}"
    clients = [Redis.from_url(redis_url) for _ in range(4)]
    try:
        slots: list[int] = []
        await asyncio.gather(*(reserve_for(RedisRateLimiter(client, "engage-test"), key, per_second, wanted,
                                           2.5, slots) for client in clients for _ in range(3)))
    finally:
        for client in clients:
            await client.aclose()
    assert most_in_any_second(slots) <= per_second


@pytest.mark.parametrize("per_second", [1, 5, 9, 10, 11, 100, 2000, 100_000])
async def test_the_whole_limit_is_granted_within_one_second(redis_url: str, per_second: int) -> None:
    client = Redis.from_url(redis_url)
    try:
        reservation, slots = await RedisRateLimiter(client, "engage-test").reserve_slots(
            f"test-{uuid.uuid4()}", per_second, 3 * per_second, within=1.0)
    finally:
        await client.aclose()
    assert most_in_any_second(slots) == per_second
    assert len(reservation.delays) in (per_second, per_second + 1)  # the slot at 1.0 s may fall in


async def test_a_batch_gets_a_burst_at_once_then_spaced_turns(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        limiter = RedisRateLimiter(client, "engage-test")
        key = f"test-{uuid.uuid4()}"
        burst = await limiter.reserve(key, 100, 30, within=0.1)
        # 10 at once (a tenth of the limit), then one every 1/91 s: 100 in any one second.
        assert burst.delays[:10] == [0.0] * 10
        assert all(0.010 < later - earlier < 0.012 for earlier, later in itertools.pairwise(burst.delays[9:]))
        assert len(burst.delays) == 10 + 9  # those within 0.1 s
        assert 0.09 < burst.retry_after < 0.11
        held = await limiter.reserve(key, 100, 5, within=0.0)
        assert held.delays == []  # the next slot is 0.1 s away
    finally:
        await client.aclose()


async def test_without_redis_nothing_is_granted_and_the_send_asks_again_later(redis_url: str) -> None:
    client = Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        reservation = await RedisRateLimiter(client, "engage-test").reserve("any", 5, 3, within=1.0)
    finally:
        await client.aclose()
    assert reservation.delays == []
    assert reservation.retry_after == WAIT_WHILE_UNREACHABLE_SECONDS


async def test_a_changed_limit_starts_after_the_slots_already_given(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        limiter = RedisRateLimiter(client, "engage-test")
        key = f"test-{uuid.uuid4()}"
        before = await limiter.reserve(key, 100, 10, within=1.0)  # the burst, and the schedule 10/91 s on
        after = await limiter.reserve(key, 5, 2, within=1.0)
    finally:
        await client.aclose()
    assert before.delays == [0.0] * 10
    assert 10 / 91 - 0.01 < after.delays[0] < 10 / 91 + 0.01
    assert 0.199 < after.delays[1] - after.delays[0] < 0.201
