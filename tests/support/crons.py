"""A cron job of the deployment (workers.settings) run once, as the workers run it: on a real arq burst
worker with the deployment's functions and crons, the chosen cron started with the worker, and the
services the worker builds replaced where a test needs it (a service on an injected clock)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

from arq import Worker
from arq.jobs import Job

from server.bootstrap import Services
from server.config import Settings
from workers.context import WorkerContext
from workers.settings import startup, worker_settings


async def run_cron_once(settings: Settings, cron: str, services: Callable[[Services], Services]) -> object:
    """Runs the cron `cron` (its function's name) once at the start of a burst worker of `settings`,
    whose services are `services` of those the worker built; returns what the cron run returned."""
    base = worker_settings(settings)
    name = f"cron:{cron}@{settings.queue_name}"
    assert name in [job.name for job in base["cron_jobs"]], f"no cron {cron} in workers.settings"

    async def replaced_startup(ctx: WorkerContext) -> None:
        await startup(ctx)
        ctx["services"] = services(ctx["services"])

    # Its result kept (crons keep none) under a job id of its own, to be read back.
    job_id = f"{name}:{uuid.uuid4().hex}"
    jobs = [dataclasses.replace(job, run_at_startup=True, keep_result_s=60, job_id=job_id) if job.name == name
            else job for job in base["cron_jobs"]]
    worker = Worker(**(base | {"cron_jobs": jobs, "on_startup": replaced_startup, "burst": True, "poll_delay": 0,
                               "handle_signals": False}))
    try:
        await worker.main()
        run = await Job(job_id, worker.pool).result_info()
    finally:
        await worker.close()
    assert run is not None and run.success, run
    return run.result
