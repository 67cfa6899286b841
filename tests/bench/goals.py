"""The goals suite (`python -m tests.bench --suite goals`, PostgreSQL): what the calculation behind the
scenes costs ingestion, and how fast the Goal Tracker is generated.

Recalculation: the same realistic stream (tests/bench/workload.py) is ingested through `python -m server`
into a fresh database each time, once into accounts without goals, once into the same accounts each
enrolled as a target account with 5 goals, and the bus's `python -m workers` processes handle its events
until the outbox is empty. Two ways (--goal-modes):
- alongside (as deployed): the workers run while the server ingests. Figure: transactions / (from the
  stream's first request to the last event processed): the rate at which transactions are ingested with
  their goals recalculated, the server, the workers and PostgreSQL sharing the machine.
- after: the workers start once the server has stopped, so neither takes CPU from the other. Figure:
  transactions / (ingest seconds + bus seconds, from the first handler's claim to the last event
  processed): what each part costs alone, the bus working on a backlog.
Each mode is judged on its own: with goals >= GOAL_TX_PER_SECOND and <= GOAL_RATIO of the time without.

Tracker: --tracker-goals goals (5 per customer, each customer one enrolled account with six months of
salary and spending) through the monthly insight batch on its workers, GOAL_TRACKER the one SCHEDULE insight
the bank subscribes its customers to; goal: >= GOAL_TRACKER_GOALS_PER_SECOND."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, func, insert, select, type_coerce

from server.bootstrap import build_services
from server.config import Settings
from server.domain.insights.catalogue import default_catalogue
from server.domain.insights.definition import SubscriptionSettings
from server.domain.insights.plugins.goals import TRACKER
from server.domain.subscriptions.levels import BANK_LEVEL
from server.services.insights import DEFAULT_CHUNK_SIZE
from server.store.db import open_database
from server.store.goals_models import GoalCashFlowRow, GoalEnrolmentRow, GoalRow
from server.store.models import AccountRow, CustomerRow, TransactionRow
from server.store.uow import UnitOfWork
from tests.bench.bus import DEFAULT_CONCURRENCY, BusWorkers
from tests.bench.databases import BenchDatabase, PostgresServer
from tests.bench.insights_batch import AS_OF, JOBS_PER_WORKER, WORKERS, run_batch
from tests.bench.redis_queue import clear_queue
from tests.bench.run import JWT_SECRET, TENANT_ID, BenchOptions, _ingest_through_server
from tests.bench.seed import create_tenant
from tests.bench.workload import CURRENCY, Workload

GOALS_PER_ACCOUNT = 5
# Targets (EUR) of each account's goals, priorities 1..5: a realistic balance fills the first and moves
# within the later ones, so most postings change some goal's saved amount.
TARGETS = (Decimal(500), Decimal(1500), Decimal(3000), Decimal(6000), Decimal(20000))
GOAL_TX_PER_SECOND = 10_000
GOAL_RATIO = 1.5
GOAL_TRACKER_GOALS_PER_SECOND = 20_000
MODES = ("alongside", "after")
INSERT_ROWS = 5_000


@dataclass
class StreamRun:
    label: str
    mode: str  # one of MODES
    transactions: int
    ingest_seconds: float
    drain_seconds: float  # workers started to outbox empty
    bus_seconds: float  # first handler claim to last event processed
    alongside_seconds: float | None  # alongside: the stream's first request to the last event processed
    server_cpu_seconds: float
    drained: bool
    handler_failures: int
    feed_items: int
    cash_flows: int
    bus_worker_cpu_seconds: float
    bus_database_cpu_seconds: float | None

    @property
    def seconds(self) -> float:
        """Alongside: from the stream's first request to the last event processed. After: ingesting, then
        the bus from its first handler's claim to the last event processed. Neither counts the workers'
        start-up, a few seconds of imports, which is not the calculation's."""
        if self.alongside_seconds is not None:
            return self.alongside_seconds
        return self.ingest_seconds + self.bus_seconds

    @property
    def per_second(self) -> float:
        return self.transactions / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "transactions": self.transactions, "ingest_seconds": round(self.ingest_seconds, 3),
                "drain_seconds_with_worker_start": round(self.drain_seconds, 3),
                "bus_seconds": round(self.bus_seconds, 3), "seconds": round(self.seconds, 3),
                "transactions_per_second": round(self.per_second), "drained": self.drained,
                "handler_failures": self.handler_failures, "feed_items": self.feed_items,
                "goal_cash_flows": self.cash_flows, "server_cpu_seconds": round(self.server_cpu_seconds, 3),
                "bus_worker_cpu_seconds": round(self.bus_worker_cpu_seconds, 3),
                "bus_database_cpu_seconds": None if self.bus_database_cpu_seconds is None
                else round(self.bus_database_cpu_seconds, 3)}


async def _insert(database_url: str, rows_by_table: list[tuple[Any, list[dict[str, Any]]]]) -> None:
    store = open_database(database_url, pool_size=2)
    try:
        for table, rows in rows_by_table:
            for start in range(0, len(rows), INSERT_ROWS):
                async with store.sessions() as session:
                    await session.execute(insert(table), rows[start:start + INSERT_ROWS])
                    await session.commit()
    finally:
        await store.dispose()


def _goal_rows(customer_id: str, account_id: str, now: dt.datetime) -> list[dict[str, Any]]:
    return [{"tenant_id": TENANT_ID, "goal_id": f"{account_id}-g{i}", "customer_id": customer_id,
             "account_id": account_id, "name": f"Goal {i}", "category": "CUSTOM", "target": target,
             "currency": CURRENCY, "target_date": None, "priority": i + 1, "status": "ACTIVE", "saved": Decimal(0),
             "milestones": [], "request_id": None, "created_at": now, "updated_at": now, "achieved_at": None,
             "archived_at": None} for i, target in enumerate(TARGETS[:GOALS_PER_ACCOUNT])]


async def seed_targets(database_url: str, workload: Workload, now: dt.datetime) -> None:
    """Every account (one per customer) enrolled as its customer's target account, with its goals."""
    customers = [{"tenant_id": TENANT_ID, "customer_id": workload.customer_id(n), "attributes": {},
                  "created_at": now, "updated_at": now} for n in range(workload.customers)]
    accounts = [{"tenant_id": TENANT_ID, "account_id": workload.account_id(n), "customer_id": workload.customer_id(n),
                 "authorized_customer_ids": [], "account_type": "CHECKING", "container": "BANK", "currency": CURRENCY,
                 "provider_name": "", "account_name": "", "current_balance": Decimal(0),
                 "available_balance": Decimal(0), "open_date": None, "attributes": {}, "created_at": now,
                 "updated_at": now} for n in range(workload.accounts)]
    enrolments = [{"tenant_id": TENANT_ID, "customer_id": workload.customer_id(n), "account_id": workload.account_id(n),
                   "status": "ACTIVE", "settings": {}, "milestones": [], "request_id": None, "enrolled_at": now,
                   "updated_at": now} for n in range(workload.accounts)]
    goals = [row for n in range(workload.accounts)
             for row in _goal_rows(workload.customer_id(n), workload.account_id(n), now)]
    await _insert(database_url, [(CustomerRow, customers), (AccountRow, accounts), (GoalEnrolmentRow, enrolments),
                                 (GoalRow, goals)])


async def _count(database_url: str, model: Any) -> int:
    store = open_database(database_url, pool_size=1)
    try:
        async with store.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await store.dispose()


async def stream_run(label: str, mode: str, postgres: PostgresServer, options: BenchOptions,
                     with_goals: bool) -> StreamRun:
    database = await postgres.fresh(f"goals_{label}")
    queue_name = f"engage:bench:{uuid.uuid4().hex[:12]}"
    workers, jobs = DEFAULT_CONCURRENCY["postgresql"]
    try:
        await create_tenant(database.url, TENANT_ID, JWT_SECRET, options.run_dir)
        if with_goals:
            await seed_targets(database.url, options.workload, dt.datetime.now(dt.UTC))
        bus_workers = BusWorkers(database, options.redis_url, queue_name, workers, jobs, options.run_dir, postgres,
                                 log_label=f"goals-{label}-{mode}")
        if mode == "alongside":
            async with bus_workers:
                await bus_workers.ready()
                ingest = await _ingest_through_server("postgresql", database, queue_name, options)
                bus = await bus_workers.wait_drained()
            assert ingest.stream_started_at is not None
            alongside = ((bus.last_processed_at - ingest.stream_started_at).total_seconds()
                         if bus.last_processed_at else None)
        else:
            ingest = await _ingest_through_server("postgresql", database, queue_name, options)
            async with bus_workers:
                bus = await bus_workers.wait_drained()
            alongside = None
        return StreamRun(label, mode, ingest.transactions, ingest.seconds, bus.wall_seconds, bus.seconds, alongside,
                         ingest.server_cpu_seconds, bus.drained, bus.handler_failures, bus.feed_items,
                         await _count(database.url, GoalCashFlowRow), bus.worker_cpu_seconds,
                         bus.database_cpu_seconds)
    finally:
        await clear_queue(options.redis_url, queue_name)
        await postgres.drop(database)


async def _seed_tracker(database: BenchDatabase, goals: int, as_of: dt.date, run_dir: Path) -> int:
    """goals / 5 customers, each one enrolled account with 5 goals part saved and six months of a salary
    and two payments; returns the customers."""
    customers = -(-goals // GOALS_PER_ACCOUNT)
    workload = Workload(transactions=0, accounts=customers, accounts_per_customer=1)
    now = dt.datetime.now(dt.UTC)
    settings = Settings(database_url=database.url, jwt_secret=JWT_SECRET, var_dir=run_dir)
    services = await build_services(settings, with_queue=False)
    try:
        await services.tenants.create(TENANT_ID, "Bench bank")
    finally:
        await services.close()
    await seed_targets(database.url, workload, now)
    transactions = []
    first = as_of.replace(day=1)
    for n in range(customers):
        account_id = workload.account_id(n)
        for month in range(1, 7):
            day = (first - dt.timedelta(days=28 * month)).replace(day=5)
            at = dt.datetime.combine(day, dt.time(9), dt.UTC)
            salary = Decimal(2000 + n % 700)
            for number, signed in enumerate((salary, -(salary * Decimal("0.6")), -Decimal(150 + n % 300))):
                transactions.append({
                    "tenant_id": TENANT_ID, "transaction_id": f"{account_id}-{month}-{number}",
                    "account_id": account_id,
                    "signed_amount": signed, "direction": "CREDIT" if signed > 0 else "DEBIT", "currency": CURRENCY,
                    "posted_at": at, "description": "", "category": "", "running_balance": None,
                    "ingested_at": now})
    await _insert(database.url, [(TransactionRow, transactions)])
    store = open_database(database.url, pool_size=2)
    try:
        async with store.sessions() as session:
            # Part saved: the later goals of each customer partway, so every line has a projection.
            stored = type_coerce(GoalRow.target, BigInteger)  # whole ten-thousandths, as stored
            await session.execute(GoalRow.__table__.update().values(saved=stored // 3))
            await session.commit()
    finally:
        await store.dispose()
    return customers


async def _only_the_tracker(database: BenchDatabase) -> None:
    """The bank unsubscribes its customers from the other SCHEDULE insights: the batch is GOAL_TRACKER's."""
    store = open_database(database.url, pool_size=1)
    try:
        async with UnitOfWork(store, TENANT_ID) as uow:
            for plugin in default_catalogue().scheduled():
                if plugin.definition.name != TRACKER:
                    await uow.subscriptions.save(BANK_LEVEL, plugin.definition.name,
                                                 SubscriptionSettings(is_subscribed=False), dt.datetime.now(dt.UTC))
            await uow.commit()
    finally:
        await store.dispose()


async def tracker_run(postgres: PostgresServer, goals: int, redis_url: str, run_dir: Path) -> dict[str, Any]:
    """The monthly batch through WORKERS `python -m workers` processes (tests/bench/insights_batch.py's
    run_batch: from start_batch to the batch's finished_at), with GOAL_TRACKER the one insight subscribed."""
    database = await postgres.fresh("goals_tracker")
    try:
        customers = await _seed_tracker(database, goals, AS_OF, run_dir)
        await _only_the_tracker(database)
        batch = await run_batch(database, redis_url, TENANT_ID, customers, DEFAULT_CHUNK_SIZE, run_dir, postgres)
    finally:
        await postgres.drop(database)
    per_second = goals / batch.seconds if batch.seconds else 0.0
    return {"goals": goals, "customers": customers, "chunk_size": DEFAULT_CHUNK_SIZE, "workers": WORKERS,
            "jobs_per_worker": JOBS_PER_WORKER, "seconds": round(batch.seconds, 3),
            "goals_per_second": round(per_second), "items_generated": batch.items,
            "worker_cpu_seconds": round(batch.worker_cpu_seconds, 3),
            "database_cpu_seconds": None if batch.database_cpu_seconds is None
            else round(batch.database_cpu_seconds, 3),
            "goal": {"goal": GOAL_TRACKER_GOALS_PER_SECOND, "value": round(per_second),
                     "met": per_second >= GOAL_TRACKER_GOALS_PER_SECOND}}


async def run_goals(options: BenchOptions, tracker_goals: int, modes: tuple[str, ...] = MODES, repeats: int = 1
                    ) -> dict[str, Any]:
    """`repeats`: pairs of runs (without goals, then with) per mode, judged on their medians: one run on a
    shared 2-core machine moves by a third from one to the next."""
    postgres = PostgresServer()
    reason = await postgres.unavailable_reason()
    if reason:
        print(f"\n== goals: skipped: {reason}")
        return {"skipped": reason}
    workload = options.workload
    workers, jobs = DEFAULT_CONCURRENCY["postgresql"]
    print(f"\nEngage goals bench (PostgreSQL): {workload.transactions:,} realistic transactions over "
          f"{workload.accounts:,} accounts, ingested by `python -m server`, their events handled by the bus "
          f"({workers} `python -m workers` x {jobs} jobs) until the outbox is empty; without goals, then with every "
          f"account a target account with {GOALS_PER_ACCOUNT} goals; {os.cpu_count()} cores")
    recalculation: dict[str, Any] = {}
    for mode in modes:
        print(f"  {mode}: " + ("the workers run while the server ingests; time from the stream's first request to "
                               "the last event processed" if mode == "alongside" else
                               "the workers start once the server has stopped; time ingesting + the bus's"))
        pairs: list[tuple[StreamRun, StreamRun]] = []
        for repeat in range(repeats):
            if repeats > 1:
                print(f"   pair {repeat + 1} of {repeats}")
            plain = await stream_run("plain", mode, postgres, options, with_goals=False)
            _print_stream(plain)
            with_goals = await stream_run("with_goals", mode, postgres, options, with_goals=True)
            _print_stream(with_goals)
            pairs.append((plain, with_goals))
        recalculation[mode] = _judge(pairs)
    tracker: dict[str, Any] = {"skipped": "--tracker-goals 0"}
    if tracker_goals:
        print(f"\nGoal Tracker: {tracker_goals:,} goals ({GOALS_PER_ACCOUNT} per customer), the monthly batch with "
              f"GOAL_TRACKER subscribed only, chunks of {DEFAULT_CHUNK_SIZE:,} customers, {WORKERS} `python -m "
              f"workers` x {JOBS_PER_WORKER} jobs")
        tracker = await tracker_run(postgres, tracker_goals, options.redis_url, options.run_dir)
        print(f"  {tracker['seconds']:.2f} s: {tracker['goals_per_second']:,} goals/s "
              f"(goal >= {GOAL_TRACKER_GOALS_PER_SECOND:,}; {'met' if tracker['goal']['met'] else 'NOT met'}); "
              f"{tracker['items_generated']:,} items")
    return {"parameters": {"transactions": workload.transactions, "accounts": workload.accounts,
                           "amounts": workload.amounts, "batch_size": options.batch_size,
                           "goals_per_account": GOALS_PER_ACCOUNT, "targets": [str(t) for t in TARGETS],
                           "bus_workers_and_jobs": DEFAULT_CONCURRENCY["postgresql"], "modes": list(modes),
                           "repeats": repeats,
                           "tracker_goals": tracker_goals},
            "recalculation": recalculation, "tracker": tracker}


def _judge(pairs: list[tuple[StreamRun, StreamRun]]) -> dict[str, Any]:
    """The goals judged on the median seconds of the runs without and with goals (one pair: those runs)."""
    plain_seconds = statistics.median(plain.seconds for plain, _ in pairs)
    goals_seconds = statistics.median(with_goals.seconds for _, with_goals in pairs)
    transactions = pairs[0][1].transactions
    per_second = transactions / goals_seconds if goals_seconds else 0.0
    ratio = goals_seconds / plain_seconds if plain_seconds else 0.0
    rate_met, ratio_met = per_second >= GOAL_TX_PER_SECOND, ratio <= GOAL_RATIO
    median = " (medians)" if len(pairs) > 1 else ""
    print(f"    ratio with goals / without{median}: {ratio:.2f}x (goal <= {GOAL_RATIO}x: "
          f"{'met' if ratio_met else 'NOT met'}); with goals {per_second:,.0f} tx/s (goal >= {GOAL_TX_PER_SECOND:,}: "
          f"{'met' if rate_met else 'NOT met'})")
    plain, with_goals = pairs[-1]
    return {"without_goals": plain.as_dict(), "with_goals": with_goals.as_dict(), "ratio": round(ratio, 2),
            "pairs": [{"without_goals_seconds": round(p.seconds, 3), "with_goals_seconds": round(g.seconds, 3)}
                      for p, g in pairs],
            "median_seconds": {"without_goals": round(plain_seconds, 3), "with_goals": round(goals_seconds, 3)},
            "goals": {"with_goals_transactions_per_second": {
                "goal": GOAL_TX_PER_SECOND, "value": round(per_second), "met": rate_met},
                "ratio": {"goal": GOAL_RATIO, "value": round(ratio, 2), "met": ratio_met}}}


def _print_stream(run: StreamRun) -> None:
    timing = (f"stream + bus alongside {run.seconds:6.2f} s (ingest alone took {run.ingest_seconds:.2f} s)"
              if run.alongside_seconds is not None else
              f"ingest {run.ingest_seconds:6.2f} s + bus {run.bus_seconds:6.2f} s = {run.seconds:6.2f} s")
    print(f"    {run.label:<11} {timing}: {run.per_second:,.0f} tx/s; {run.feed_items:,} feed items, "
          f"{run.cash_flows:,} goal cash flows; CPU: server {run.server_cpu_seconds:.2f} s, bus workers "
          f"{run.bus_worker_cpu_seconds:.2f} s, their PostgreSQL {run.bus_database_cpu_seconds or 0:.2f} s"
          f"{'' if run.drained else ', NOT drained'}"
          f"{f', {run.handler_failures} handler failures (retried)' if run.handler_failures else ''}")
