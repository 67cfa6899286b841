"""`python -m tests.bench.exports`: a reporting view (the event history: deliveries) exported to CSV on
PostgreSQL, end to end: the server
(`python -m server`, its own process) streaming ExportView, and `engagectl reports export` (its own process,
the real command) writing the file. For each size: rows per second over the whole export (the command's
wall time), and the peak resident memory of the server and of engagectl, which must stay flat as the view
grows (the largest size within 20% of the smallest). The rows are made in SQL (INSERT ... SELECT
generate_series) in a fresh database per size. Writes var/bench-export.json."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from server.bootstrap import build_services
from server.config import Settings
from server.domain.auth import Role
from server.security.tokens import mint_token
from tests.bench.cpu import machine_speed_ms
from tests.bench.databases import BenchDatabase, PostgresServer
from tests.bench.redis_queue import resolve_redis
from tests.bench.report import write_json
from tests.bench.server_process import REPO_ROOT, ServerProcess

SECRET = "bench-secret-" + "x" * 40
TENANT = "bench-exports"
GOAL_ROWS_PER_SECOND = 100_000
GOAL_RSS_GROWTH = 1.20
# The views the bench can export (engagectl's name): the table their rows are made in, by one statement over
# generate_series($2) for tenant $1. The event history (every delivery) is the issue's; the customer history
# was the first view built.
SEEDS = {
    "event-history": ("deliveries", """
INSERT INTO deliveries (delivery_id, tenant_id, trigger_key, event_id, campaign_id, customer_id, channel, provider,
                        config_id, address, message_class, content, state, skip_reason, attempts, next_attempt_at,
                        provider_message_id, error_code, error_message, created_at, updated_at, sent_at, delivered_at,
                        fallback_step, fallback_state, fallback_wait_seconds)
SELECT 'd' || lpad(n::text, 12, '0'), $1, 'k' || n, 'e' || (n % 50), CASE WHEN n % 4 = 0 THEN 'k1' ELSE '' END,
       'c' || (n % 50000), (ARRAY['EMAIL', 'SMS', 'PUSH'])[n % 3 + 1], (ARRAY['smtp', 'twilio', 'fcm'])[n % 3 + 1],
       'cfg' || (n % 3), 'someone' || (n % 50000) || '@example.com', 'INFO', '{}',
       CASE WHEN n % 20 = 0 THEN 'FAILED' ELSE 'DELIVERED' END, '', 1 + (n % 20 = 0)::int, at, 'm' || n,
       CASE WHEN n % 20 = 0 THEN '21211' ELSE '' END, CASE WHEN n % 20 = 0 THEN 'invalid number' ELSE '' END,
       at, at + interval '2 minutes', at + interval '1 minute',
       CASE WHEN n % 20 = 0 THEN NULL ELSE at + interval '2 minutes' END, 0, '', 0
FROM generate_series(1, $2) AS n,
     LATERAL (SELECT timestamptz '2025-01-01 00:00:00+00' + n * interval '1 second' AS at) AS times
"""),
    "customer-history": ("goal_history", """
INSERT INTO goal_history (tenant_id, entry_id, customer_id, kind, actor, actor_id, at, goal_id, resource, before,
                          after)
SELECT $1, 'e' || lpad(n::text, 10, '0'), 'c' || (n % 50000), 'GOAL_UPDATED', 'CUSTOMER', 'c' || (n % 50000),
       timestamptz '2025-01-01 00:00:00+00' + n * interval '1 second', 'g' || (n % 100000),
       'customers/c' || (n % 50000) || '/goals/g' || (n % 100000),
       json_build_object('saved', (n % 1000) || '.00 EUR'), json_build_object('saved', (n % 1000 + 5) || '.00 EUR')
FROM generate_series(1, $2) AS n
"""),
}


async def _seed(database: BenchDatabase, view: str, rows: int, run_dir: Path) -> float:
    settings = Settings(database_url=database.url, jwt_secret=SECRET, var_dir=run_dir)
    services = await build_services(settings, with_queue=False)
    try:
        await services.tenants.create(TENANT, "Bench bank")
    finally:
        await services.close()
    started = time.perf_counter()
    connection = await asyncpg.connect(database.postgres_dsn)
    try:
        table, statement = SEEDS[view]
        await connection.execute(statement, TENANT, rows)
        await connection.execute(f"ANALYZE {table}")
    finally:
        await connection.close()
    return time.perf_counter() - started


async def _export(server: ServerProcess, view: str, output: Path, rss_file: Path
                  ) -> tuple[float, dict[str, Any], int]:
    """engagectl reports export as its own process; (seconds, its --json summary, its peak RSS)."""
    token = mint_token(Settings(jwt_secret=SECRET), tenant=TENANT, role=Role.SERVICE, subject="bench",
                       ttl=dt.timedelta(hours=3))
    environment = {**os.environ, "ENGAGE_ADDRESS": server.address, "ENGAGE_TOKEN": token,
                   "BENCH_RSS_FILE": str(rss_file)}
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bench.export_client", "--json", "reports", "export", view, "--format", "csv",
        "-o", str(output), cwd=REPO_ROOT, env=environment, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"engagectl exited {process.returncode}: {err.decode()[-2000:]}")
    return seconds, json.loads(out), int(rss_file.read_text())


async def run_size(postgres: PostgresServer, view: str, rows: int, redis_url: str, run_dir: Path) -> dict[str, Any]:
    database = await postgres.fresh("exports")
    server: ServerProcess | None = None
    output = run_dir / f"export-{rows}.csv"
    try:
        seed_seconds = await _seed(database, view, rows, run_dir)
        server = ServerProcess(database.url, redis_url, SECRET, f"engage:bench:exports:{uuid.uuid4().hex[:8]}",
                               run_dir / f"server-{rows}.log")
        await server.start()
        cpu_before = server.cpu_seconds()
        seconds, summary, client_rss = await _export(server, view, output, run_dir / f"client-{rows}.rss")
        server_cpu = server.cpu_seconds() - cpu_before
        server_rss = server.peak_rss_bytes()
        if summary["rows"] != rows:
            raise RuntimeError(f"exported {summary['rows']} rows of {rows}")
        size = output.stat().st_size
    finally:
        if server is not None:
            await server.stop()
        output.unlink(missing_ok=True)
        await postgres.drop(database)
    return {"rows": rows, "seed_seconds": round(seed_seconds, 1), "export_seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds), "file_bytes": size,
            "server_cpu_us_per_row": round(server_cpu / rows * 1e6, 2),
            "server_peak_rss_mb": round(server_rss / 2**20, 1), "engagectl_peak_rss_mb": round(client_rss / 2**20, 1)}


def _goals(runs: list[dict[str, Any]]) -> dict[str, Any]:
    smallest, largest = runs[0], runs[-1]
    goals: dict[str, Any] = {f"{run['rows']}_rows_per_second": {
        "goal": GOAL_ROWS_PER_SECOND, "value": run["rows_per_second"],
        "met": run["rows_per_second"] >= GOAL_ROWS_PER_SECOND} for run in runs}
    if len(runs) > 1:
        for part in ("server", "engagectl"):
            growth = largest[f"{part}_peak_rss_mb"] / smallest[f"{part}_peak_rss_mb"]
            goals[f"{part}_rss_growth_{smallest['rows']}_to_{largest['rows']}"] = {
                "goal": GOAL_RSS_GROWTH, "value": round(growth, 3), "met": growth <= GOAL_RSS_GROWTH}
    return goals


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.exports", description=__doc__)
    parser.add_argument("--rows", default="1000000,10000000",
                        help="comma-separated sizes of the view (default 1000000,10000000)")
    parser.add_argument("--view", choices=sorted(SEEDS), default="event-history", help="the view exported")
    parser.add_argument("--output", type=Path, default=Path("var/bench-export.json"))
    arguments = parser.parse_args(argv)
    sizes = sorted(int(part.replace("_", "")) for part in arguments.rows.split(",") if part)
    postgres = PostgresServer()
    reason = await postgres.unavailable_reason()
    if reason:
        print(f"export bench skipped: {reason}")
        return 0
    run_dir = (REPO_ROOT / "var" / "bench" / "exports").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    redis_url, embedded = resolve_redis(run_dir / "redis")
    runs = []
    speed = machine_speed_ms()
    print(f"machine speed {speed} ms (lower is faster; docs/benchmarks.md)", flush=True)
    try:
        for rows in sizes:
            run = await run_size(postgres, arguments.view, rows, redis_url, run_dir)
            print(f"export {arguments.view} to CSV, PostgreSQL, {rows:,} rows: {run['rows_per_second']:,} rows/s "
                  f"({run['export_seconds']} s, {run['file_bytes'] / 2**20:.0f} MiB); peak RSS server "
                  f"{run['server_peak_rss_mb']} MiB, engagectl {run['engagectl_peak_rss_mb']} MiB; server CPU "
                  f"{run['server_cpu_us_per_row']} us/row (rows made in {run['seed_seconds']} s)", flush=True)
            runs.append(run)
    finally:
        if embedded is not None:
            embedded.stop()
    goals = _goals(runs)
    for name, goal in goals.items():
        print(f"  {name}: {goal['value']} (goal {goal['goal']}) {'met' if goal['met'] else 'NOT MET'}")
    write_json(arguments.output, {"view": arguments.view, "format": "csv", "backend": "postgresql",
                                  "machine_speed_ms": speed, "machine_speed_ms_after": machine_speed_ms(),
                                  "measured": "engagectl reports export (own process) against python -m server "
                                              "(own process), wall time of the command",
                                  "runs": runs, "goals": goals})
    print(f"written to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
