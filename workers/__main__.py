"""`python -m workers`: one arq worker on REDIS_URL with the project's settings."""

from __future__ import annotations

import asyncio

from server.config import Settings
from server.logging import configure_logging
from server.metrics import serve_metrics
from server.process_tuning import new_event_loop, tune_garbage_collector
from workers.settings import worker_settings
from workers.worker import EngageWorker


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.set_event_loop(new_event_loop(settings.event_loop))
    worker = EngageWorker(**worker_settings(settings))
    tune_garbage_collector()
    metrics = serve_metrics(settings.grpc_host, settings.worker_metrics_port) if settings.worker_metrics_port else None
    try:
        worker.run()
    finally:
        if metrics is not None:
            metrics.stop()


if __name__ == "__main__":
    main()
