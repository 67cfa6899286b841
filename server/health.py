"""Readiness for grpc.health.v1: SERVING while the database answers with its schema at head,
NOT_SERVING while it does not. Redis does not count: every call is answered without it (what the
workers must do is kept in the database's outboxes and relayed once Redis is back), and a Redis outage
would otherwise take every server out of its load balancer at once. Its losses and returns are
logged."""

from __future__ import annotations

import asyncio

import structlog
from grpc_health.v1 import health, health_pb2

from server.bootstrap import Services
from server.store.db import Database, open_database
from server.store.migrate import current_revision, head_revision

log = structlog.get_logger(__name__)


async def is_ready(services: Services, database: Database | None = None) -> tuple[bool, str]:
    """`database`: the one to ask, when not the services' own (the watcher has a connection of its own)."""
    try:
        revision = await current_revision((database or services.database).engine)
    except Exception as exc:
        return False, f"database unreachable: {exc!r}"
    if revision != head_revision():
        return False, f"database schema at {revision}, expected {head_revision()}: run `engagectl db upgrade`"
    return True, "ok"


async def redis_answers(services: Services, timeout_seconds: float) -> tuple[bool, str]:
    if services.redis is None:
        return True, "no redis"
    try:
        async with asyncio.timeout(timeout_seconds):
            await services.redis.ping()
    except Exception as exc:
        return False, repr(exc)
    return True, "ok"


# The whole check's bound, beyond its database's own (which ends it more cleanly).
OUTER_TIMEOUT_MARGIN_SECONDS = 0.5


async def watch_readiness(services: Services, servicer: health.aio.HealthServicer, service_names: list[str],
                          interval_seconds: float = 2.0, timeout_seconds: float = 3.0) -> None:
    """Keeps the health status current until cancelled: a check every `interval_seconds`, and one that
    has not answered within `timeout_seconds` counts as not ready. The checks use a connection of their
    own on PostgreSQL, so that calls holding every pooled connection do not make a busy server look down
    (SQLite's are files, opened at once). Its driver gives up by itself when the time is up, and drops
    the connection at once; cancelling a query from outside would first wait up to 2 s for SQLAlchemy's
    orderly close of it."""
    probe = None
    if services.database.dialect != "sqlite":
        probe = open_database(services.settings.effective_database_url(), pool_size=1,
                              connect_timeout=timeout_seconds, pool_timeout=timeout_seconds,
                              statement_timeout=timeout_seconds, driver_margin=0)
    last: bool | None = None
    redis_was_up = True
    try:
        while True:
            try:
                async with asyncio.timeout(timeout_seconds + OUTER_TIMEOUT_MARGIN_SECONDS):
                    ready, why = await is_ready(services, probe)
            except TimeoutError:
                ready, why = False, f"no answer within {timeout_seconds:g} s"
            if ready != last:
                status = (health_pb2.HealthCheckResponse.SERVING if ready
                          else health_pb2.HealthCheckResponse.NOT_SERVING)
                for name in ["", *service_names]:
                    await servicer.set(name, status)
                (log.info if ready else log.warning)("health", serving=ready, detail=why)
                last = ready
            redis_up, redis_why = await redis_answers(services, timeout_seconds)
            if redis_up != redis_was_up:
                (log.info if redis_up else log.warning)(
                    "redis_available" if redis_up else "redis_unavailable", detail=redis_why,
                    serving="calls are answered; the workers catch up once Redis is back")
                redis_was_up = redis_up
            await asyncio.sleep(interval_seconds)
    finally:
        if probe is not None:
            await probe.dispose()
