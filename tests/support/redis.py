"""Real Redis for the tests: REDIS_URL, else 127.0.0.1:6379 if it answers, else one started here."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from server.embedded_redis import EmbeddedRedis


def existing_redis_url() -> str | None:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return "redis://127.0.0.1:6379/0"
    except OSError:
        return None


def start_redis(data_dir: Path) -> EmbeddedRedis:
    redis = EmbeddedRedis(data_dir)
    redis.start()
    return redis
