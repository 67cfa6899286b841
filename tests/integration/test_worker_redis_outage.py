"""A worker waits out an outage of its Redis: it does not exit (arq's poll raised out of the worker's
main task on the first failed Redis call), loses no job slot, and takes jobs again once Redis is back."""

import asyncio
import contextlib
import uuid

import pytest
from arq import create_pool, cron, func
from redis.exceptions import ConnectionError as RedisConnectionError

from server.embedded_redis import EmbeddedRedis
from server.queue import redis_settings
from workers.worker import EngageWorker

MAX_JOBS = 2
IDLE_SLOTS = MAX_JOBS + 1  # arq's semaphore has one slot more than max_jobs


@pytest.fixture
def own_redis(tmp_path):
    redis = EmbeddedRedis(tmp_path / "redis")
    redis.start()
    yield redis
    redis.stop()


def _worker(url: str, queue: str, ran: list[int]) -> EngageWorker:
    async def record(ctx, number):
        ran.append(number)

    return EngageWorker(functions=[func(record, name="record")], redis_settings=redis_settings(url),
                        queue_name=queue, handle_signals=False, poll_delay=0.01, max_jobs=MAX_JOBS)


async def _until(condition, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (a short poll)
            await asyncio.sleep(0.05)


async def test_the_worker_rides_out_redis_going_away_and_coming_back(own_redis):
    queue = f"engage:test:outage:{uuid.uuid4().hex[:8]}"
    ran: list[int] = []
    worker = _worker(own_redis.url, queue, ran)
    pool = await create_pool(redis_settings(own_redis.url))
    running = asyncio.create_task(worker.async_run())
    try:
        await pool.enqueue_job("record", 1, _queue_name=queue)
        await _until(lambda: ran == [1], 10)

        own_redis.process.kill()
        own_redis.process.wait()
        await asyncio.sleep(3)  # many polls fail meanwhile
        assert not running.done(), running.exception() if running.done() else None

        own_redis.start()  # the same port
        await pool.enqueue_job("record", 2, _queue_name=queue)
        await _until(lambda: ran == [1, 2], 20)
        # arq gives the slot back after the job's result is written, a moment after it ran
        await _until(lambda: (worker.job_counter, worker.sem._value) == (0, IDLE_SLOTS), 10)
        assert not running.done()
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await worker.close()
        await pool.aclose()


async def test_a_job_start_that_fails_on_redis_gives_its_slot_back(own_redis):
    worker = _worker(own_redis.url, f"engage:test:outage:{uuid.uuid4().hex[:8]}", [])
    worker._pool = await create_pool(redis_settings(own_redis.url))
    try:
        own_redis.process.kill()
        own_redis.process.wait()
        for _ in range(3):  # arq counted the job and took a semaphore slot before its WATCH failed
            with pytest.raises(Exception):  # noqa: B017 (redis-py's ConnectionError)
                await worker.start_jobs([b"some-job"])
        assert (worker.job_counter, worker.sem._value) == (0, IDLE_SLOTS)
    finally:
        await worker._pool.aclose()
        worker._pool = None


def _pipeline_whose_redis_dies_after_watch(pool, own_redis):
    open_pipeline = pool.pipeline

    def pipeline(*args, **kwargs):
        pipe = open_pipeline(*args, **kwargs)
        watch = pipe.watch

        async def watch_then_lose_redis(*names):
            answer = await watch(*names)
            own_redis.process.kill()
            own_redis.process.wait()
            return answer

        pipe.watch = watch_then_lose_redis
        return pipe

    return pipeline


async def test_redis_lost_while_the_heartbeat_enqueues_a_cron_job_is_an_outage_not_a_crash(own_redis):
    # arq's heartbeat enqueues due cron jobs with a WATCH too: Redis dying there ended the worker under
    # `make run` (the launcher's fault test), as it did in start_jobs.
    async def tick(ctx):
        return None

    worker = EngageWorker(functions=[], cron_jobs=[cron(tick, name="tick", run_at_startup=True)],
                          redis_settings=redis_settings(own_redis.url), queue_name=f"engage:test:outage:"
                          f"{uuid.uuid4().hex[:8]}", handle_signals=False, poll_delay=0.01, max_jobs=MAX_JOBS)
    worker._pool = await create_pool(redis_settings(own_redis.url))
    worker._pool.pipeline = _pipeline_whose_redis_dies_after_watch(worker._pool, own_redis)
    try:
        await worker._poll_once()  # waits out the first failure instead of raising it
        assert own_redis.process.poll() is not None  # Redis did die in the cron's enqueue
        assert worker._redis_outage._since is not None
    finally:
        worker._pool = None


async def test_redis_lost_between_watch_and_read_is_an_outage_not_a_crash(own_redis):
    # redis-py reports a connection lost while a key is WATCHed as WatchError, which arq's start_jobs
    # lets out (it catches only the one of EXEC): the worker exited on it under `make run`.
    worker = _worker(own_redis.url, f"engage:test:outage:{uuid.uuid4().hex[:8]}", [])
    worker._pool = await create_pool(redis_settings(own_redis.url))
    worker._pool.pipeline = _pipeline_whose_redis_dies_after_watch(worker._pool, own_redis)
    try:
        with pytest.raises(RedisConnectionError):
            await worker.start_jobs([b"some-job"])
        assert (worker.job_counter, worker.sem._value) == (0, IDLE_SLOTS)
    finally:
        worker._pool = None
