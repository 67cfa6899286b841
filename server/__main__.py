"""`python -m server`: serve until SIGTERM/SIGINT, then let in-flight calls finish."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

import structlog
from aiohttp import web

from server.app import SERVICE_NAMES, build_server
from server.bootstrap import build_services
from server.config import Settings
from server.health import watch_readiness
from server.logging import configure_logging
from server.loop_watch import watch_loop
from server.metrics import serve_metrics
from server.metrics_sources import server_figures
from server.pass_web_service import pass_web_service_app
from server.process_tuning import new_event_loop, tune_garbage_collector
from server.receipts import receipts_app

log = structlog.get_logger("engage.server")


async def serve(settings: Settings) -> None:
    services = await build_services(settings)
    await services.warm_up()  # before the collector freezes what start-up made
    server, port, health_servicer = build_server(services, f"{settings.grpc_host}:{settings.grpc_port}")
    await server.start()
    tune_garbage_collector()
    log.info("server_started", address=f"{settings.grpc_host}:{port}")
    loop_watch = asyncio.create_task(watch_loop())
    watcher = asyncio.create_task(watch_readiness(services, health_servicer, SERVICE_NAMES,
                                                  settings.health_interval_seconds, settings.health_timeout_seconds))
    metrics = serve_metrics(settings.grpc_host, settings.metrics_port, [server_figures(services)]) \
        if settings.metrics_port else None
    endpoints: list[web.AppRunner] = []  # the HTTP endpoints beside gRPC, each on its own port when it has one
    if settings.receipts_port:
        endpoints.append(await _serve_http(receipts_app(services), settings.grpc_host, settings.receipts_port,
                                           "receipts_endpoint_started"))
    if settings.pass_web_service_port:
        endpoints.append(await _serve_http(pass_web_service_app(services), settings.grpc_host,
                                           settings.pass_web_service_port, "pass_web_service_started"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("server_stopping", grace_seconds=settings.shutdown_grace_seconds)
    await health_servicer.enter_graceful_shutdown()
    await server.stop(settings.shutdown_grace_seconds)
    for endpoint in endpoints:
        await endpoint.cleanup()
    if metrics is not None:
        metrics.stop()
    for task in (watcher, loop_watch):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await services.close()
    log.info("server_stopped")


async def _serve_http(app: web.Application, host: str, port: int, started: str) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info(started, port=port)
    return runner


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    if not settings.redis_url:
        # A setting missing is the operator's to fix, said in one line: a traceback would hide it.
        log.error("REDIS_URL is not set: point it at a Redis (redis://host:6379/0), or use `make run`, "
                  "which starts one")
        sys.exit(1)
    with asyncio.Runner(loop_factory=lambda: new_event_loop(settings.event_loop)) as runner:
        runner.run(serve(settings))


if __name__ == "__main__":
    main()
