"""arq WorkerSettings: the job functions and cron jobs; on_startup builds the same services the
gRPC server uses into ctx."""

from __future__ import annotations

from typing import Any

from arq import cron

from server.bootstrap import build_services
from server.config import Settings
from server.queue import redis_settings
from workers.tasks.ingest_events import process_ingest_event, relay_lost_ingest_events
from workers.tasks.insights import evaluate_insight_chunk, resend_lost_insight_chunks, start_due_insight_batches


async def startup(ctx: dict[str, Any]) -> None:
    ctx["services"] = await build_services(ctx.get("settings") or Settings())


async def shutdown(ctx: dict[str, Any]) -> None:
    services = ctx.get("services")
    if services is not None:
        await services.close()


def worker_settings(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for arq.Worker; tests pass their own settings (queue name, Redis)."""
    return {
        "functions": [process_ingest_event, evaluate_insight_chunk],
        "cron_jobs": [
            cron(relay_lost_ingest_events, second=30, run_at_startup=True),
            cron(resend_lost_insight_chunks, minute={5, 20, 35, 50}, second=0),
            # Hourly, so that each tenant's 1st is caught in its own time zone; a batch per day at most.
            cron(start_due_insight_batches, minute=1, second=0, unique=True),
        ],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(settings.redis_url or "redis://127.0.0.1:6379/0"),
        "queue_name": settings.queue_name,
        "max_jobs": settings.worker_max_jobs,
        # A worker killed mid-job leaves the job to be retried after this long.
        "job_timeout": 60,
        "max_tries": 8,
        "keep_result": 3600,
        "ctx": {"settings": settings},
        "handle_signals": True,
    }


# For `arq workers.settings.WorkerSettings` (reads the environment, connects to nothing);
# `python -m workers` is the usual entrypoint.
WorkerSettings = type("WorkerSettings", (), worker_settings(Settings()))
