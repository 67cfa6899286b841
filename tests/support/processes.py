"""The environment of `python -m server` / `python -m workers` started by a test as processes of their own,
against the test's database, Redis, queue and secrets."""

import os

from server.config import Settings
from tests.conftest import TEST_JWT_SECRET


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": settings.database_url or "", "REDIS_URL": settings.redis_url or "",
            "ENGAGE_JWT_SECRET": TEST_JWT_SECRET, "ENGAGE_QUEUE_NAME": settings.queue_name,
            "ENGAGE_VAR_DIR": str(settings.var_dir),
            "ENGAGE_PROVIDER_NETWORKS_ALLOWED": settings.provider_networks_allowed, **extra}
