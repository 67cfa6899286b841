"""What the server reads when Prometheus scrapes it: the queue in Redis and the outbox in the database,
through the services it serves with (server.metrics.ScrapeTimeFigures does the bounded reading)."""

from __future__ import annotations

import asyncio

from server.bootstrap import Services
from server.domain.operations import QueueFigures
from server.metrics import ScrapeTimeFigures
from server.queue_status import read_queue_figures
from server.services.clock import utc_now


def server_figures(services: Services) -> ScrapeTimeFigures:
    """Built on the server's running event loop, which the reads are handed to."""
    queue_name = services.settings.queue_name

    async def read_queue() -> QueueFigures:
        if services.redis is None:
            return QueueFigures(queue_name, reachable=False, error="no Redis configured (REDIS_URL)")
        return await read_queue_figures(services.redis, queue_name, utc_now())

    return ScrapeTimeFigures(asyncio.get_running_loop(), queue_name, read_queue, services.bus.outbox_figures)
