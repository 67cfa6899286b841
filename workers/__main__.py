"""`python -m workers`: one arq worker on REDIS_URL with the project's settings."""

from __future__ import annotations

import asyncio

from arq import Worker

from server.config import Settings
from server.logging import configure_logging
from server.process_tuning import new_event_loop, tune_garbage_collector
from workers.settings import worker_settings


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.set_event_loop(new_event_loop(settings.event_loop))
    worker = Worker(**worker_settings(settings))
    tune_garbage_collector()
    worker.run()


if __name__ == "__main__":
    main()
