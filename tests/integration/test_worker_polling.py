"""A worker whose slots are all taken fills one as soon as it frees when the queue holds more due jobs,
instead of waiting out arq's poll delay: a worker of one slot (SQLite's) ran one job per poll delay."""

import asyncio
import time
import uuid

from arq import create_pool, func

from server.queue import redis_settings
from tests.bench.redis_queue import clear_queue
from workers.worker import EngageWorker

POLL_DELAY = 0.5
JOBS = 10


async def test_a_worker_of_one_slot_runs_queued_short_jobs_back_to_back(redis_url):
    queue = f"engage:test:polling:{uuid.uuid4().hex[:8]}"
    ran: list[float] = []

    async def quick(ctx, number):
        ran.append(time.monotonic())

    pool = await create_pool(redis_settings(redis_url))
    worker = EngageWorker(functions=[func(quick, name="quick")], redis_settings=redis_settings(redis_url),
                          queue_name=queue, handle_signals=False, poll_delay=POLL_DELAY, max_jobs=1)
    try:
        for number in range(JOBS):
            await pool.enqueue_job("quick", number, _queue_name=queue)
        running = asyncio.create_task(worker.async_run())
        async with asyncio.timeout(20):
            while len(ran) < JOBS:  # noqa: ASYNC110 (a short poll)
                await asyncio.sleep(0.05)
        # One job per poll delay would take 4.5 s from the first to the last.
        assert ran[-1] - ran[0] < POLL_DELAY * 2
        running.cancel()
    finally:
        await worker.close()
        await clear_queue(redis_url, queue)
        await pool.aclose()
