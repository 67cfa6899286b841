"""`python -m tests.bench.store_outage`: a measured store outage with the default bounds. A real
`python -m server` reaches a fresh PostgreSQL database through a TCP proxy (tests/support/tcp_proxy.py);
callers keep calling the ingest service through the stubs while the database is refused (nothing
listens, open connections reset), and then while it is blackholed (nothing answers), for --seconds
each. Prints, per outage: calls, their statuses and reasons, the slowest call, when health went
NOT_SERVING and how long SERVING took to come back, and whether the calls after it succeed and
nothing the failed calls began was left. Not part of `make test` (the e2e tests play short outages)."""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import grpc

from clients.stubs import connect
from server.bootstrap import build_services
from server.config import Settings
from server.domain.auth import Role
from server.security.tokens import mint_token
from tests.bench.databases import PostgresServer
from tests.bench.redis_queue import resolve_redis
from tests.conftest import TEST_JWT_SECRET
from tests.support.builders import seed_accounts
from tests.support.outage import (
    NOT_SERVING,
    SERVING,
    call_mix,
    keep_calling,
    proxy_for,
    server_through,
    wait_for_health,
)
from tests.support.outage import health as health_of


async def _left_behind(dsn: str, tenant: str, prefix: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        for _ in range(150):  # until PostgreSQL has rolled back what cut connections began
            if not await connection.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"):
                break
            await asyncio.sleep(0.1)
        return int(await connection.fetchval(
            "SELECT (SELECT count(*) FROM customers WHERE tenant_id = $1 AND customer_id LIKE $2) + "
            "(SELECT count(*) FROM transactions WHERE tenant_id = $1 AND transaction_id LIKE $2)",
            tenant, f"{prefix}%"))
    finally:
        await connection.close()


async def _outage(stubs, proxy, mode: str, seconds: float, callers: int, dsn: str, tenant: str) -> None:
    prefix = f"{mode}-{uuid.uuid4().hex[:6]}"
    await proxy.set_mode(mode)
    cut_at = time.monotonic()
    not_serving_at: list[float] = []

    async def watch_health() -> None:
        while time.monotonic() - cut_at < seconds:
            if await health_of(stubs) == NOT_SERVING and not not_serving_at:
                not_serving_at.append(time.monotonic() - cut_at)
            await asyncio.sleep(0.1)

    answers, _ = await asyncio.gather(keep_calling(call_mix(stubs, prefix, "c1", "a1"), seconds, callers),
                                      watch_health())
    await proxy.set_mode("pass")
    serving_after = await wait_for_health(stubs, SERVING, within=120)
    after = await keep_calling(call_mix(stubs, f"after-{prefix}", "c1", "a1"), 1.0, callers)
    outcomes = collections.Counter(f"{a.code.name} {a.reason}".strip() for a in answers)
    latencies = sorted(a.seconds for a in answers)
    print(f"\n{mode} for {seconds:g} s, {callers} callers:")
    print(f"  calls: {len(answers)}; " + ", ".join(f"{name}: {count}" for name, count in outcomes.most_common()))
    print(f"  INTERNAL: {sum(a.code == grpc.StatusCode.INTERNAL for a in answers)}; "
          f"with RetryInfo: {sum(a.retry_delay_seconds is not None for a in answers)}")
    print(f"  per call: median {latencies[len(latencies) // 2]:.3f} s, max {latencies[-1]:.3f} s")
    print(f"  health NOT_SERVING {not_serving_at[0]:.1f} s after the cut" if not_serving_at
          else "  health never NOT_SERVING")
    print(f"  SERVING {serving_after:.2f} s after the database came back; then {len(after)} calls in 1 s: "
          + ", ".join(f"{code}: {count}" for code, count in
                      collections.Counter(a.code.name for a in after).most_common()))
    print(f"  rows left by the failed calls: {await _left_behind(dsn, tenant, prefix)}")


async def _run(arguments: argparse.Namespace) -> None:
    postgres = PostgresServer()
    reason = await postgres.unavailable_reason()
    if reason:
        sys.exit(reason)
    run_dir = Path("var/bench") / f"outage-{dt.datetime.now():%Y%m%d-%H%M%S}"
    redis_url, embedded_redis = resolve_redis(run_dir / "redis")
    database = await postgres.fresh("outage")
    settings = Settings(database_url=database.url, redis_url=redis_url, jwt_secret=TEST_JWT_SECRET,
                        var_dir=run_dir, queue_name=f"engage:outage:{uuid.uuid4().hex}")
    defaults = Settings()
    print(f"default bounds: connect {defaults.db_connect_timeout_seconds:g} s, pool "
          f"{defaults.db_pool_timeout_seconds:g} s, statement {defaults.db_statement_timeout_seconds:g} s; "
          f"health every {defaults.health_interval_seconds:g} s within {defaults.health_timeout_seconds:g} s")
    proxy = await proxy_for(database.url)
    try:
        services = await build_services(settings, with_queue=False)
        tenant = (await services.tenants.create(f"bank-{uuid.uuid4().hex[:8]}")).tenant_id
        await services.close()
        token = mint_token(settings, tenant=tenant, role=Role.SERVICE, subject="loader", ttl=dt.timedelta(hours=2))
        async with server_through(settings, proxy) as address, connect(address, token) as stubs:
            await seed_accounts(stubs, "c1", "a1")
            for mode in arguments.modes.split(","):
                await _outage(stubs, proxy, mode, arguments.seconds, arguments.callers, database.postgres_dsn, tenant)
    finally:
        await proxy.close()
        await postgres.drop(database)
        if embedded_redis is not None:
            embedded_redis.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.store_outage", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each outage (default 30)")
    parser.add_argument("--callers", type=int, default=8, help="concurrent callers (default 8)")
    parser.add_argument("--modes", default="refuse,blackhole", help="comma-separated: refuse,blackhole")
    asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
