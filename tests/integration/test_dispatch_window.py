"""The server hands a tenant's due deliveries to the workers as one dispatch job per short window:
concurrent triggers of a window ask Redis once, and a failed ask does not silence later ones."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from arq import ArqRedis
from redis.exceptions import RedisError

from server.embedded_redis import free_port
from server.queue import ArqPublisher, open_queue
from tests.bench.redis_queue import clear_queue


async def _enqueue_calls(redis: object) -> int:
    stats = await redis.info("commandstats")  # type: ignore[attr-defined]
    return int(stats.get("cmdstat_watch", {}).get("calls", 0))


async def test_concurrent_triggers_of_one_window_ask_redis_once(redis_url: str) -> None:
    queue = f"engage:test:window:{uuid.uuid4().hex[:8]}"
    redis = await open_queue(redis_url)
    try:
        publisher = ArqPublisher(redis, queue)
        for _attempt in range(3):  # a window boundary inside the gather makes it two: retry such a case
            before = await _enqueue_calls(redis)
            await asyncio.gather(*(publisher.enqueue_due_dispatch("tenant-a") for _ in range(50)))
            asked = await _enqueue_calls(redis) - before
            queued = await redis.zcard(queue)
            if asked == 1 and queued >= 1:
                break
            await clear_queue(redis_url, queue)
            await asyncio.sleep(0.06)  # the next window
        assert asked == 1
        assert queued == 1
    finally:
        await clear_queue(redis_url, queue)
        await redis.aclose()


async def test_a_failed_ask_leaves_the_window_open_for_the_next_caller() -> None:
    # Nothing listens on this port: every enqueue fails with a connection error.
    redis = ArqRedis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    try:
        publisher = ArqPublisher(redis, f"engage:test:window:{uuid.uuid4().hex[:8]}")
        for _caller in range(2):  # the second caller of the same window asks again instead of relying on the first
            with pytest.raises((OSError, RedisError)):
                await publisher.enqueue_due_dispatch("tenant-a")
    finally:
        await redis.aclose()
