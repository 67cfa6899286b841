"""Readiness for grpc.health.v1: SERVING once the schema is at head and Redis answers."""

from __future__ import annotations

import asyncio

import structlog
from grpc_health.v1 import health, health_pb2

from server.bootstrap import Services
from server.store.migrate import current_revision, head_revision

log = structlog.get_logger(__name__)


async def is_ready(services: Services) -> tuple[bool, str]:
    try:
        revision = await current_revision(services.database.engine)
    except Exception as exc:
        return False, f"database unreachable: {exc}"
    if revision != head_revision():
        return False, f"database schema at {revision}, expected {head_revision()}: run `engagectl db upgrade`"
    if services.redis is not None:
        try:
            await services.redis.ping()
        except Exception as exc:
            return False, f"redis unreachable: {exc}"
    return True, "ok"


async def watch_readiness(services: Services, servicer: health.aio.HealthServicer, service_names: list[str],
                          interval_seconds: float = 5.0) -> None:
    """Keeps the health status current until cancelled."""
    last: bool | None = None
    while True:
        ready, why = await is_ready(services)
        if ready != last:
            status = health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
            for name in ["", *service_names]:
                await servicer.set(name, status)
            log.info("health", serving=ready, detail=why)
            last = ready
        await asyncio.sleep(interval_seconds)
