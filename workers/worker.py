"""The arq Worker as `python -m workers` runs it: stopping lets sends in flight finish and be recorded,
and an outage of Redis is waited out instead of ending the process."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import time
from signal import Signals
from typing import Any

import structlog
from arq import Worker
from arq.constants import in_progress_key_prefix
from arq.jobs import deserialize_result
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import WatchError

from server.domain.operations import WorkerBeat
from server.queue_status import record_heartbeat, remove_heartbeat, this_worker_id
from workers.job_metrics import CURRENT_JOB, UNKNOWN_FUNCTION, JobRun, function_label, note_counted, timed
from workers.redis_faults import REDIS_UNREACHABLE, RedisOutage

log = structlog.get_logger("engage.worker")


class EngageWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.functions = {name: dataclasses.replace(function, coroutine=timed(name, function.coroutine))
                          for name, function in self.functions.items()}
        self._redis_outage = RedisOutage()
        self._worker_id = this_worker_id()
        self._started_at = dt.datetime.now(dt.UTC)
        self._more_due = False  # the last poll read more due jobs than it had free slots
        self._started_in_poll = 0  # jobs the last poll started here

    # arq's own counters, the one place where it decides each job's outcome: job_metrics counts them.
    @property
    def jobs_complete(self) -> int:
        return self._jobs_complete

    @jobs_complete.setter
    def jobs_complete(self, value: int) -> None:
        note_counted("complete", value - getattr(self, "_jobs_complete", value))
        self._jobs_complete = value

    @property
    def jobs_retried(self) -> int:
        return self._jobs_retried

    @jobs_retried.setter
    def jobs_retried(self, value: int) -> None:
        note_counted("retried", value - getattr(self, "_jobs_retried", value))
        self._jobs_retried = value

    @property
    def jobs_failed(self) -> int:
        return self._jobs_failed

    @jobs_failed.setter
    def jobs_failed(self, value: int) -> None:
        note_counted("failed", value - getattr(self, "_jobs_failed", value))
        self._jobs_failed = value

    async def run_job(self, job_id: str, score: int) -> None:
        job = JobRun()
        token = CURRENT_JOB.set(job)
        try:
            await super().run_job(job_id, score)
        finally:
            CURRENT_JOB.reset(token)
            job.report()

    async def finish_failed_job(self, job_id: str, result_data: bytes | None) -> None:
        # The paths where the function never ran (expired, out of tries) know its name only in what
        # arq stores as the job's result.
        job = CURRENT_JOB.get()
        if job is not None and job.function == UNKNOWN_FUNCTION and result_data:
            with contextlib.suppress(Exception):
                job.function = function_label(deserialize_result(result_data, deserializer=self.job_deserializer)
                                              .function)
        await super().finish_failed_job(job_id, result_data)

    async def record_health(self) -> None:
        # arq's health key is one per queue, which every worker overwrites: each worker also beats under
        # its own id, so that `engagectl status` shows them all.
        due = time.time() - self._last_health_check >= self.health_check_interval
        await super().record_health()
        if due:
            await record_heartbeat(self.pool, self.queue_name, WorkerBeat(
                self._worker_id, self._started_at, dt.datetime.now(dt.UTC), self.jobs_complete, self.jobs_failed,
                self.jobs_retried, sum(not task.done() for task in self.tasks.values())))

    async def _poll_iteration(self) -> None:
        # arq starts no more jobs than it has free slots, then sleeps the poll delay however short the
        # jobs are: a worker of one slot (SQLite's) ran one job per poll delay, 20 a second. There, while
        # the queue holds more due jobs, the slot is filled again as soon as it frees. Not with more
        # slots: each poll walks the queue's head, where the jobs running (here and in other workers)
        # stay until they finish, with a Redis round trip each, and doing that at every job's end cost
        # PostgreSQL's bus more CPU than the poll delay's wait.
        # A job started by a poll can also end within it (while the heartbeat waits on Redis): its slot
        # is free again and the next poll starts at once. A poll that started nothing (the jobs it read
        # run in other workers) leaves the wait to the poll delay.
        deadline = time.monotonic() + self.poll_delay_s
        await self._poll_once()
        while self._more_due and self.max_jobs == 1 and self.allow_pick_jobs:
            running = [task for task in self.tasks.values() if not task.done()]
            if time.monotonic() >= deadline or not (running or self._started_in_poll):
                return
            if running:
                await asyncio.wait(running, timeout=deadline - time.monotonic(),
                                   return_when=asyncio.FIRST_COMPLETED)
                if self.job_counter >= self.max_jobs:
                    return
            await self._poll_once()

    async def _poll_once(self) -> None:
        # arq lets a Redis error out of its poll (a WATCH in start_jobs, the heartbeat, a finished job's
        # result), which ended the process and every job running in it. Running jobs go on; polling
        # resumes, with backoff, once Redis answers. Jobs Redis lost meanwhile are re-sent by the relay
        # sweeps from the database. A WatchError is one too: arq catches the one of EXEC (another worker
        # took the job, a cron job was enqueued meanwhile); one that escapes came from the WATCHed reads
        # (start_jobs, the heartbeat's cron enqueue), where redis-py reports a lost connection so.
        self._more_due = False
        self._started_in_poll = 0
        try:
            await super()._poll_iteration()
        except (*REDIS_UNREACHABLE, WatchError) as exc:
            await self._redis_outage.wait_after(exc)
        else:
            self._redis_outage.answered()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        job_ids = await self._not_running(job_ids)
        # More due jobs read than free slots: the rest wait for the next poll.
        self._more_due = len(job_ids) > self.max_jobs - self.job_counter
        tasks_before = set(self.tasks)
        try:
            await super().start_jobs(job_ids)
        except (*REDIS_UNREACHABLE, WatchError) as exc:
            # arq had counted the job it was starting and taken a slot of its semaphore; nothing started
            # it, so nothing would give them back and the worker would run one job fewer each time.
            self.job_counter -= 1
            self.sem.release()
            if isinstance(exc, WatchError):
                # arq catches the WatchError of EXEC (another worker took the job); one that escapes
                # came from the WATCHed reads, where redis-py reports a lost connection as WatchError.
                raise RedisConnectionError(f"connection lost while starting a job: {exc}") from exc
            raise
        finally:
            self._started_in_poll = len(self.tasks.keys() - tasks_before)

    async def _not_running(self, job_ids: list[bytes]) -> list[bytes]:
        # A running job stays at the queue's head until it ends, and arq checks every due job it reads
        # with a WATCHed transaction of four round trips: each poll of each worker walked the jobs running
        # here and elsewhere again, a quarter of a live bus's worker CPU. One MGET of their in-progress
        # keys per poll leaves them out; arq's own check still settles a race for the rest.
        if not job_ids:
            return job_ids
        running = await self.pool.mget([in_progress_key_prefix + job_id.decode() for job_id in job_ids])
        return [job_id for job_id, mark in zip(job_ids, running, strict=True) if mark is None]

    def handle_sig_wait_for_completion(self, signum: Signals) -> None:
        # Before arq waits for the running jobs: dispatch finishes the batches it is sending and claims no
        # more (a send cancelled after the provider took it stayed SENDING, and was sent again once its
        # lease ran out).
        dispatch = self.ctx.get("dispatch")
        if dispatch is not None:
            dispatch.finish_up()
        super().handle_sig_wait_for_completion(signum)

    async def close(self) -> None:
        # arq gathers the jobs it cancelled (those still running when the wait ran out) without
        # return_exceptions: one cancelled between its own steps raised CancelledError out of close(), and
        # the process exited 1 before on_shutdown. Cancelled jobs are run again (arq's retry, our leases).
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks = {job_id: task for job_id, task in self.tasks.items() if not task.cancelled()}
        if self._pool is not None:
            # Gone from `engagectl status` at once rather than when the beat expires; not worth a wait
            # while Redis is away.
            with contextlib.suppress(*REDIS_UNREACHABLE):
                async with asyncio.timeout(1):
                    await remove_heartbeat(self.pool, self.queue_name, self._worker_id)
        try:
            await super().close()
        except REDIS_UNREACHABLE as exc:
            # Stopped while Redis is away: arq's close() failed on its first Redis call (removing the
            # health key), before on_shutdown; the database and provider connections still close.
            log.warning("worker_stopped_without_redis", error=repr(exc))
            if self.on_shutdown:
                await self.on_shutdown(self.ctx)
            with contextlib.suppress(*REDIS_UNREACHABLE):
                await self.pool.close(close_connection_pool=True)
            self._pool = None
