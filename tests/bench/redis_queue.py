"""Redis for the server's queue: REDIS_URL, else 127.0.0.1:6379 if it answers, else one started
here. The jobs a run leaves (no worker ran, or the bus drained its own) are removed afterwards."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as redis

from server.embedded_redis import EmbeddedRedis
from tests.support.redis import existing_redis_url, start_redis

ARQ_JOB_PREFIX = "arq:job:"


def resolve_redis(data_dir: Path) -> tuple[str, EmbeddedRedis | None]:
    """(url, the Redis started here to stop at the end, or None)."""
    found = existing_redis_url()
    if found:
        return found, None
    started = start_redis(data_dir)
    return started.url, started


async def clear_queue(redis_url: str, queue_name: str) -> int:
    """Deletes the queue and its jobs; returns how many jobs there were."""
    client = redis.from_url(redis_url)
    try:
        job_ids = [job_id.decode() for job_id in await client.zrange(queue_name, 0, -1)]
        if job_ids:
            await client.delete(*[ARQ_JOB_PREFIX + job_id for job_id in job_ids])
        await client.delete(queue_name)
        return len(job_ids)
    finally:
        await client.aclose()
