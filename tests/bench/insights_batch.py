"""The monthly SAVINGS_INCREASED batch at scale: N users (3 savings accounts each, 12 month ends of
balances) evaluated by 2 arq workers as separate processes, against one bare INSERT ... SELECT that
computes the same totals and averages and writes the same feed rows (the ceiling). Each size gets a
fresh database; the data is bulk-loaded (COPY / executemany) and analyzed before anything is timed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from server.bootstrap import build_services
from server.config import Settings
from server.domain.insights.definition import effective_subscription
from server.domain.insights.periods import previous_month_ends
from server.domain.insights.plugins import savings_increased
from server.services.insight_evaluation import content_header
from server.store.repositories.insight_batches import InsightBatchesRepository
from server.store.types import sqlite_datetime_text
from tests.bench.cpu import cpu_seconds_by_pid
from tests.bench.databases import BenchDatabase, PostgresServer
from tests.bench.redis_queue import clear_queue
from tests.bench.server_process import REPO_ROOT, _high_water_mark

AS_OF = dt.date(2026, 11, 1)
ACCOUNTS_PER_USER = 3
MONTHS = 12
WORKERS = 2
JOBS_PER_WORKER = 2
SAVINGS = "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE"
LOAD_BLOCK = 10_000  # users generated and loaded at a time: the loader's memory stays small
WORKER_START_TIMEOUT_SECONDS = 60.0
BATCH_TIMEOUT_SECONDS = 1800.0


@dataclass
class BatchFigures:
    users: int
    seconds: float
    items_generated: int
    worker_peak_rss_bytes: list[int]
    bare_seconds: float
    bare_items: int
    chunk_size: int
    load_seconds: float
    worker_cpu_seconds: float  # both workers, from the start of the batch to its end
    database_cpu_seconds: float | None  # PostgreSQL's processes serving this database; None on SQLite
    # The first customers' items from the batch and from the bare statement: the same payloads?
    payloads_compared: int = 0
    payloads_differ: int = 0

    def microseconds_per_user(self, cpu_seconds: float) -> float:
        return cpu_seconds / self.users * 1e6

    @property
    def users_per_second(self) -> float:
        return self.users / self.seconds

    @property
    def ratio_to_bare(self) -> float:
        return self.seconds / self.bare_seconds

    @property
    def items_match(self) -> bool:
        return self.items_generated == self.bare_items and self.payloads_compared > 0 and not self.payloads_differ

    def as_dict(self) -> dict[str, Any]:
        return {"users": self.users, "seconds": round(self.seconds, 3),
                "users_per_second": round(self.users_per_second), "items_generated": self.items_generated,
                "bare_seconds": round(self.bare_seconds, 3), "bare_items": self.bare_items,
                "payloads_compared": self.payloads_compared, "payloads_differ": self.payloads_differ,
                "items_match_bare": self.items_match, "ratio_to_bare": round(self.ratio_to_bare, 2),
                "worker_peak_rss_bytes": self.worker_peak_rss_bytes, "chunk_size": self.chunk_size,
                "worker_cpu_us_per_user": round(self.microseconds_per_user(self.worker_cpu_seconds), 1),
                "database_cpu_us_per_user": None if self.database_cpu_seconds is None
                else round(self.microseconds_per_user(self.database_cpu_seconds), 1),
                "load_seconds": round(self.load_seconds, 1)}


# -- the data ------------------------------------------------------------------------------------

_CUSTOMER_COLUMNS = ["tenant_id", "customer_id", "attributes", "created_at", "updated_at"]
_ACCOUNT_COLUMNS = ["tenant_id", "account_id", "customer_id", "authorized_customer_ids", "account_type", "container",
                    "currency", "provider_name", "account_name", "current_balance", "available_balance", "open_date",
                    "attributes", "created_at", "updated_at"]
_BALANCE_COLUMNS = ["tenant_id", "account_id", "balance_date", "balance", "currency"]
_TABLES = (("customers", _CUSTOMER_COLUMNS), ("accounts", _ACCOUNT_COLUMNS), ("daily_balances", _BALANCE_COLUMNS))


def _blocks(tenant_id: str, users: int, seed: int = 7) -> Iterator[tuple[list[tuple], list[tuple], list[tuple]]]:
    """Customers, accounts and month-end balances (whole ten-thousandths), LOAD_BLOCK users at a time;
    about a third of the users grew their savings enough to get the insight. The same seed gives the
    same rows whatever the block size."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    month_ends = previous_month_ends(AS_OF, MONTHS)
    for first in range(0, users, LOAD_BLOCK):
        customers, accounts, balances = [], [], []
        for u in range(first, min(first + LOAD_BLOCK, users)):
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
        yield customers, accounts, balances


async def load(database: BenchDatabase, tenant_id: str, users: int) -> None:
    """The tenant and its users straight into the tables, then ANALYZE, as after any bulk load."""
    now = dt.datetime.now(dt.UTC)
    if database.backend == "postgresql":
        connection = await asyncpg.connect(database.postgres_dsn)
        try:
            await connection.execute("INSERT INTO tenants VALUES ($1, $1, 'UTC', $2)", tenant_id, now)
            for block in _blocks(tenant_id, users):
                for (table, columns), rows in zip(_TABLES, block, strict=True):
                    await connection.copy_records_to_table(table, records=rows, columns=columns)
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
        return

    def text(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return sqlite_datetime_text(value)
        return value.isoformat() if isinstance(value, dt.date) else value

    def sqlite_load() -> None:
        connection = sqlite3.connect(str(database.sqlite_path))
        try:
            with connection:
                connection.execute("INSERT INTO tenants VALUES (?, ?, 'UTC', ?)", (tenant_id, tenant_id, text(now)))
                for block in _blocks(tenant_id, users):
                    for (table, columns), rows in zip(_TABLES, block, strict=True):
                        marks = ", ".join("?" * len(columns))
                        connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                               ([text(v) for v in row] for row in rows))
            connection.execute("ANALYZE")
        finally:
            connection.close()

    await asyncio.to_thread(sqlite_load)


# -- the batch through the workers ---------------------------------------------------------------

def _worker_env(database: BenchDatabase, redis_url: str, queue_name: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database.url, "REDIS_URL": redis_url, "ENGAGE_QUEUE_NAME": queue_name,
            "ENGAGE_LOG_LEVEL": "WARNING", "ENGAGE_WORKER_MAX_JOBS": str(JOBS_PER_WORKER)}


async def _wait_for_workers(redis_url: str, queue_name: str, workers: list[asyncio.subprocess.Process]) -> None:
    """Until every worker has started (arq writes a health-check key per queue once it polls)."""
    import redis.asyncio as redis

    client = redis.from_url(redis_url)
    deadline = time.monotonic() + WORKER_START_TIMEOUT_SECONDS
    try:
        while not await client.exists(f"{queue_name}:health-check"):
            if any(w.returncode is not None for w in workers) or time.monotonic() > deadline:
                raise RuntimeError("the bench's workers did not start (see var/bench/*/worker-*.log)")
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()
    await asyncio.sleep(1.0)  # the second worker starts alongside; give it time to poll too


@dataclass
class BatchRun:
    seconds: float
    items: int
    worker_peak_rss_bytes: list[int]
    worker_cpu_seconds: float
    database_cpu_seconds: float | None


async def run_batch(database: BenchDatabase, redis_url: str, tenant_id: str, users: int, chunk_size: int,
                    log_dir: Path, postgres: PostgresServer | None = None) -> BatchRun:
    """Starts WORKERS `python -m workers` processes and runs the batch. The time runs from the
    start_batch call to the batch's finished_at; CPU is read from the processes (PostgreSQL's: those
    serving this database) before the workers stop."""
    queue_name = f"engage:bench:{uuid.uuid4().hex[:8]}"
    env = _worker_env(database, redis_url, queue_name)
    log_dir.mkdir(parents=True, exist_ok=True)
    workers = []
    for number in range(WORKERS):
        with (log_dir / f"worker-{database.backend}-{users}-{number}.log").open("wb") as log:
            workers.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "workers", cwd=REPO_ROOT, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT))
    settings = Settings(database_url=database.url, redis_url=redis_url, queue_name=queue_name, jwt_secret="x" * 40)
    services = await build_services(settings)
    try:
        await _wait_for_workers(redis_url, queue_name, workers)
        worker_cpu = sum(cpu_seconds_by_pid(w.pid for w in workers).values())
        database_before = cpu_seconds_by_pid(await postgres.backend_pids(database)) if postgres else {}
        started = dt.datetime.now(dt.UTC)
        batch = await services.insights.start_batch(tenant_id, AS_OF, chunk_size)
        deadline = time.monotonic() + BATCH_TIMEOUT_SECONDS
        while True:
            async with services.database.sessions() as session:
                current = await InsightBatchesRepository(session, tenant_id).get(batch.batch_id)
            assert current is not None
            if current.finished_at is not None:
                break
            if time.monotonic() > deadline or any(w.returncode is not None for w in workers):
                raise RuntimeError(f"the batch did not finish ({current.done_chunks}/{current.total_chunks} chunks)")
            await asyncio.sleep(0.05)
        seconds = (current.finished_at - started).total_seconds()
        worker_cpu = sum(cpu_seconds_by_pid(w.pid for w in workers).values()) - worker_cpu
        database_cpu = None
        if postgres:
            # A connection opened during the batch counts from zero.
            after = cpu_seconds_by_pid(await postgres.backend_pids(database))
            database_cpu = sum(total - database_before.get(pid, 0.0) for pid, total in after.items())
        peaks = [_high_water_mark(w.pid) or psutil.Process(w.pid).memory_info().rss for w in workers]
        if current.users_evaluated != users:
            raise RuntimeError(f"the batch evaluated {current.users_evaluated} users, not {users}")
        return BatchRun(seconds, current.items_generated, peaks, worker_cpu, database_cpu)
    finally:
        await services.close()
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                worker.terminate()
        for worker in workers:
            await worker.wait()
        await clear_queue(redis_url, queue_name)


# -- the ceiling ---------------------------------------------------------------------------------

def _header() -> dict[str, Any]:
    """What the batch writes in every item besides the figures: the insight's title, type and the
    subscription snapshot of the bank defaults (no one in the bench overrides them)."""
    definition = savings_increased.DEFINITION
    return content_header(definition, effective_subscription(definition, None, None))


def _bare_sql(dialect: str, tenant_id: str) -> str:
    """The same feed rows as the batch, payload and all, straight from the month-end rows (the bench's
    data has a balance on every month end and one currency), in whole ten-thousandths and cents as
    integers, rounded half-up as the insight rounds (every figure here is positive): one feed row per
    user whose savings rose by more than the default 10.00 percent."""
    ends = previous_month_ends(AS_OF, 3)
    in_list = ", ".join(f"'{d.isoformat()}'" for d in ends)
    last = ends[-1].isoformat()
    if dialect == "postgresql":
        def amount(cents: str) -> str:
            return f"(({cents}) / 100)::text || '.' || lpad((({cents}) % 100)::text, 2, '0')"

        def literal(value: object) -> str:
            return "'" + json.dumps(value).replace("'", "''") + "'::json"
        build, array = "json_build_object", "json_build_array"
        accounts_of = "(SELECT json_agg({} ORDER BY a.account_id) FROM accounts a WHERE {})"
        item_id, created, expires, whole = "md5(customer_id)", "now()", "now() + interval '35 days'", "::bigint"
    else:
        def amount(cents: str) -> str:
            return f"printf('%d.%02d', ({cents}) / 100, ({cents}) % 100)"

        def literal(value: object) -> str:
            return "json('" + json.dumps(value).replace("'", "''") + "')"
        # SQLite 3.40 has no ORDER BY inside an aggregate: the rows reach it in the subquery's order.
        build, array = "json_object", "json_array"
        accounts_of = "(SELECT json_group_array({}) FROM (SELECT * FROM accounts a WHERE {} ORDER BY a.account_id) a)"
        item_id, created = "lower(hex(randomblob(16)))", "strftime('%Y-%m-%d %H:%M:%f', 'now')"
        expires, whole = "strftime('%Y-%m-%d %H:%M:%f', 'now', '+35 days')", ""
    header = ", ".join(f"'{key}', {literal(value)}" for key, value in _header().items())
    account = (f"{build}('accountId', a.account_id, 'providerName', a.provider_name, 'accountName', a.account_name, "
               "'accountType', a.account_type, 'container', a.container)")
    # Built only for the users who get an item, as the batch does.
    accounts = accounts_of.format(account, f"a.tenant_id = '{tenant_id}' AND a.customer_id = f.customer_id "
                                           "AND a.container IN ('BANK', 'INVESTMENT')")
    money = f"{build}('amount', {{}}, 'currency', currency)"
    payload = (
        f"{build}({header}, 'accounts', {accounts}, 'accountDerived', {build}("
        f"'totalAvailableBalance', {money.format(amount('(total + 50) / 100'))}, "
        f"'averageAvailableBalance', {money.format(amount('average_cents'))}), "
        f"'changeValue', {array}({build}('changeType', 'SAVINGS_AMOUNT', "
        f"'changeAmount', {money.format(amount('(change + 50) / 100'))}, "
        f"'changePercent', {amount('percent_hundredths')})))")
    return f"""
WITH per_customer AS (
  SELECT a.customer_id, min(a.currency) AS currency,
         sum(CASE WHEN b.balance_date = '{last}' THEN b.balance ELSE 0 END){whole} AS total,
         (2 * sum(b.balance) + 300){whole} / 600 AS average_cents
  FROM accounts a JOIN daily_balances b ON b.tenant_id = a.tenant_id AND b.account_id = a.account_id
  WHERE a.tenant_id = '{tenant_id}' AND a.container IN ('BANK', 'INVESTMENT') AND b.balance_date IN ({in_list})
  GROUP BY a.customer_id
), changes AS (
  SELECT customer_id, currency, total, average_cents, total - average_cents * 100 AS change
  FROM per_customer WHERE average_cents > 0
), figures AS (
  SELECT *, (2 * change * 100 + average_cents) / (2 * average_cents) AS percent_hundredths
  FROM changes WHERE change > 0
)
INSERT INTO bare_feed_items (tenant_id, feed_item_id, customer_id, insight_name, period, created_at, expires_at,
                             payload, last_interaction)
SELECT '{tenant_id}', {item_id}, customer_id, '{SAVINGS}', '{AS_OF:%Y-%m}', {created}, {expires}, {payload}, NULL
FROM figures AS f WHERE percent_hundredths > 1000
"""


async def bare_batch(database: BenchDatabase, tenant_id: str) -> tuple[float, int]:
    """(seconds, rows written) of the bare statement, run once in its own transaction."""
    sql = _bare_sql(database.backend, tenant_id)
    if database.backend == "postgresql":
        connection = await asyncpg.connect(database.postgres_dsn)
        try:
            await connection.execute("CREATE TABLE IF NOT EXISTS bare_feed_items (LIKE feed_items)")
            # Memory enough for its hash joins and aggregates not to spill to disk: the ceiling at its best.
            await connection.execute("SET work_mem = '256MB'")
            started = time.perf_counter()
            status = await connection.execute(sql)
            return time.perf_counter() - started, int(status.split()[-1])
        finally:
            await connection.close()

    def run() -> tuple[float, int]:
        connection = sqlite3.connect(str(database.sqlite_path))
        try:
            connection.execute("CREATE TABLE IF NOT EXISTS bare_feed_items AS SELECT * FROM feed_items WHERE 0")
            started = time.perf_counter()
            with connection:
                connection.execute(sql)
                # sqlite3 gives no rowcount for a statement that starts with WITH.
                count = connection.execute("SELECT changes()").fetchone()[0]
            return time.perf_counter() - started, count
        finally:
            connection.close()

    return await asyncio.to_thread(run)


async def compare_payloads(database: BenchDatabase, tenant_id: str, sample: int = 2000) -> tuple[int, int]:
    """(compared, differing): the payloads of the first `sample` customers' items, batch vs bare, as
    parsed JSON; a customer with an item on one side only counts as differing."""
    query = ("SELECT customer_id, payload FROM {} WHERE tenant_id = '" + tenant_id + "' AND insight_name = '"
             + SAVINGS + "' ORDER BY customer_id LIMIT " + str(sample))
    if database.backend == "postgresql":
        connection = await asyncpg.connect(database.postgres_dsn)
        try:
            batch, bare = [dict(list(await connection.fetch(query.format(table)))) for table in
                           ("feed_items", "bare_feed_items")]
        finally:
            await connection.close()
    else:
        def read() -> list[dict[str, Any]]:
            connection = sqlite3.connect(str(database.sqlite_path))
            try:
                return [dict(connection.execute(query.format(table)).fetchall())
                        for table in ("feed_items", "bare_feed_items")]
            finally:
                connection.close()
        batch, bare = await asyncio.to_thread(read)
    # Compared where both sides reach (the two LIMITs can stop at different customers).
    last = min(max(batch, default=""), max(bare, default=""))
    customers = sorted(c for c in set(batch) | set(bare) if c <= last)
    differing = sum(1 for c in customers if c not in batch or c not in bare
                    or json.loads(batch[c]) != json.loads(bare[c]))
    return len(customers), differing


async def insights_figures(database: BenchDatabase, redis_url: str, users: int, chunk_size: int, log_dir: Path,
                           postgres: PostgresServer | None = None) -> BatchFigures:
    tenant_id = f"bench-{users}"
    started = time.perf_counter()
    await load(database, tenant_id, users)
    load_seconds = time.perf_counter() - started
    run = await run_batch(database, redis_url, tenant_id, users, chunk_size, log_dir, postgres)
    bare_seconds, bare_items = await bare_batch(database, tenant_id)
    compared, differing = await compare_payloads(database, tenant_id)
    return BatchFigures(users, run.seconds, run.items, run.worker_peak_rss_bytes, bare_seconds, bare_items,
                        chunk_size, load_seconds, run.worker_cpu_seconds, run.database_cpu_seconds, compared,
                        differing)
