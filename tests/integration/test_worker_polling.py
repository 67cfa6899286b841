"""A worker whose slots are all taken fills one as soon as it frees when the queue holds more due jobs,
instead of waiting out arq's poll delay: a worker of one slot (SQLite's) ran one job per poll delay."""

import asyncio
import uuid

import pytest
from arq import Worker, create_pool, func
from arq.constants import in_progress_key_prefix

from server.queue import redis_settings
from tests.bench.redis_queue import clear_queue
from workers.worker import EngageWorker

# Far longer than the ten jobs take back to back: one job per poll delay would need 9 x 30 s.
POLL_DELAY = 30
JOBS = 10


class SlowBeatingWorker(EngageWorker):
    """A worker whose poll ends after its job has: the heartbeat's Redis round trip outlasts the job, as
    it can on a loaded machine. The job's slot is free again before the poll looks at it."""

    async def record_health(self) -> None:
        await asyncio.sleep(0.2)
        await super().record_health()


@pytest.mark.parametrize("worker_class", [EngageWorker, SlowBeatingWorker])
async def test_a_worker_of_one_slot_runs_queued_short_jobs_back_to_back(redis_url, worker_class):
    queue = f"engage:test:polling:{uuid.uuid4().hex[:8]}"
    ran: list[int] = []

    async def quick(ctx, number):
        ran.append(number)

    pool = await create_pool(redis_settings(redis_url))
    worker = worker_class(functions=[func(quick, name="quick")], redis_settings=redis_settings(redis_url),
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


async def _close(worker, pool, redis_url: str, queue: str, running_elsewhere: list[str]) -> None:
    await worker.close()
    await clear_queue(redis_url, queue)
    if running_elsewhere:
        await pool.delete(*running_elsewhere)
    await pool.aclose()


class CountingPollsWorker(EngageWorker):
    polls = 0

    async def _poll_once(self) -> None:
        self.polls += 1
        await super()._poll_once()


async def test_a_poll_whose_jobs_run_elsewhere_waits_for_the_next_poll(redis_url):
    # The jobs at the queue's head are in progress in another worker: nothing here can start, and polling
    # again at once would only read them again, over and over until the poll delay ends.
    queue = f"engage:test:polling:{uuid.uuid4().hex[:8]}"

    async def quick(ctx, number):
        raise AssertionError("the job runs in another worker")

    pool = await create_pool(redis_settings(redis_url))
    worker = CountingPollsWorker(functions=[func(quick, name="quick")], redis_pool=pool, queue_name=queue,
                                 handle_signals=False, poll_delay=POLL_DELAY, max_jobs=1)
    elsewhere: list[str] = []
    try:
        for number in range(2):
            job = await pool.enqueue_job("quick", number, _queue_name=queue)
            await pool.psetex(in_progress_key_prefix + job.job_id, 60_000, b"1")
            elsewhere.append(in_progress_key_prefix + job.job_id)
        async with asyncio.timeout(POLL_DELAY / 2):
            await worker._poll_iteration()
        assert worker.polls == 1
        assert not worker.tasks
    finally:
        await _close(worker, pool, redis_url, queue, elsewhere)


async def test_a_poll_checks_only_the_due_jobs_not_running_anywhere(redis_url, monkeypatch):
    # arq checks each due job it reads with a WATCHed transaction of four round trips; the jobs running
    # (here or in another worker) stay at the queue's head, so every poll used to check them again.
    queue = f"engage:test:polling:{uuid.uuid4().hex[:8]}"
    ran: list[int] = []

    async def quick(ctx, number):
        ran.append(number)

    checked: list[bytes] = []
    arq_start_jobs = Worker.start_jobs

    async def recording_start_jobs(self, job_ids):
        checked.extend(job_ids)
        await arq_start_jobs(self, job_ids)

    monkeypatch.setattr(Worker, "start_jobs", recording_start_jobs)
    pool = await create_pool(redis_settings(redis_url))
    worker = EngageWorker(functions=[func(quick, name="quick")], redis_pool=pool, queue_name=queue,
                          handle_signals=False, poll_delay=POLL_DELAY, max_jobs=5)
    elsewhere: list[str] = []
    free: list[bytes] = []
    try:
        for number in range(5):
            job = await pool.enqueue_job("quick", number, _queue_name=queue)
            if number < 3:
                await pool.psetex(in_progress_key_prefix + job.job_id, 60_000, b"1")
                elsewhere.append(in_progress_key_prefix + job.job_id)
            else:
                free.append(job.job_id.encode())
        async with asyncio.timeout(POLL_DELAY / 2):
            await worker._poll_iteration()
            await asyncio.gather(*worker.tasks.values())
        # Jobs enqueued within one millisecond share a score, and Redis orders them by id.
        assert sorted(checked) == sorted(free)
        assert sorted(ran) == [3, 4]
    finally:
        await _close(worker, pool, redis_url, queue, elsewhere)
