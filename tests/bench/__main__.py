"""`python -m tests.bench [--transactions N]`: the entry point of `make bench`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import sys
from pathlib import Path
from typing import Any

import tests.bench
from tests.bench.redis_queue import resolve_redis
from tests.bench.report import write_json
from tests.bench.run import BenchOptions, run_backend
from tests.bench.workload import Workload

BACKENDS = ("sqlite", "postgresql")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=tests.bench.__doc__)
    parser.add_argument("--transactions", type=int, default=200_000, help="transactions to ingest (default 200000)")
    parser.add_argument("--accounts", type=int, default=2_000, help="accounts they are spread over (default 2000)")
    parser.add_argument("--batch-size", type=int, default=500, help="transactions per stream message (default 500)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--output", type=Path, default=Path("var/bench.json"))
    parser.add_argument("--profile-server", type=Path, default=None, metavar="DIR",
                        help="run the server under cProfile and write DIR/server-<backend>.prof")
    parser.add_argument("--no-analyze", action="store_true",
                        help="skip ANALYZE after set-up on PostgreSQL: time a tenant whose tables have no statistics")
    arguments = parser.parse_args(argv)
    unknown = set(arguments.backends.split(",")) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    if min(arguments.transactions, arguments.accounts, arguments.batch_size) < 1:
        parser.error("--transactions, --accounts and --batch-size must be positive")
    return arguments


async def _bench(arguments: argparse.Namespace) -> dict[str, Any]:
    run_dir = Path("var/bench") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    workload = Workload(transactions=arguments.transactions, accounts=arguments.accounts)
    redis_url, embedded_redis = resolve_redis(run_dir / "redis")
    if arguments.profile_server:
        arguments.profile_server.mkdir(parents=True, exist_ok=True)
    options = BenchOptions(workload=workload, batch_size=arguments.batch_size, redis_url=redis_url, run_dir=run_dir,
                           profile_dir=arguments.profile_server, analyze=not arguments.no_analyze)
    print(f"Engage ingest bench: {workload.transactions:,} transactions in batches of {arguments.batch_size} over "
          f"{workload.accounts:,} accounts; `python -m server` and this client as separate processes "
          f"on {os.cpu_count()} cores")
    results: dict[str, Any] = {}
    try:
        for backend in arguments.backends.split(","):
            results[backend] = await run_backend(backend, options)
    finally:
        if embedded_redis is not None:
            embedded_redis.stop()
    return {"finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
            "parameters": {"transactions": workload.transactions, "accounts": workload.accounts,
                           "batch_size": arguments.batch_size, "profiled": bool(arguments.profile_server)},
            "results": results}


def main(argv: list[str] | None = None) -> None:
    arguments = _arguments(argv)
    document = asyncio.run(_bench(arguments))
    write_json(arguments.output, document)
    print(f"\nwrote {arguments.output}")


if __name__ == "__main__":
    main()
