"""`python -m server` as its own process, so the server and the bench's client each get a core;
with its peak resident memory and CPU time read from outside."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from grpc_health.v1 import health_pb2

from clients.stubs import connect
from tests.support.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
PORT_ATTEMPTS = 5


class _PortTaken(Exception):
    """The server exited, and another process holds the port it was given."""


def _taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _high_water_mark(pid: int) -> int | None:
    """Linux's VmHWM: the peak resident set, exact however short the peak was."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


@dataclass
class ServerProcess:
    database_url: str
    redis_url: str
    jwt_secret: str
    queue_name: str
    log_path: Path
    # `python -m cProfile -o PATH -m server`: the profile is written when the server exits cleanly.
    profile_path: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)  # settings of one run (ENGAGE_...)
    port: int = field(default_factory=free_port)
    _process: asyncio.subprocess.Process | None = None
    _sampled_peak_rss: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def _command(self) -> list[str]:
        if self.profile_path is None:
            return [sys.executable, "-m", "server"]
        return [sys.executable, "-m", "cProfile", "-o", str(self.profile_path), "-m", "server"]

    async def start(self) -> None:
        """Starts the server and waits until it answers SERVING. The port is free when picked, but another
        process may bind it first (every bench process on the machine picks from the same range, from its
        start): the server then fails to bind and exits while the other answers on the port. So SERVING
        counts only once this process listens on the port itself, and a port taken meanwhile is replaced."""
        for _ in range(PORT_ATTEMPTS):
            await self._spawn()
            try:
                await self._wait_serving()
                return
            except _PortTaken:
                self.port = free_port()
        raise RuntimeError(f"the server found no free port in {PORT_ATTEMPTS} attempts: {self._log_tail()}")

    async def _spawn(self) -> None:
        environment = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
                       "ENGAGE_GRPC_PORT": str(self.port), "ENGAGE_JWT_SECRET": self.jwt_secret,
                       "ENGAGE_LOG_LEVEL": "WARNING", "ENGAGE_QUEUE_NAME": self.queue_name,
                       # The workload's postings are dated 2024: measured as live (outbox written), as before.
                       "ENGAGE_LIVE_WINDOW_DAYS": "0",
                       # The provider sinks listen on this machine: the server refuses channel
                       # configurations pointing here unless loopback is allowed, as the workers do.
                       "ENGAGE_PROVIDER_NETWORKS_ALLOWED": "127.0.0.0/8", **self.extra_env}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                *self._command(), cwd=REPO_ROOT, env=environment, stdout=log, stderr=asyncio.subprocess.STDOUT)

    def _listening(self) -> bool:
        """Whether this server process (not another on the machine) listens on its port."""
        with contextlib.suppress(psutil.Error):
            return any(connection.status == psutil.CONN_LISTEN and connection.laddr.port == self.port
                       for connection in psutil.Process(self.pid).net_connections(kind="tcp"))
        return False

    async def _wait_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        async with connect(self.address) as stubs:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.returncode is not None:
                    if _taken(self.port):
                        raise _PortTaken(self.port)
                    raise RuntimeError(f"the server exited with {self._process.returncode}: {self._log_tail()}")
                if self._listening() and await self._answers(stubs):
                    return
                await asyncio.sleep(0.2)
        await self.stop()
        raise RuntimeError(f"the server was not SERVING within {START_TIMEOUT_SECONDS:.0f}s: {self._log_tail()}")

    @staticmethod
    async def _answers(stubs: Any) -> bool:
        with contextlib.suppress(Exception):
            answer = await stubs.health.Check(health_pb2.HealthCheckRequest(), timeout=1)
            return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)
        return False

    def _log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return times.user + times.system

    def sample_rss(self) -> None:
        """For systems without VmHWM: call now and then to keep the largest resident set seen."""
        with contextlib.suppress(psutil.Error):
            self._sampled_peak_rss = max(self._sampled_peak_rss, psutil.Process(self.pid).memory_info().rss)

    def peak_rss_bytes(self) -> int:
        self.sample_rss()
        return max(_high_water_mark(self.pid) or 0, self._sampled_peak_rss)

    async def stop(self) -> None:
        """SIGTERM, as an orchestrator would: the server drains its calls and exits."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
