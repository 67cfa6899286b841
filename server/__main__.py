"""`python -m server`: serve until SIGTERM/SIGINT, then let in-flight calls finish."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import structlog

from server.app import SERVICE_NAMES, build_server
from server.bootstrap import build_services
from server.config import Settings
from server.health import watch_readiness
from server.logging import configure_logging

log = structlog.get_logger("engage.server")


async def serve(settings: Settings) -> None:
    services = await build_services(settings)
    server, port, health_servicer = build_server(services, f"{settings.grpc_host}:{settings.grpc_port}")
    await server.start()
    log.info("server_started", address=f"{settings.grpc_host}:{port}")
    watcher = asyncio.create_task(watch_readiness(services, health_servicer, SERVICE_NAMES))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("server_stopping", grace_seconds=settings.shutdown_grace_seconds)
    await health_servicer.enter_graceful_shutdown()
    await server.stop(settings.shutdown_grace_seconds)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    await services.close()
    log.info("server_stopped")


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
