"""Stopping a worker: a job cancelled between its own steps (after its function returned) does not make
the worker's close fail, so on_shutdown still runs and `python -m workers` exits 0."""

import asyncio
import contextlib
import signal
import uuid

from arq import create_pool, func

from server.queue import redis_settings
from tests.bench.redis_queue import clear_queue
from workers.worker import EngageWorker


async def test_a_job_cancelled_in_its_last_step_does_not_fail_the_close(settings):
    queue = f"engage:test:shutdown:{uuid.uuid4().hex[:8]}"
    in_last_step = asyncio.Event()
    shut_down = []

    async def quick(ctx):
        return 1

    async def after_job_end(ctx):
        in_last_step.set()
        await asyncio.sleep(30)  # still running when the worker is stopped

    async def on_shutdown(ctx):
        shut_down.append(True)

    pool = await create_pool(redis_settings(settings.redis_url))
    worker = EngageWorker(functions=[func(quick, name="quick")], redis_settings=redis_settings(settings.redis_url),
                          queue_name=queue, after_job_end=after_job_end, on_shutdown=on_shutdown,
                          handle_signals=True, job_completion_wait=1, poll_delay=0.01)
    try:
        await pool.enqueue_job("quick", _queue_name=queue)
        running = asyncio.create_task(worker.async_run())
        await asyncio.wait_for(in_last_step.wait(), 10)
        # What SIGTERM calls: the job is given a second, then cancelled, and the worker's main task with it.
        worker.handle_sig_wait_for_completion(signal.SIGTERM)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(running, 10)
        await worker.close()  # arq's own close raised CancelledError here, before on_shutdown
        assert shut_down == [True]
    finally:
        await clear_queue(settings.redis_url, queue)
        await pool.aclose()
