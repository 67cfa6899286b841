"""The measured path: customers and accounts through the batch upserts (set-up, timed apart), then
every transaction through one IngestTransactions stream, as a bank's loader would send them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from clients.ingest_writer import IngestWriter
from clients.stubs import connect
from tests.bench.cpu import cpu_seconds_by_pid, machine_busy_seconds
from tests.bench.server_process import ServerProcess
from tests.bench.workload import Workload

RSS_SAMPLE_SECONDS = 0.5

BackendPids = Callable[[], Awaitable[set[int]]]


@dataclass
class IngestFigures:
    transactions: int
    seconds: float
    setup_seconds: float
    accepted: int
    duplicate: int
    rejected: int
    server_cpu_seconds: float
    client_cpu_seconds: float
    server_peak_rss_bytes: int
    # Every core's busy time over the stream: what is not the server's or the client's is the
    # database's (PostgreSQL runs as its own processes) or another program's on this machine.
    machine_busy_cpu_seconds: float
    # PostgreSQL's own CPU for this database's connections; None on SQLite (it runs inside the server).
    database_cpu_seconds: float | None = None
    stream_started_at: dt.datetime | None = None  # wall clock, to set beside the bus's recorded times
    first_rejections: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.transactions / self.seconds

    @property
    def other_cpu_seconds(self) -> float:
        return max(self.machine_busy_cpu_seconds - self.server_cpu_seconds - self.client_cpu_seconds, 0.0)

    def microseconds_per_row(self, cpu_seconds: float) -> float:
        return cpu_seconds / self.transactions * 1e6

    @property
    def server_core_share(self) -> float:
        """Server CPU time over wall time: near 1.0 means one core (its event loop) was saturated."""
        return self.server_cpu_seconds / self.seconds


async def _sample_rss(server: ServerProcess) -> None:
    while True:
        server.sample_rss()
        await asyncio.sleep(RSS_SAMPLE_SECONDS)


async def run_ingest(server: ServerProcess, token: str, workload: Workload, batch_size: int,
                     database_pids: BackendPids | None = None) -> IngestFigures:
    """database_pids lists the database's processes serving the server (PostgreSQL); their CPU is
    read before and after the stream, so a busy machine does not blur what the database itself spent."""
    # Built before the clock starts: the client's own message building is not what is measured.
    messages = workload.transaction_messages()
    async with connect(server.address, token) as stubs:
        writer = IngestWriter(stubs)
        started = time.perf_counter()
        await writer.customers(workload.customer_messages())
        await writer.accounts(workload.account_messages())
        setup_seconds = time.perf_counter() - started

        database_before = cpu_seconds_by_pid(await database_pids()) if database_pids else {}
        server_cpu, client_cpu, machine_busy = server.cpu_seconds(), time.process_time(), machine_busy_seconds()
        sampler = asyncio.create_task(_sample_rss(server))
        started, stream_started_at = time.perf_counter(), dt.datetime.now(dt.UTC)
        try:
            response = await writer.transactions(messages, batch_size=batch_size)
        finally:
            seconds = time.perf_counter() - started
            server_cpu, client_cpu = server.cpu_seconds() - server_cpu, time.process_time() - client_cpu
            machine_busy = machine_busy_seconds() - machine_busy
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
    database_cpu = None
    if database_pids:
        # A connection opened during the stream counts from zero.
        after = cpu_seconds_by_pid(await database_pids())
        database_cpu = sum(total - database_before.get(pid, 0.0) for pid, total in after.items())
    return IngestFigures(
        transactions=len(messages), seconds=seconds, setup_seconds=setup_seconds,
        accepted=response.accepted_count, duplicate=response.duplicate_count, rejected=response.rejected_count,
        server_cpu_seconds=server_cpu, client_cpu_seconds=client_cpu, server_peak_rss_bytes=server.peak_rss_bytes(),
        machine_busy_cpu_seconds=machine_busy, database_cpu_seconds=database_cpu,
        stream_started_at=stream_started_at, first_rejections=writer.summary.rejections[:5])
