"""The goal handler alone (`python -m tests.bench.goal_handler`, PostgreSQL): where a job's time goes, and
the rows it leaves, so that two trees can be compared (docs/goals-tracking.md, Costs).

A fresh database with the goals bench's target accounts (tests/bench/goals.py: every account one customer's
target account with five goals), then `--jobs` jobs of `--events` events of 500 postings each, a fixed
random stream. Per job, as ingestion alongside leaves them: the accounts' balances committed after the job's
postings, then GoalTrackingService.on_transactions_posted in one unit of work on one connection, and the
commit. Prints, per job (the first two left out: the goals' first allocations), the worker's CPU, the
PostgreSQL backend's CPU and each statement's wall and backend time; then a checksum of the cash flows,
goals, milestone keys, feed items and history entries the run left (without generated ids), which is the
same for two trees that behave the same. The clock is fixed, so the checksum is too."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import random
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from sqlalchemy import event

from server.bootstrap import build_services
from server.domain.events import Money, Posting, TransactionsPosted
from server.domain.ingest.model import Direction
from server.process_tuning import tune_garbage_collector
from server.services.events import NoPublisher
from server.services.goals.tracking import GoalTrackingService
from server.store.uow import UnitOfWork
from tests.bench.databases import PostgresServer
from tests.bench.goals import seed_targets
from tests.bench.run import JWT_SECRET, TENANT_ID
from tests.bench.seed import _settings, create_tenant
from tests.bench.workload import CURRENCY, Workload

POSTINGS_PER_EVENT = 500
WARM_UP_JOBS = 2
STARTED = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
# What the run leaves, ordered, without the ids the run generates (feed items', history entries').
CHECKED = (
    "SELECT goal_id, transaction_id, customer_id, account_id, amount, currency, posted_at, recorded_at "
    "FROM goal_cash_flows ORDER BY goal_id, transaction_id",
    "SELECT goal_id, saved, status, achieved_at, milestones::text FROM goals ORDER BY goal_id",
    "SELECT goal_id, milestone, reached_at FROM goal_milestones ORDER BY goal_id, milestone",
    "SELECT customer_id, insight_name, period, payload::text, created_at FROM feed_items "
    "ORDER BY customer_id, insight_name, period",
    "SELECT customer_id, kind, goal_id, at, before::text, after::text FROM goal_history "
    "ORDER BY customer_id, goal_id, kind, at",
)


class StatementTimes:
    """Each statement's wall and backend CPU seconds while `on` (keyed by its first words)."""

    def __init__(self) -> None:
        self.on = False
        self.backend: psutil.Process | None = None
        self.totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        self._started: tuple[float, float] = (0.0, 0.0)

    def cpu(self) -> float:
        assert self.backend is not None
        times = self.backend.cpu_times()
        return float(times.user + times.system)

    def before(self, *_: Any) -> None:
        if self.on:
            self._started = (time.perf_counter(), self.cpu())

    def after(self, _connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.on:
            total = self.totals[" ".join(statement.split())[:60]]
            total[0] += 1
            total[1] += time.perf_counter() - self._started[0]
            total[2] += self.cpu() - self._started[1]


def stream(workload: Workload, jobs: int, events: int, seed: int) -> list[tuple[list[Posting], dict[str, int]]]:
    """Per job its postings (credits and debits on random accounts, each with the balance after it) and
    the balances (whole ten-thousandths) of the accounts they moved, after them."""
    rnd = random.Random(seed)
    balances = {workload.account_id(n): 0 for n in range(workload.accounts)}
    found = []
    number = 0
    for _ in range(jobs):
        postings = []
        for _ in range(events * POSTINGS_PER_EVENT):
            number += 1
            n = rnd.randrange(workload.accounts)
            account_id = workload.account_id(n)
            cents = rnd.randint(100_00, 3000_00) if rnd.random() < 0.5 else -rnd.randint(5_00, 400_00)
            balances[account_id] += cents * 100
            postings.append(
                Posting(
                    f"tx-{number:08d}",
                    account_id,
                    workload.customer_id(n),
                    "CHECKING",
                    "BANK",
                    Money(Decimal(cents) / 100, CURRENCY),
                    Money(Decimal(balances[account_id]) / 10_000, CURRENCY),
                    STARTED + dt.timedelta(seconds=number),
                    Direction.CREDIT if cents > 0 else Direction.DEBIT,
                )
            )
        found.append((postings, {p.account_id: balances[p.account_id] for p in postings}))
    return found


async def run(jobs: int, events: int, accounts: int, seed: int, run_dir: Path) -> None:
    postgres = PostgresServer()
    database = await postgres.fresh("goal_handler")
    try:
        await create_tenant(database.url, TENANT_ID, JWT_SECRET, run_dir)
        workload = Workload(transactions=jobs * events * POSTINGS_PER_EVENT, accounts=accounts, accounts_per_customer=1)
        await seed_targets(database.url, workload, STARTED)
        tune_garbage_collector()  # as the workers do
        services = await build_services(_settings(database.url, JWT_SECRET, run_dir), with_queue=False)
        # As in the goals bench, where ingesting the accounts through the server analyzes them (and nothing
        # analyzes the seeded goals): without statistics the balance read takes the customer index.
        await services.database.planner_statistics.ensure("accounts")
        handler = GoalTrackingService(services.database, NoPublisher(), clock=lambda: NOW)
        times = StatementTimes()
        event.listen(services.database.engine.sync_engine, "before_cursor_execute", times.before)
        event.listen(services.database.engine.sync_engine, "after_cursor_execute", times.after)
        admin = await asyncpg.connect(database.url.replace("postgresql+asyncpg://", "postgresql://"))
        worker = backend = 0.0
        try:
            for job, (postings, balances) in enumerate(stream(workload, jobs, events, seed)):
                await admin.executemany(
                    "UPDATE accounts SET current_balance = $1 WHERE tenant_id = $2 AND account_id = $3",
                    [(balance, TENANT_ID, account_id) for account_id, balance in balances.items()],
                )
                async with UnitOfWork(services.database, TENANT_ID) as uow:
                    connection = await uow.session.connection()
                    pid = (await connection.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
                    times.backend = psutil.Process(pid)
                    times.on = job >= WARM_UP_JOBS
                    started = (time.process_time(), times.cpu())
                    await handler.on_transactions_posted(uow, TENANT_ID, TransactionsPosted(tuple(postings)))
                    await uow.commit()
                    if times.on:
                        worker += time.process_time() - started[0]
                        backend += times.cpu() - started[1]
                    times.on = False
            measured = max(1, jobs - WARM_UP_JOBS)
            print(
                f"goal handler, {measured} jobs of {events} events x {POSTINGS_PER_EVENT} postings over "
                f"{accounts:,} target accounts: worker CPU {worker / measured * 1000:.1f} ms, PostgreSQL "
                f"{backend / measured * 1000:.1f} ms a job"
            )
            for statement, (count, wall, cpu) in sorted(times.totals.items(), key=lambda kv: -kv[1][2]):
                print(
                    f"  {wall / measured * 1000:6.1f} ms wall {cpu / measured * 1000:6.1f} ms PostgreSQL a job "
                    f"({count:.0f}x)  {statement}"
                )
            digest = hashlib.sha256()
            counts = []
            for query in CHECKED:
                rows = await admin.fetch(query)
                counts.append(len(rows))
                digest.update(repr([tuple(row) for row in rows]).encode())
            print(
                f"rows (cash flows, goals, milestone keys, feed items, history) {counts}; "
                f"checksum {digest.hexdigest()[:16]}"
            )
        finally:
            await admin.close()
            await services.close()
    finally:
        await postgres.drop(database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=25)
    parser.add_argument("--events", type=int, default=4, help="events of 500 postings a job (default 4)")
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--run-dir", type=Path, default=Path("var/goal_handler"))
    arguments = parser.parse_args()
    arguments.run_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(arguments.jobs, arguments.events, arguments.accounts, arguments.seed, arguments.run_dir))


if __name__ == "__main__":
    main()
