"""The monthly SAVINGS_INCREASED batch at scale: N users (3 savings accounts each, 12 month ends of
balances) evaluated by 2 arq workers as separate processes, against one bare INSERT ... SELECT that
computes the same totals and averages and writes the same feed rows (the ceiling)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import sqlite3
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import psutil

from server.bootstrap import build_services
from server.config import Settings
from server.domain.insights.periods import previous_month_ends
from tests.bench.databases import BenchDatabase
from tests.bench.server_process import REPO_ROOT, _high_water_mark

AS_OF = dt.date(2026, 11, 1)
ACCOUNTS_PER_USER = 3
MONTHS = 12
CHUNK_SIZE = 1000
WORKERS = 2
SAVINGS = "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE"


@dataclass
class BatchFigures:
    users: int
    seconds: float
    users_per_second: float
    items_generated: int
    worker_peak_rss_bytes: list[int]
    bare_seconds: float
    bare_items: int

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ratio_to_bare": round(self.seconds / self.bare_seconds, 2)
                if self.bare_seconds else None}


def _rows(tenant_id: str, users: int, seed: int = 7) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Customers, accounts and month-end balances (whole ten-thousandths); about a third of the users
    grew their savings enough to get the insight."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    month_ends = previous_month_ends(AS_OF, MONTHS)
    customers, accounts, balances = [], [], []
    for u in range(users):
        customer_id = f"u{u:07d}"
        customers.append((tenant_id, customer_id, "{}", now, now))
        growth = rng.choice((1.0, 1.0, 1.3))
        for a in range(ACCOUNTS_PER_USER):
            account_id = f"{customer_id}-{a}"
            base = rng.randint(1_000, 50_000)
            accounts.append((tenant_id, account_id, customer_id, "[]", "SAVINGS", "BANK" if a else "INVESTMENT",
                             "EUR", "Bench Bank", f"Savings {a}", 0, 0, None, "{}", now, now))
            for i, end in enumerate(month_ends):
                factor = growth if i == MONTHS - 1 else 1.0
                balances.append((tenant_id, account_id, end, int(base * factor) * 10_000, "EUR"))
    return customers, accounts, balances


_CUSTOMER_COLUMNS = ["tenant_id", "customer_id", "attributes", "created_at", "updated_at"]
_ACCOUNT_COLUMNS = ["tenant_id", "account_id", "customer_id", "authorized_customer_ids", "account_type", "container",
                    "currency", "provider_name", "account_name", "current_balance", "available_balance", "open_date",
                    "attributes", "created_at", "updated_at"]
_BALANCE_COLUMNS = ["tenant_id", "account_id", "balance_date", "balance", "currency"]


async def load(database: BenchDatabase, tenant_id: str, users: int) -> None:
    customers, accounts, balances = _rows(tenant_id, users)
    now = dt.datetime.now(dt.UTC)
    if database.backend == "postgresql":
        connection = await asyncpg.connect(database.postgres_dsn)
        try:
            await connection.execute("INSERT INTO tenants VALUES ($1, $1, 'UTC', $2)", tenant_id, now)
            for table, columns, rows in (("customers", _CUSTOMER_COLUMNS, customers),
                                         ("accounts", _ACCOUNT_COLUMNS, accounts),
                                         ("daily_balances", _BALANCE_COLUMNS, balances)):
                await connection.copy_records_to_table(table, records=rows, columns=columns)
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
        return

    def sqlite_load() -> None:
        def text(value: Any) -> Any:
            return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, dt.datetime) else (
                value.isoformat() if isinstance(value, dt.date) else value)

        connection = sqlite3.connect(str(database.sqlite_path))
        with connection:
            connection.execute("INSERT INTO tenants VALUES (?, ?, 'UTC', ?)", (tenant_id, tenant_id, text(now)))
            for table, columns, rows in (("customers", _CUSTOMER_COLUMNS, customers),
                                         ("accounts", _ACCOUNT_COLUMNS, accounts),
                                         ("daily_balances", _BALANCE_COLUMNS, balances)):
                marks = ", ".join("?" * len(columns))
                connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                       ([text(v) for v in row] for row in rows))
        connection.close()

    await asyncio.to_thread(sqlite_load)


def _worker_env(database: BenchDatabase, redis_url: str, queue_name: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database.url, "REDIS_URL": redis_url, "ENGAGE_QUEUE_NAME": queue_name,
            "ENGAGE_LOG_LEVEL": "WARNING", "ENGAGE_WORKER_MAX_JOBS": "2", "ENGAGE_DB_POOL_SIZE": "4"}


async def run_batch(database: BenchDatabase, redis_url: str, tenant_id: str, users: int) -> tuple[float, int,
                                                                                                   list[int]]:
    """Starts WORKERS `python -m workers` processes, runs the batch, returns (seconds, items, peak RSS)."""
    queue_name = f"engage:bench:{uuid.uuid4().hex[:8]}"
    env = _worker_env(database, redis_url, queue_name)
    workers = [await asyncio.create_subprocess_exec(sys.executable, "-m", "workers", cwd=REPO_ROOT, env=env,
                                                    stdout=asyncio.subprocess.DEVNULL)
               for _ in range(WORKERS)]
    settings = Settings(database_url=database.url, redis_url=redis_url, queue_name=queue_name, jwt_secret="x" * 40)
    services = await build_services(settings)
    try:
        await asyncio.sleep(2.0)  # let the workers connect before the clock starts
        started = time.perf_counter()
        batch = await services.insights.start_batch(tenant_id, AS_OF, CHUNK_SIZE)
        while True:
            async with services.database.sessions() as session:
                from server.store.repositories.insight_batches import InsightBatchesRepository

                current = await InsightBatchesRepository(session, tenant_id).get(batch.batch_id)
            if current is not None and current.finished_at is not None:
                break
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        peaks = [_high_water_mark(w.pid) or psutil.Process(w.pid).memory_info().rss for w in workers]
        assert current.users_evaluated == users, (current.users_evaluated, users)
        return seconds, current.items_generated, peaks
    finally:
        await services.close()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            await worker.wait()


def _bare_sql(dialect: str, tenant_id: str) -> str:
    ends = previous_month_ends(AS_OF, 3)
    in_list = ", ".join(f"'{d.isoformat()}'" for d in ends)
    last = ends[-1].isoformat()
    if dialect == "postgresql":
        item_id, payload, created = ("md5(s.customer_id)",
                                     "json_build_object('total', s.total, 'average', s.average)",
                                     "now()")
        expires = "now() + interval '35 days'"
    else:
        item_id, created = "lower(hex(randomblob(16)))", "strftime('%Y-%m-%d %H:%M:%f', 'now')"
        payload = "json_object('total', s.total, 'average', s.average)"
        expires = "strftime('%Y-%m-%d %H:%M:%f', 'now', '+35 days')"
    return f"""
INSERT INTO bare_feed_items (tenant_id, feed_item_id, customer_id, insight_name, period, created_at, expires_at,
                             payload, last_interaction)
SELECT '{tenant_id}', {item_id}, s.customer_id, '{SAVINGS}', '{AS_OF:%Y-%m}', {created}, {expires}, {payload}, NULL
FROM (SELECT a.customer_id,
             sum(CASE WHEN b.balance_date = '{last}' THEN b.balance ELSE 0 END) AS total,
             round(sum(b.balance) / 3.0) AS average
      FROM accounts a JOIN daily_balances b ON b.tenant_id = a.tenant_id AND b.account_id = a.account_id
      WHERE a.tenant_id = '{tenant_id}' AND a.container IN ('BANK', 'INVESTMENT') AND b.balance_date IN ({in_list})
      GROUP BY a.customer_id) AS s
WHERE s.average > 0 AND s.total > s.average AND (s.total - s.average) * 100 > s.average * 10
"""


async def bare_batch(database: BenchDatabase, tenant_id: str) -> tuple[float, int]:
    sql = _bare_sql(database.backend, tenant_id)
    if database.backend == "postgresql":
        connection = await asyncpg.connect(database.postgres_dsn)
        try:
            await connection.execute("CREATE TABLE IF NOT EXISTS bare_feed_items (LIKE feed_items)")
            started = time.perf_counter()
            status = await connection.execute(sql)
            return time.perf_counter() - started, int(status.split()[-1])
        finally:
            await connection.close()

    def run() -> tuple[float, int]:
        connection = sqlite3.connect(str(database.sqlite_path))
        connection.execute("CREATE TABLE IF NOT EXISTS bare_feed_items AS SELECT * FROM feed_items WHERE 0")
        started = time.perf_counter()
        with connection:
            count = connection.execute(sql).rowcount
        connection.close()
        return time.perf_counter() - started, count

    return await asyncio.to_thread(run)


async def insights_figures(database: BenchDatabase, redis_url: str, users: int) -> BatchFigures:
    tenant_id = f"bench-{users}"
    await load(database, tenant_id, users)
    seconds, items, peaks = await run_batch(database, redis_url, tenant_id, users)
    bare_seconds, bare_items = await bare_batch(database, tenant_id)
    return BatchFigures(users, round(seconds, 3), round(users / seconds), items, peaks, round(bare_seconds, 3),
                        bare_items)


def describe(backend: str, figures: BatchFigures) -> str:
    mib = ", ".join(f"{p / 2**20:.0f}" for p in figures.worker_peak_rss_bytes)
    return (f"  {backend:<10} {figures.users:>7,} users: {figures.users_per_second:>7,} users/s "
            f"({figures.seconds:.2f} s, {figures.items_generated:,} items); bare INSERT..SELECT "
            f"{figures.bare_seconds:.2f} s ({figures.bare_items:,} rows), ratio {figures.as_dict()['ratio_to_bare']}x; "
            f"worker peak RSS {mib} MiB")


def as_json(figures: dict[str, dict[int, BatchFigures]]) -> dict[str, Any]:
    return json.loads(json.dumps({b: {str(n): f.as_dict() for n, f in by_size.items()}
                                  for b, by_size in figures.items()}))
