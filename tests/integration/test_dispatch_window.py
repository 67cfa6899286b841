"""The server hands a tenant's due deliveries to the workers as one dispatch job per short window:
concurrent triggers of a window ask Redis once, and a failed ask does not silence later ones."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from arq import ArqRedis
from redis.exceptions import RedisError

from server.queue import ArqPublisher, open_queue
from tests.bench.redis_queue import clear_queue
from tests.support.ports import free_port


async def test_concurrent_triggers_of_one_window_ask_redis_once(redis_url: str) -> None:
    queue = f"engage:test:window:{uuid.uuid4().hex[:8]}"
    redis = await open_queue(redis_url)
    asks = 0
    enqueue_job = redis.enqueue_job

    async def counted_enqueue_job(*args: Any, **kwargs: Any) -> Any:  # the real call, counted
        nonlocal asks
        asks += 1
        return await enqueue_job(*args, **kwargs)

    redis.enqueue_job = counted_enqueue_job  # type: ignore[method-assign]
    try:
        publisher = ArqPublisher(redis, queue)
        for _attempt in range(3):  # a window boundary inside the gather makes it two: retry such a case
            asks = 0
            await asyncio.gather(*(publisher.enqueue_due_dispatch("tenant-a") for _ in range(50)))
            queued = await redis.zcard(queue)
            if asks == 1:
                break
            await clear_queue(redis_url, queue)
            await asyncio.sleep(0.06)  # the next window
        assert asks == 1
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
