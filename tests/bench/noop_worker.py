"""`python -m tests.bench.noop_worker`: an arq worker whose only job does nothing — the ceiling the
dispatch bench compares with: same Redis, same settings as the real worker, and like its dispatch_due job
no result kept."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from arq import Worker

from server.config import Settings
from server.process_tuning import new_event_loop, tune_garbage_collector
from server.queue import redis_settings


async def noop(ctx: dict[str, Any], index: int) -> int:
    return index


def main() -> None:
    # The process as `python -m workers` sets it up (event loop, garbage collector), so that the ceiling
    # differs from the real worker only in the job it runs.
    asyncio.set_event_loop(new_event_loop(Settings().event_loop))
    worker = Worker(
        functions=[noop], redis_settings=redis_settings(os.environ["REDIS_URL"]),
        queue_name=os.environ["ENGAGE_QUEUE_NAME"], max_jobs=int(os.environ.get("ENGAGE_WORKER_MAX_JOBS", "20")),
        poll_delay=float(os.environ.get("ENGAGE_WORKER_POLL_DELAY_SECONDS", "0.05")), keep_result=0,
        handle_signals=True)
    tune_garbage_collector()
    worker.run()


if __name__ == "__main__":
    main()
