"""What the workers record in Redis for an operator to read, and the reading: each worker's heartbeat,
each cron job's last run, and the queue's depth and oldest job (from arq's own keys).

Heartbeats are fields of one hash per queue (field: the worker's id), not keys of their own: finding
per-worker keys would take a SCAN of the whole keyspace, which holds a key per job. A field whose beat
is older than its lifetime is a worker gone without saying so; the reader drops it. The hash itself
expires when no worker has written it for that long."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import socket
from typing import Any

from arq import ArqRedis
from arq.constants import in_progress_key_prefix

from server.domain.operations import CronOutcome, CronRunRecord, QueueFigures, QueueSnapshot, WorkerBeat

# A worker beats this often; a beat this many intervals old means the worker is gone.
HEARTBEAT_INTERVAL_SECONDS = 10.0
HEARTBEAT_LIFETIME_INTERVALS = 3
# The earliest due jobs looked at for the running count and the oldest queued job: workers start jobs
# in score order, so the running ones are among them unless more than this many run at once.
DUE_JOBS_SAMPLED = 1000
# Beyond this the status says Redis did not answer rather than keep the caller waiting.
READ_TIMEOUT_SECONDS = 2.0
RUNNING_SUFFIX = ":running"


def workers_key(queue_name: str) -> str:
    return f"engage:workers:{queue_name}"


def cron_runs_key(queue_name: str) -> str:
    return f"engage:cron:{queue_name}"


def this_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _lifetime() -> dt.timedelta:
    return dt.timedelta(seconds=HEARTBEAT_INTERVAL_SECONDS * HEARTBEAT_LIFETIME_INTERVALS)


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


async def record_heartbeat(redis: ArqRedis, queue_name: str, beat: WorkerBeat) -> None:
    key = workers_key(queue_name)
    value = json.dumps({"started_at": beat.started_at.isoformat(), "beat_at": beat.beat_at.isoformat(),
                        "jobs_complete": beat.jobs_complete, "jobs_failed": beat.jobs_failed,
                        "jobs_retried": beat.jobs_retried, "jobs_running": beat.jobs_running})
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, beat.worker_id, value)
        pipe.pexpire(key, int(_lifetime().total_seconds() * 1000))
        await pipe.execute()


async def remove_heartbeat(redis: ArqRedis, queue_name: str, worker_id: str) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hdel(workers_key(queue_name), worker_id)
        await pipe.execute()


async def record_cron_start(redis: ArqRedis, queue_name: str, name: str, worker_id: str,
                            started_at: dt.datetime) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hset(cron_runs_key(queue_name), name + RUNNING_SUFFIX,
                  json.dumps({"started_at": started_at.isoformat(), "worker_id": worker_id}))
        await pipe.execute()


async def record_cron_finish(redis: ArqRedis, queue_name: str, run: CronRunRecord) -> None:
    assert run.started_at is not None and run.duration is not None and run.outcome is not None
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(cron_runs_key(queue_name), run.name, json.dumps({
            "started_at": run.started_at.isoformat(), "duration_seconds": run.duration.total_seconds(),
            "outcome": run.outcome.value, "error": run.error, "worker_id": run.worker_id}))
        pipe.hdel(cron_runs_key(queue_name), run.name + RUNNING_SUFFIX)
        await pipe.execute()


async def read_queue(redis: ArqRedis | None, queue_name: str, now: dt.datetime) -> QueueSnapshot:
    """The queue's figures, its workers and cron runs; when Redis does not answer, a snapshot that says so."""
    if redis is None:
        return QueueSnapshot(QueueFigures(queue_name, reachable=False, error="no Redis configured (REDIS_URL)"))
    try:
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            return QueueSnapshot(await _queue_figures(redis, queue_name, now), await _workers(redis, queue_name, now),
                                 await _cron_runs(redis, queue_name))
    except Exception as exc:  # whatever Redis failed with, the status reports it instead of failing
        return QueueSnapshot(QueueFigures(queue_name, reachable=False, error=_unanswered(exc)))


async def read_queue_figures(redis: ArqRedis, queue_name: str, now: dt.datetime) -> QueueFigures:
    """The queue's figures alone (what the metrics scrape reads), within the same bound as read_queue."""
    try:
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            return await _queue_figures(redis, queue_name, now)
    except Exception as exc:
        return QueueFigures(queue_name, reachable=False, error=_unanswered(exc))


def _unanswered(exc: Exception) -> str:
    return f"no answer within {READ_TIMEOUT_SECONDS:g} s" if isinstance(exc, TimeoutError) else repr(exc)


async def _queue_figures(redis: ArqRedis, queue_name: str, now: dt.datetime) -> QueueFigures:
    now_ms = int(now.timestamp() * 1000)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(queue_name)
        pipe.zcount(queue_name, "-inf", now_ms)
        pipe.zrangebyscore(queue_name, "-inf", now_ms, start=0, num=DUE_JOBS_SAMPLED, withscores=True)
        total, due, earliest = await pipe.execute()
    running_flags: list[Any] = []
    if earliest:
        async with redis.pipeline(transaction=False) as pipe:
            for job_id, _ in earliest:
                pipe.exists(in_progress_key_prefix + (job_id.decode() if isinstance(job_id, bytes) else job_id))
            running_flags = await pipe.execute()
    running = sum(1 for flag in running_flags if flag)
    waiting_scores = [score for (_, score), flag in zip(earliest, running_flags, strict=True) if not flag]
    oldest = dt.timedelta(milliseconds=max(0, now_ms - int(waiting_scores[0]))) if waiting_scores else dt.timedelta(0)
    return QueueFigures(queue_name, reachable=True, queued=int(due) - running, running=running,
                        deferred=int(total) - int(due), oldest_queued_age=oldest)


async def _workers(redis: ArqRedis, queue_name: str, now: dt.datetime) -> list[WorkerBeat]:
    beats: list[WorkerBeat] = []
    gone: list[WorkerBeat] = []
    for worker_id, text in (await _hash(redis, workers_key(queue_name))).items():
        worker = worker_id.decode() if isinstance(worker_id, bytes) else worker_id
        fields = json.loads(text)
        beat = WorkerBeat(worker, _time(fields["started_at"]) or now, _time(fields["beat_at"]) or now,
                          fields["jobs_complete"], fields["jobs_failed"], fields["jobs_retried"],
                          fields["jobs_running"])
        (gone if now - beat.beat_at > _lifetime() else beats).append(beat)
    if gone:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hdel(workers_key(queue_name), *(b.worker_id for b in gone))
            await pipe.execute()
    return sorted(beats, key=lambda b: b.worker_id)


async def _cron_runs(redis: ArqRedis, queue_name: str) -> list[CronRunRecord]:
    finished: dict[str, dict[str, Any]] = {}
    running: dict[str, dict[str, Any]] = {}
    for field, text in (await _hash(redis, cron_runs_key(queue_name))).items():
        name = field.decode() if isinstance(field, bytes) else field
        if name.endswith(RUNNING_SUFFIX):
            running[name.removesuffix(RUNNING_SUFFIX)] = json.loads(text)
        else:
            finished[name] = json.loads(text)
    runs = []
    for name in sorted(finished.keys() | running.keys()):
        last, current = finished.get(name, {}), running.get(name, {})
        runs.append(CronRunRecord(
            name, _time(last.get("started_at")),
            dt.timedelta(seconds=last["duration_seconds"]) if "duration_seconds" in last else None,
            CronOutcome(last["outcome"]) if last.get("outcome") else None, last.get("error", ""),
            last.get("worker_id") or current.get("worker_id", ""), _time(current.get("started_at"))))
    return runs


async def _hash(redis: ArqRedis, key: str) -> dict[Any, Any]:
    # Through a pipeline: redis-py types its plain commands as sync-or-async, its pipeline's execute as async.
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(key)
        [found] = await pipe.execute()
    return dict(found)
