"""What workers record for `engagectl status`, read back from real Redis: a failed cron run with its
error, a run in progress, and a worker whose heartbeat stopped."""

import asyncio
import datetime as dt

import pytest

from server.domain.operations import CronOutcome, WorkerBeat
from server.queue_status import read_queue, record_heartbeat, workers_key
from workers.context import cron_task


async def test_a_failed_cron_run_is_recorded_with_its_error(services, settings):
    started = asyncio.Event()
    release = asyncio.Event()

    async def sweep_that_breaks(ctx):
        started.set()
        await release.wait()
        raise RuntimeError("the sweep broke")

    ctx = {"settings": settings, "redis": services.redis}
    running = asyncio.create_task(cron_task(sweep_that_breaks)(ctx))
    await started.wait()
    during = await read_queue(services.redis, settings.queue_name, dt.datetime.now(dt.UTC))
    [in_progress] = during.cron_runs
    assert in_progress.name == "sweep_that_breaks" and in_progress.running_since is not None
    assert in_progress.outcome is None

    release.set()
    with pytest.raises(RuntimeError):
        await running
    after = await read_queue(services.redis, settings.queue_name, dt.datetime.now(dt.UTC))
    [finished] = after.cron_runs
    assert finished.outcome is CronOutcome.FAILED and "the sweep broke" in finished.error
    assert finished.running_since is None and finished.duration is not None
    assert cron_task(sweep_that_breaks).__name__ == "sweep_that_breaks"  # arq names cron jobs after it


async def test_a_worker_whose_heartbeat_stopped_is_dropped(services, settings):
    now = dt.datetime.now(dt.UTC)
    await record_heartbeat(services.redis, settings.queue_name, WorkerBeat("alive:1", now, now, jobs_complete=3))
    await record_heartbeat(services.redis, settings.queue_name,
                           WorkerBeat("gone:2", now - dt.timedelta(minutes=5), now - dt.timedelta(minutes=1)))

    snapshot = await read_queue(services.redis, settings.queue_name, now)

    assert [(w.worker_id, w.jobs_complete) for w in snapshot.workers] == [("alive:1", 3)]
    assert await services.redis.hkeys(workers_key(settings.queue_name)) == [b"alive:1"]
    assert snapshot.queue.reachable and snapshot.queue.queued == 0
    assert snapshot.queue.oldest_queued_age == dt.timedelta(0)
