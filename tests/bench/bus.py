"""The message bus after the ingest stream: what the stream wrote to the outbox, then how fast `python -m
workers` processes drain it through today's handlers (server.bootstrap.event_handlers). The jobs are the
ones the server announced while ingesting, left in its queue; the workers start once the server has
stopped, so neither takes CPU from the other. `BusWorkers` also runs them alongside ingestion, as
deployed: started and `ready` before the stream. The drain ends when no domain event is unprocessed,
including the FeedItemsCreated events the EVENT insights raise on the way."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func, select, text

from server.domain.events import FeedItemsCreated, TransactionsPosted, kind_of
from server.queue_status import workers_key
from server.store.db import Database, open_database
from server.store.engagement_models import DeliveryRow, TriggerRow
from server.store.models import DomainEventHandlingRow, DomainEventRow, FeedItemRow
from tests.bench.cpu import cpu_seconds_by_pid
from tests.bench.databases import BenchDatabase, PostgresServer
from tests.bench.server_process import REPO_ROOT, _high_water_mark

POLL_SECONDS = 0.1
BACKLOG_SAMPLE_SECONDS = 0.25
DRAIN_TIMEOUT_SECONDS = 1800.0
# No event processed for this long: the bus is stuck (on SQLite, concurrent handlers fail with "database
# is locked" and are retried, over and over); the figures so far are reported as not drained.
STALL_SECONDS = 90.0
READY_TIMEOUT_SECONDS = 120.0  # imports and connections of a worker on a loaded machine
STOP_TIMEOUT_SECONDS = 40.0  # the workers finish their jobs on SIGTERM (ENGAGE_WORKER_SHUTDOWN_WAIT_SECONDS)
# Worker processes and jobs each, by backend. SQLite has one writer: handlers running at once read, then
# fail to write once another committed ("database is locked"), so it gets one job at a time, as
# ingestion stores one batch at a time there.
DEFAULT_CONCURRENCY = {"postgresql": (2, 20), "sqlite": (1, 1)}
POSTED = kind_of(TransactionsPosted)

# Per kind of event: how many, their payloads' JSON bytes, and the postings of TransactionsPosted.
_OUTBOX_SQL = {
    "postgresql": "SELECT kind, count(*), sum(octet_length(payload::text)), "
                  "sum(json_array_length(payload->'rows')) FROM domain_events GROUP BY kind",
    "sqlite": "SELECT kind, count(*), sum(length(CAST(payload AS BLOB))), "
              "sum(json_array_length(payload, '$.rows')) FROM domain_events GROUP BY kind",
}


@dataclass
class OutboxFigures:
    """The TransactionsPosted events the stream wrote (one per batch with live postings)."""

    events: int
    postings: int
    payload_bytes: int
    other_events: int  # of the customer and account upserts of the set-up
    # PostgreSQL: domain_events' size on disk (table, TOAST, indexes) beside the transactions table's.
    table_bytes: int | None = None
    transactions_table_bytes: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "postings": self.postings, "payload_bytes": self.payload_bytes,
                "payload_bytes_per_event": round(self.payload_bytes / self.events) if self.events else None,
                "payload_bytes_per_posting": round(self.payload_bytes / self.postings, 1) if self.postings else None,
                "other_events": self.other_events, "table_bytes": self.table_bytes,
                "transactions_table_bytes": self.transactions_table_bytes}


@dataclass
class BusFigures:
    workers: int
    jobs_per_worker: int
    events: int  # every event written: the stream's, the set-up's and the FeedItemsCreated raised
    posted_events: int  # TransactionsPosted processed
    postings: int  # theirs
    # From the first handler's claim to the last event marked processed, as the database recorded them.
    seconds: float
    wall_seconds: float  # from starting the workers to seeing the outbox empty: with their start-up
    feed_items: int
    feed_item_events: int
    alert_triggers: int
    deliveries: int
    resent_events: int  # re-announced by the relay sweep: the queue had held them more than LOST_AFTER
    drained: bool  # False: it stalled (STALL_SECONDS without progress); the figures are of what it did
    unprocessed_events: int
    handler_failures: int  # `event_handler_failed` lines in the workers' logs (each retried)
    worker_cpu_seconds: float  # from the first handler's claim on
    worker_peak_rss_bytes: list[int]
    database_cpu_seconds: float | None  # PostgreSQL's processes serving the workers; None on SQLite
    last_processed_at: dt.datetime | None = None

    @property
    def postings_per_second(self) -> float:
        return self.postings / self.seconds if self.seconds > 0 else 0.0

    def microseconds_per_posting(self, cpu_seconds: float) -> float:
        return cpu_seconds / self.postings * 1e6 if self.postings else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"workers": self.workers, "jobs_per_worker": self.jobs_per_worker, "events": self.events,
                "posted_events": self.posted_events, "postings": self.postings, "seconds": round(self.seconds, 3),
                "postings_per_second": round(self.postings_per_second),
                "wall_seconds_with_worker_start": round(self.wall_seconds, 3),
                "feed_items": self.feed_items, "feed_item_events": self.feed_item_events,
                "alert_triggers": self.alert_triggers, "deliveries": self.deliveries,
                "resent_events": self.resent_events, "handler_failures": self.handler_failures,
                "drained": self.drained, "unprocessed_events": self.unprocessed_events,
                "worker_cpu_seconds": round(self.worker_cpu_seconds, 3),
                "worker_cpu_us_per_posting": round(self.microseconds_per_posting(self.worker_cpu_seconds), 1),
                "database_cpu_seconds": None if self.database_cpu_seconds is None
                else round(self.database_cpu_seconds, 3),
                "database_cpu_us_per_posting": None if self.database_cpu_seconds is None
                else round(self.microseconds_per_posting(self.database_cpu_seconds), 1),
                "worker_peak_rss_bytes": self.worker_peak_rss_bytes}


async def _scalar(database: Database, statement: Any) -> Any:
    async with database.sessions() as session:
        return await session.scalar(statement)


async def outbox_figures(database: BenchDatabase, processed_only: bool = False) -> OutboxFigures:
    """Read after the stream, before any worker ran (or of the events processed, after the bus)."""
    store = open_database(database.url, pool_size=2)
    sql = _OUTBOX_SQL[database.backend]
    if processed_only:
        sql = sql.replace(" GROUP BY", " WHERE processed_at IS NOT NULL GROUP BY")
    try:
        async with store.sessions() as session:
            rows = (await session.execute(text(sql))).all()
            sizes: tuple[int | None, int | None] = (None, None)
            if database.backend == "postgresql":
                found = (await session.execute(text(
                    "SELECT pg_total_relation_size('domain_events'), pg_total_relation_size('transactions')"))).one()
                sizes = (int(found[0]), int(found[1]))
    finally:
        await store.dispose()
    posted = [row for row in rows if row[0] == POSTED]
    events, payload_bytes, postings = (int(posted[0][1]), int(posted[0][2]), int(posted[0][3])) if posted else (0, 0, 0)
    return OutboxFigures(events, postings, payload_bytes, sum(int(row[1]) for row in rows if row[0] != POSTED),
                         *sizes)


def _worker_env(database: BenchDatabase, redis_url: str, queue_name: str, jobs_per_worker: int,
                var_dir: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database.url, "REDIS_URL": redis_url, "ENGAGE_QUEUE_NAME": queue_name,
            "ENGAGE_LOG_LEVEL": "WARNING", "ENGAGE_WORKER_MAX_JOBS": str(jobs_per_worker),
            "ENGAGE_VAR_DIR": str(var_dir)}


def _count_in_logs(paths: list[Path], needle: str) -> int:
    return sum(path.read_text(errors="replace").count(needle) for path in paths if path.exists())


class BusWorkers:
    """`python -m workers` processes on the queue the server announces the events to, from entering the
    context to leaving it (they finish their jobs on SIGTERM, or are killed after STOP_TIMEOUT_SECONDS)."""

    def __init__(self, database: BenchDatabase, redis_url: str, queue_name: str, workers: int, jobs_per_worker: int,
                 run_dir: Path, postgres: PostgresServer | None = None, log_label: str = "") -> None:
        self.database, self.redis_url, self.queue_name = database, redis_url, queue_name
        self.workers, self.jobs_per_worker, self.run_dir, self.postgres = workers, jobs_per_worker, run_dir, postgres
        label = f"{database.backend}-{log_label}" if log_label else database.backend
        self.logs = [run_dir / f"bus-worker-{label}-{number}.log" for number in range(workers)]
        self.processes: list[asyncio.subprocess.Process] = []
        self.store = open_database(database.url, pool_size=2)
        self.started = 0.0
        # Handling rows from before the workers (a seed that processed its own events) are not the bus's.
        self.started_at = dt.datetime.now(dt.UTC)
        self._worker_cpu_before: float | None = None
        self._database_cpu_before: dict[int, float] = {}

    async def __aenter__(self) -> BusWorkers:
        env = _worker_env(self.database, self.redis_url, self.queue_name, self.jobs_per_worker, self.run_dir)
        self.started = time.perf_counter()
        self.started_at = dt.datetime.now(dt.UTC)
        try:
            for log_path in self.logs:
                with log_path.open("wb") as log:
                    self.processes.append(await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "workers", cwd=REPO_ROOT, env=env, stdout=log,
                        stderr=asyncio.subprocess.STDOUT))
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
        await self.store.dispose()

    def _check_alive(self) -> None:
        if any(p.returncode is not None for p in self.processes):
            raise RuntimeError(f"a bus worker exited (see {self.logs[0].parent}/bus-worker-*.log)")

    async def ready(self) -> None:
        """Until every worker has beaten once: its imports and start-up done, it polls the queue."""
        redis = Redis.from_url(self.redis_url)
        try:
            deadline = time.monotonic() + READY_TIMEOUT_SECONDS
            while await redis.hlen(workers_key(self.queue_name)) < self.workers:
                self._check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the bus workers did not start within {READY_TIMEOUT_SECONDS:.0f} s")
                await asyncio.sleep(POLL_SECONDS)
        finally:
            await redis.aclose()
        # Ingestion runs alongside from here: the workers' CPU counts from now, their start-up left out.
        await self._mark_cpu()

    async def _mark_cpu(self) -> None:
        self._worker_cpu_before = sum(cpu_seconds_by_pid(p.pid for p in self.processes).values())
        self._database_cpu_before = await self._database_cpu()

    async def _database_cpu(self) -> dict[int, float]:
        return cpu_seconds_by_pid(await self.postgres.backend_pids(self.database)) if self.postgres else {}

    async def unprocessed_postings(self) -> int:
        """The postings of the TransactionsPosted events no job has finished yet: the bus's backlog."""
        processed = await outbox_figures(self.database, processed_only=True)
        written = await outbox_figures(self.database)
        return written.postings - processed.postings

    async def wait_drained(self) -> BusFigures:
        """Waits until every domain event is processed (or none was for STALL_SECONDS); the workers' and
        their PostgreSQL processes' CPU counts from the first handler's claim on (from `ready`, if awaited)."""
        store = self.store
        pids = [p.pid for p in self.processes]
        unprocessed = select(func.count()).select_from(DomainEventRow).where(DomainEventRow.processed_at.is_(None))
        claims = select(func.count()).select_from(DomainEventHandlingRow).where(
            DomainEventHandlingRow.finished_at >= self.started_at)
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        left, progressed = -1, time.monotonic()
        while True:
            self._check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bus did not drain within {DRAIN_TIMEOUT_SECONDS:.0f} s")
            if self._worker_cpu_before is None and await _scalar(store, claims):
                # The first handler has started: from here on the workers' CPU is the bus's, not their start-up's.
                await self._mark_cpu()
            now_left = await _scalar(store, unprocessed)
            if not now_left:
                break
            if now_left != left:
                left, progressed = now_left, time.monotonic()
            elif time.monotonic() - progressed > STALL_SECONDS:
                break
            await asyncio.sleep(POLL_SECONDS)
        wall_seconds = time.perf_counter() - self.started
        worker_cpu = sum(cpu_seconds_by_pid(pids).values()) - (self._worker_cpu_before or 0.0)
        database_cpu = None
        if self.postgres:
            # Processes that ended meanwhile (a server's, when ingestion ran alongside) are left out.
            after = await self._database_cpu()
            database_cpu = sum(total - self._database_cpu_before.get(pid, 0.0) for pid, total in after.items())
        peaks = [_high_water_mark(pid) or 0 for pid in pids]
        first_claim: dt.datetime | None = await _scalar(store, select(func.min(DomainEventHandlingRow.finished_at))
                                                        .where(DomainEventHandlingRow.finished_at >= self.started_at))
        last_processed: dt.datetime | None = await _scalar(store, select(func.max(DomainEventRow.processed_at)))
        processed = await outbox_figures(self.database, processed_only=True)
        still_left = await _scalar(store, unprocessed)
        return BusFigures(
            workers=self.workers, jobs_per_worker=self.jobs_per_worker,
            events=await _scalar(store, select(func.count()).select_from(DomainEventRow)),
            posted_events=processed.events, postings=processed.postings,
            seconds=(last_processed - first_claim).total_seconds() if first_claim and last_processed else 0.0,
            wall_seconds=wall_seconds,
            feed_items=await _scalar(store, select(func.count()).select_from(FeedItemRow)),
            feed_item_events=await _scalar(store, select(func.count()).select_from(DomainEventRow)
                                           .where(DomainEventRow.kind == kind_of(FeedItemsCreated))),
            alert_triggers=await _scalar(store, select(func.count()).select_from(TriggerRow)),
            deliveries=await _scalar(store, select(func.count()).select_from(DeliveryRow)),
            resent_events=await _scalar(store, select(func.count()).select_from(DomainEventRow)
                                        .where(DomainEventRow.attempts > 0)),
            drained=not still_left, unprocessed_events=still_left,
            handler_failures=_count_in_logs(self.logs, "event_handler_failed"),
            worker_cpu_seconds=worker_cpu, worker_peak_rss_bytes=peaks, database_cpu_seconds=database_cpu,
            last_processed_at=last_processed)


class BacklogSampler:
    """While ingestion runs alongside the bus: every BACKLOG_SAMPLE_SECONDS, how many TransactionsPosted
    events no job has finished yet (seconds since the first sample, events behind)."""

    def __init__(self, workers: BusWorkers) -> None:
        self.workers = workers
        self.samples: list[tuple[float, int]] = []

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._sample())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.samples.append((self._elapsed(), await self._behind()))  # at the stream's end

    def _elapsed(self) -> float:
        return time.perf_counter() - self._started

    async def _behind(self) -> int:
        return int(await _scalar(self.workers.store, select(func.count()).select_from(DomainEventRow).where(
            DomainEventRow.processed_at.is_(None), DomainEventRow.kind == POSTED)))

    async def _sample(self) -> None:
        self._started = time.perf_counter()
        while True:
            self.samples.append((self._elapsed(), await self._behind()))
            await asyncio.sleep(BACKLOG_SAMPLE_SECONDS)


async def drain(database: BenchDatabase, redis_url: str, queue_name: str, workers: int, jobs_per_worker: int,
                run_dir: Path, postgres: PostgresServer | None = None, log_label: str = "") -> BusFigures:
    """Starts the workers on the queue the server announced the events to and waits until every
    domain event is processed (or none was for STALL_SECONDS)."""
    async with BusWorkers(database, redis_url, queue_name, workers, jobs_per_worker, run_dir, postgres,
                          log_label) as bus:
        return await bus.wait_drained()
