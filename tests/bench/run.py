"""One backend's runs. Ingest: a fresh database for the server and another for the bare load, the
server as its own process; once it has stopped, worker processes drain the domain events it wrote
through the message bus. Insights: a fresh database per number of users, two workers as their own
processes. Then everything the run made is removed (server and worker logs are kept)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.config import Settings
from server.domain.auth import Role
from server.security.tokens import mint_token
from tests.bench.bare import bare_load
from tests.bench.bus import BacklogSampler, BusWorkers, drain, outbox_figures
from tests.bench.databases import BenchDatabase, PostgresServer, drop_sqlite, fresh_sqlite
from tests.bench.ingest import IngestFigures, run_ingest
from tests.bench.insights_batch import BatchFigures, insights_figures
from tests.bench.redis_queue import clear_queue
from tests.bench.report import (
    AlongsideRun,
    AmountsRun,
    BackendResult,
    insights_goals,
    print_insights,
    print_result,
    print_rss_growth,
    print_skipped,
)
from tests.bench.seed import create_tenant, create_tenant_with_accounts
from tests.bench.server_process import ServerProcess
from tests.bench.workload import Workload

JWT_SECRET = "bench-secret-" + "x" * 40
TENANT_ID = "bench-bank"


@dataclass
class BenchOptions:
    workload: Workload
    batch_size: int
    redis_url: str
    run_dir: Path
    profile_dir: Path | None = None
    postgres: PostgresServer | None = None  # set while the PostgreSQL backend runs
    # By backend: `python -m workers` processes draining the events, and jobs each (ENGAGE_WORKER_MAX_JOBS);
    # a backend left out gets no bus run.
    bus_concurrency: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    # Further amount profiles (tests.bench.workload.AMOUNT_PROFILES) streamed and drained through the bus
    # on fresh databases after the workload's own; the bare load is of the workload's profile only.
    more_amounts: tuple[str, ...] = ()
    # Also stream each amount profile once more into a fresh database with the bus's workers running
    # alongside the server, as deployed: does the backlog of events stay bounded?
    bus_alongside: bool = False


@dataclass
class InsightsOptions:
    users: list[int]
    chunk_size: int
    redis_url: str
    run_dir: Path


class _Databases:
    """Creates and drops the run's databases on one backend."""

    def __init__(self, run_dir: Path, postgres: PostgresServer | None) -> None:
        self.run_dir = run_dir
        self.postgres = postgres
        self.made: list[BenchDatabase] = []

    async def fresh(self, label: str) -> BenchDatabase:
        if self.postgres is not None:
            database = await self.postgres.fresh(label)
        else:
            database = await fresh_sqlite(self.run_dir, label)
        self.made.append(database)
        return database

    async def drop_all(self) -> None:
        for database in self.made:
            if self.postgres is not None:
                await self.postgres.drop(database)
            else:
                drop_sqlite(database)


async def run_backend(backend: str, options: BenchOptions) -> dict[str, Any]:
    """Runs and prints one backend; returns its part of var/bench.json."""
    if backend == "sqlite":
        result = await bench_backend(backend, options, None)
        print_result(result)
        return result.as_dict()
    postgres = PostgresServer()
    reason = await postgres.unavailable_reason()
    if reason:
        print_skipped(backend, reason)
        return {"skipped": reason}
    autovacuum = await postgres.autovacuum()
    print(f"\n(PostgreSQL autovacuum is {autovacuum}; the bench runs no ANALYZE: the server analyzes the tables "
          "it filled that never had statistics)")
    result = await bench_backend(backend, dataclasses.replace(options, postgres=postgres), postgres)
    print_result(result)
    return result.as_dict() | {"autovacuum": autovacuum}


async def bench_backend(backend: str, options: BenchOptions, postgres: PostgresServer | None) -> BackendResult:
    databases = _Databases(options.run_dir, postgres)
    try:
        runs = [await _stream_and_drain(backend, options, databases)]
        if options.bus_concurrency.get(backend):
            for amounts in options.more_amounts:
                workload = dataclasses.replace(options.workload, amounts=amounts)
                runs.append(await _stream_and_drain(backend, dataclasses.replace(options, workload=workload),
                                                    databases))
        # The bare load runs after the server has stopped: it gets the whole machine, as the server did.
        bare_db = await databases.fresh("bare")
        await create_tenant_with_accounts(bare_db.url, TENANT_ID, options.workload, JWT_SECRET, options.run_dir)
        bare_seconds = await bare_load(bare_db, options.workload, TENANT_ID)
    finally:
        await databases.drop_all()
    return BackendResult(backend, runs, bare_seconds)


async def _stream_and_drain(backend: str, options: BenchOptions, databases: _Databases) -> AmountsRun:
    amounts = options.workload.amounts
    ingest_db = await databases.fresh(f"ingest_{amounts}")
    await create_tenant(ingest_db.url, TENANT_ID, JWT_SECRET, options.run_dir)
    queue_name = f"engage:bench:{uuid.uuid4().hex[:12]}"
    try:
        figures = await _ingest_through_server(backend, ingest_db, queue_name, options)
        outbox = await outbox_figures(ingest_db)
        # The bus after the server has stopped, on the jobs it announced: the workers get the machine.
        concurrency = options.bus_concurrency.get(backend)
        load_average = os.getloadavg()[0]  # the machine is shared: how busy it was as the bus started
        bus = await drain(ingest_db, options.redis_url, queue_name, *concurrency, options.run_dir,
                          databases.postgres, log_label=amounts) if concurrency else None
    finally:
        await clear_queue(options.redis_url, queue_name)
    alongside = await _stream_alongside(backend, options, databases, concurrency) \
        if concurrency and options.bus_alongside else None
    return AmountsRun(amounts, figures, outbox, bus, load_average, alongside)


async def _stream_alongside(backend: str, options: BenchOptions, databases: _Databases,
                            concurrency: tuple[int, int]) -> AlongsideRun:
    """The same stream into a fresh database while the bus's workers run, its backlog sampled."""
    amounts = options.workload.amounts
    database = await databases.fresh(f"alongside_{amounts}")
    await create_tenant(database.url, TENANT_ID, JWT_SECRET, options.run_dir)
    queue_name = f"engage:bench:{uuid.uuid4().hex[:12]}"
    try:
        async with BusWorkers(database, options.redis_url, queue_name, *concurrency, options.run_dir,
                              databases.postgres, log_label=f"{amounts}-alongside") as workers:
            await workers.ready()
            sampler = BacklogSampler(workers)
            async with sampler.running():
                figures = await _ingest_through_server(backend, database, queue_name,
                                                       dataclasses.replace(options, postgres=None))
            bus = await workers.wait_drained()
    finally:
        await clear_queue(options.redis_url, queue_name)
    return AlongsideRun(figures, bus, sampler.samples)


async def _ingest_through_server(backend: str, database: BenchDatabase, queue_name: str,
                                 options: BenchOptions) -> IngestFigures:
    amounts = options.workload.amounts
    profile = options.profile_dir / f"server-{backend}-{amounts}.prof" if options.profile_dir else None
    server = ServerProcess(database_url=database.url, redis_url=options.redis_url, jwt_secret=JWT_SECRET,
                           queue_name=queue_name, log_path=options.run_dir / f"server-{backend}-{amounts}.log",
                           profile_path=profile)
    await server.start()
    try:
        token = mint_token(Settings(jwt_secret=JWT_SECRET), tenant=TENANT_ID, role=Role.SERVICE, subject="bench",
                           ttl=dt.timedelta(hours=4))
        postgres = options.postgres
        return await run_ingest(server, token, options.workload, options.batch_size,
                                database_pids=(lambda: postgres.backend_pids(database)) if postgres else None)
    finally:
        await server.stop()


async def run_insights_backend(backend: str, options: InsightsOptions) -> dict[str, Any]:
    """Every size of the insight batch on one backend; prints and returns its part of var/bench.json."""
    postgres = None
    if backend == "postgresql":
        postgres = PostgresServer()
        reason = await postgres.unavailable_reason()
        if reason:
            print_skipped(backend, reason)
            return {"skipped": reason}
    print(f"\n== {backend}")
    by_size: dict[int, BatchFigures] = {}
    for users in options.users:
        databases = _Databases(options.run_dir, postgres)
        try:
            database = await databases.fresh(f"insights{users}")
            by_size[users] = await insights_figures(database, options.redis_url, users, options.chunk_size,
                                                    options.run_dir, postgres)
        finally:
            await databases.drop_all()
        print_insights(backend, by_size[users])
    goals = insights_goals(backend, by_size)
    print_rss_growth(goals)
    return {"sizes": {str(users): figures.as_dict() for users, figures in by_size.items()}, "goals": goals}
