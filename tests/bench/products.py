"""The products suite (`python -m tests.bench --suite products`): QuoteProduct's latency under a steady
load. `python -m server` runs as its own process on a fresh database with the reference's globetrotter
loan approved (tests/support/products.py) and CUSTOMERS customers; this process sends quotes at RATE
requests a second for SECONDS seconds, open loop: each request is due at its own instant whether or not
the earlier ones have been answered, and its latency counts from that instant (a server that falls
behind shows it in the figure instead of slowing the sender down). The requests mix the grid's cases:
5.3%, 4.5% and ineligible customers. Goal: p99 <= GOAL_P99_MS.

The client must measure the server, not its own pauses: this process imported the whole server to seed
(SQLAlchemy, every protobuf), and its collector's full pass over all that took 130-190 ms in the middle
of a run, during which no request was sent while their due instants went by: alone enough for a p99
near 100 ms. So after the warm-up the client freezes what it holds and collects rarely, as the server
does (server/process_tuning.py). It does not hide anything: a request still counts from its due
instant. The client also reports its own longest event-loop stall, its longest collection and its CPU
a quote, so a figure spoilt by the client (or by the machine) shows as such."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import gc
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from clients.stubs import connect
from server.bootstrap import build_services
from server.config import Settings
from server.domain.auth import Role
from server.process_tuning import tune_garbage_collector
from server.security.tokens import mint_token
from tests.bench.cpu import cpu_seconds_by_pid, machine_busy_seconds
from tests.bench.databases import BenchDatabase, PostgresServer, drop_sqlite, fresh_sqlite
from tests.bench.run import JWT_SECRET
from tests.bench.server_process import ServerProcess
from tests.support.products import add_customer, approved_reference_loan, define_reference_facts, quote_request

GOAL_P99_MS = 20.0
RATE = 500
SECONDS = 20
CUSTOMERS = 300
WARM_UP = 500
LOOP_PROBE_SECONDS = 0.005  # how often the client checks its own event loop for a stall


def _percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


class _ClientPauses:
    """The client's own event-loop stalls and garbage collections while it sends: a request due during a
    stall leaves late, and its latency (counted from its due instant, as it should be) then includes the
    client's pause. Reported beside the figures so that a run spoilt by the client is seen as such."""

    def __init__(self) -> None:
        self.longest_stall = 0.0
        self.stalls_over_5ms = 0
        self.longest_collection = 0.0
        self._collection_started: float | None = None
        self._probe: asyncio.Task[None] | None = None

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._collection_started = time.perf_counter()
        elif self._collection_started is not None:
            self.longest_collection = max(self.longest_collection, time.perf_counter() - self._collection_started)

    async def _watch_loop(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(LOOP_PROBE_SECONDS)
            stall = time.perf_counter() - before - LOOP_PROBE_SECONDS
            self.longest_stall = max(self.longest_stall, stall)
            self.stalls_over_5ms += stall > 0.005

    def start(self) -> None:
        gc.callbacks.append(self._on_collection)
        self._probe = asyncio.create_task(self._watch_loop())

    async def stop(self) -> None:
        gc.callbacks.remove(self._on_collection)
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe


def _requests(customers: int) -> list[tuple[str, str]]:
    """(customer, amount): a third at 15,000 with an income of 6,000 (5.3%), a third at 7,000 with 4,000
    (4.5%), a third of customers aged 50 (not eligible, the failing rule named)."""
    chosen = []
    for index in range(customers):
        kind = index % 3
        chosen.append((f"customers/q{index:05d}", "15000" if kind == 0 else "7000" if kind == 1 else "15000"))
    return chosen


async def _seed(address: str, tenant: str, customers: int) -> None:
    settings = Settings(jwt_secret=JWT_SECRET)
    ttl = dt.timedelta(hours=1)
    ana = connect(address, mint_token(settings, tenant=tenant, role=Role.BANK_ADMIN, subject="ana", ttl=ttl))
    ben = connect(address, mint_token(settings, tenant=tenant, role=Role.BANK_ADMIN, subject="ben", ttl=ttl))
    service = connect(address, mint_token(settings, tenant=tenant, role=Role.SERVICE, subject="seed", ttl=ttl))
    async with ana, ben, service:
        await define_reference_facts(ana)
        await approved_reference_loan(ana, ben)
        for index in range(customers):
            kind = index % 3
            await add_customer(service, f"q{index:05d}", "6000" if kind == 0 else "4000", age=50 if kind == 2 else 35)


async def _cpu_seconds(servers: list[ServerProcess], postgres: PostgresServer | None,
                       database: BenchDatabase) -> dict[str, float]:
    """Cumulative CPU seconds: the server, PostgreSQL's backends for the bench's database, the machine (all
    cores, everyone's work). The client reads its own with time.process_time()."""
    backends = cpu_seconds_by_pid(await postgres.backend_pids(database)) if postgres is not None else {}
    return {"server": sum(server.cpu_seconds() for server in servers), "machine": machine_busy_seconds(),
            **{f"postgresql:{pid}": seconds for pid, seconds in backends.items()}}


def _nth(number: int, processes: int) -> str:
    return f"-{number + 1}" if processes > 1 else ""


def _server_stalls(log_paths: list[Path], window: tuple[float, float]) -> dict[str, Any]:
    """The server processes' own event-loop stalls of 100 ms or more while the load ran
    (server/loop_watch.py logs them at WARNING, the level the bench runs them at)."""
    stalls = []
    for log_path in log_paths:
        try:
            lines = log_path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if "event_loop_stalled" in line:
                with contextlib.suppress(ValueError, KeyError):
                    stall = json.loads(line)
                    if window[0] <= dt.datetime.fromisoformat(stall["timestamp"]).timestamp() <= window[1]:
                        stalls.append(stall)
    return {"server_loop_stalls_over_100ms": len(stalls),
            "server_longest_loop_stall_ms": max((float(stall.get("ms", 0)) for stall in stalls), default=0.0),
            "server_longest_gc_in_a_stall_ms": max((float(stall.get("longest_gc_ms", 0)) for stall in stalls),
                                                   default=0.0)}


def _cores(before: dict[str, float], after: dict[str, float], client: float, elapsed: float) -> dict[str, float]:
    """Cores busy during the run, by whom: what is left of the machine's busy time after the server, the
    client and PostgreSQL's backends is other work on the machine (other benches, the kernel)."""
    server = after["server"] - before["server"]
    database = sum(value - before.get(key, 0.0) for key, value in after.items() if key.startswith("postgresql:"))
    machine = after["machine"] - before["machine"]
    return {"machine": machine / elapsed, "server": server / elapsed, "client": client / elapsed,
            "postgresql": database / elapsed, "other": max(0.0, machine - server - client - database) / elapsed}


async def _load(addresses: list[str], token: str, rate: int, seconds: int, customers: int,
                cpu_seconds: Callable[[], Awaitable[dict[str, float]]]) -> dict[str, Any]:
    """One channel to each server process; request i goes to server i mod N (a load balancer's round
    robin, done by the client)."""
    requests = [quote_request(c, a) for c, a in _requests(customers)]
    async with contextlib.AsyncExitStack() as channels:
        each = [await channels.enter_async_context(connect(address, token)) for address in addresses]
        for index in range(WARM_UP * len(each)):  # connections, caches and each server's first statements
            await each[index % len(each)].products.QuoteProduct(requests[index % len(requests)])
        # Everything imported and seeded so far out of the collector's sight, collections rarer: see the
        # module's docstring. Undone after the run for the suites that follow in this process.
        thresholds = gc.get_threshold()
        tune_garbage_collector()
        pauses = _ClientPauses()
        pauses.start()
        try:
            cpu_before = time.process_time()
            cpu_others_before = await cpu_seconds()
            latencies: list[float] = []
            late_at: list[float] = []  # due instants (from the start) of the requests answered past the goal
            failures: dict[str, int] = {}

            async def one(due: float, index: int) -> None:
                try:
                    await each[index % len(each)].products.QuoteProduct(requests[index % len(requests)], timeout=30)
                    latency = time.perf_counter() - due
                    latencies.append(latency)
                    if latency * 1000 > GOAL_P99_MS:
                        late_at.append(due - start)
                except grpc.aio.AioRpcError as error:
                    failures[error.code().name] = failures.get(error.code().name, 0) + 1

            total = rate * seconds
            window_start = time.time()
            start = time.perf_counter() + 0.1
            tasks = []
            for index in range(total):
                due = start + index / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(due, index)))
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - start
            client_cpu = time.process_time() - cpu_before
            window = (window_start, time.time())
            cores = _cores(cpu_others_before, await cpu_seconds(), client_cpu, elapsed)
        finally:
            await pauses.stop()
            gc.unfreeze()
            gc.set_threshold(*thresholds)
    ordered = sorted(latencies)
    ms = [value * 1000 for value in ordered]
    return {"requests": total, "answered": len(ordered), "failures": failures, "seconds": round(elapsed, 2),
            "achieved_rps": round(len(ordered) / elapsed, 1),
            "p50_ms": round(_percentile(ms, 0.50), 2), "p90_ms": round(_percentile(ms, 0.90), 2),
            "p99_ms": round(_percentile(ms, 0.99), 2), "max_ms": round(ms[-1], 2) if ms else None,
            # From the load's start to its end: the warm-up's quotes were counted in the server's before.
            "server_cpu_ms_per_quote": round(cores["server"] * elapsed * 1000 / max(len(ordered), 1), 3),
            "client_cpu_ms_per_quote": round(client_cpu * 1000 / max(len(ordered), 1), 3),
            "postgresql_cpu_ms_per_quote": round(cores["postgresql"] * elapsed * 1000 / max(len(ordered), 1), 3),
            "cores_busy": {who: round(value, 2) for who, value in cores.items()},
            # Late requests bunched in a few tenths of a second are a stall (a pause, the machine's other
            # work taking the cores); spread over many, a queue that the server does not drain fast enough.
            "window": window, "late_requests": len(late_at),
            "late_in_tenths_of_a_second": len({int(at * 10) for at in late_at}),
            "client_longest_loop_stall_ms": round(pauses.longest_stall * 1000, 1),
            "client_loop_stalls_over_5ms": pauses.stalls_over_5ms,
            "client_longest_gc_ms": round(pauses.longest_collection * 1000, 1)}


async def run_products(backends: list[str], redis_url: str, run_dir: Path, rate: int = RATE,
                       seconds: int = SECONDS, customers: int = CUSTOMERS,
                       profile_dir: Path | None = None, processes: int = 1) -> dict[str, Any]:
    """`processes`: `python -m server` processes on the one database, each on its own port, the client
    sending to them in turn over one channel each (what a load balancer in front of them would do)."""
    print(f"\nEngage products bench: QuoteProduct at {rate} requests/s for {seconds} s, open loop, "
          f"{customers} customers; {processes} `python -m server` process{'es' if processes > 1 else ''} and "
          f"this client as separate processes; goal p99 <= {GOAL_P99_MS:.0f} ms")
    results: dict[str, Any] = {}
    for backend in backends:
        postgres = PostgresServer() if backend == "postgresql" else None
        if postgres is not None:
            reason = await postgres.unavailable_reason()
            if reason:
                results[backend] = {"skipped": reason}
                continue
        database: BenchDatabase = await (postgres.fresh("products") if postgres else fresh_sqlite(run_dir, "products"))
        try:
            services = await build_services(Settings(database_url=database.url, jwt_secret=JWT_SECRET,
                                                     var_dir=run_dir), with_queue=False)
            try:
                tenant = (await services.tenants.create("bench-products")).tenant_id
            finally:
                await services.close()
            queue_name = f"engage:bench:{uuid.uuid4().hex[:12]}"
            names = [f"server-products-{backend}{_nth(number, processes)}" for number in range(processes)]
            servers = [ServerProcess(database_url=database.url, redis_url=redis_url, jwt_secret=JWT_SECRET,
                                     queue_name=queue_name, log_path=run_dir / f"{name}.log",
                                     profile_path=profile_dir / f"{name}.prof" if profile_dir else None)
                       for name in names]
            try:
                for server in servers:
                    await server.start()
                await _seed(servers[0].address, tenant, customers)
                token = mint_token(Settings(jwt_secret=JWT_SECRET), tenant=tenant, role=Role.SERVICE,
                                   subject="bench", ttl=dt.timedelta(hours=1))
                figures = await _load([server.address for server in servers], token, rate, seconds, customers,
                                      functools.partial(_cpu_seconds, servers, postgres, database))
            finally:
                for server in servers:
                    await server.stop()
            figures.update(_server_stalls([server.log_path for server in servers], figures.pop("window")))
            figures["server_processes"] = processes
        finally:
            if postgres is not None:
                await postgres.drop(database)
            else:
                drop_sqlite(database)
        figures["goal_met"] = figures["p99_ms"] <= GOAL_P99_MS and not figures["failures"]
        results[backend] = figures
        print(f"== {backend}: p50 {figures['p50_ms']} ms, p90 {figures['p90_ms']} ms, p99 {figures['p99_ms']} ms, "
              f"max {figures['max_ms']} ms at {figures['achieved_rps']} answered/s; failures {figures['failures']}; "
              f"server CPU {figures['server_cpu_ms_per_quote']} ms a quote; client CPU "
              f"{figures['client_cpu_ms_per_quote']} ms a quote, its longest loop stall "
              f"{figures['client_longest_loop_stall_ms']} ms ({figures['client_loop_stalls_over_5ms']} over 5 ms), "
              f"longest GC {figures['client_longest_gc_ms']} ms; PostgreSQL CPU "
              f"{figures['postgresql_cpu_ms_per_quote']} ms a quote; cores busy {figures['cores_busy']}; "
              f"{figures['late_requests']} late (> {GOAL_P99_MS:.0f} ms) in "
              f"{figures['late_in_tenths_of_a_second']} tenths of a second; server loop stalls >= 100 ms "
              f"{figures['server_loop_stalls_over_100ms']} (longest {figures['server_longest_loop_stall_ms']} ms); "
              f"goal "
              f"{'met' if figures['goal_met'] else 'NOT met'}")
    return {"parameters": {"rate": rate, "seconds": seconds, "customers": customers, "goal_p99_ms": GOAL_P99_MS,
                           "server_processes": processes},
            "results": results}
