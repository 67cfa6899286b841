"""A worker whose slots are all taken fills one as soon as it frees when the queue holds more due jobs,
instead of waiting out arq's poll delay: a worker of one slot (SQLite's) ran one job per poll delay."""

import asyncio
import uuid

from arq import create_pool, func

from server.queue import redis_settings
from tests.bench.redis_queue import clear_queue
from workers.worker import EngageWorker

# Far longer than the ten jobs take back to back: one job per poll delay would need 9 x 30 s.
POLL_DELAY = 30
JOBS = 10


async def test_a_worker_of_one_slot_runs_queued_short_jobs_back_to_back(redis_url):
    queue = f"engage:test:polling:{uuid.uuid4().hex[:8]}"
    ran: list[int] = []

    async def quick(ctx, number):
        ran.append(number)

    pool = await create_pool(redis_settings(redis_url))
    worker = EngageWorker(functions=[func(quick, name="quick")], redis_settings=redis_settings(redis_url),
                          queue_name=queue, handle_signals=False, poll_delay=POLL_DELAY, max_jobs=1)
    try:
        for number in range(JOBS):
            await pool.enqueue_job("quick", number, _queue_name=queue)
        running = asyncio.create_task(worker.async_run())
        # Every job runs within one poll delay: none waited for a later poll.
        async with asyncio.timeout(POLL_DELAY):
            while len(ran) < JOBS:  # noqa: ASYNC110 (a short poll)
                await asyncio.sleep(0.05)
        running.cancel()
    finally:
        await worker.close()
        await clear_queue(redis_url, queue)
        await pool.aclose()
