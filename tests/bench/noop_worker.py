"""`python -m tests.bench.noop_worker`: an arq worker whose only job does nothing — the ceiling the
dispatch bench compares with (same Redis, same settings as the real worker)."""

from __future__ import annotations

import os
from typing import Any

from arq import run_worker

from server.queue import redis_settings


async def noop(ctx: dict[str, Any], index: int) -> int:
    return index


def main() -> None:
    run_worker(type("NoopWorker", (), {  # type: ignore[arg-type]
        "functions": [noop], "redis_settings": redis_settings(os.environ["REDIS_URL"]),
        "queue_name": os.environ["ENGAGE_QUEUE_NAME"], "max_jobs": int(os.environ.get("ENGAGE_WORKER_MAX_JOBS", "20")),
        "poll_delay": float(os.environ.get("ENGAGE_WORKER_POLL_DELAY_SECONDS", "0.05")), "keep_result": 60,
        "handle_signals": True}))


if __name__ == "__main__":
    main()
