"""Engage's own processes for the fault tests: `python -m server` answering health, `python -m workers`
polling its queue, each stopped (SIGTERM, then SIGKILL) when the test ends. A process's log goes to a file (`log` beside
it), not a pipe that a talkative process could fill and stall on."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from grpc_health.v1 import health_pb2
from redis.asyncio import Redis

from clients.stubs import connect
from server.queue_status import workers_key
from tests.conftest import REPO_ROOT
from tests.support.ports import free_port


async def wait_until_serving(address: str, timeout: float = 60.0) -> None:
    async with connect(address) as anonymous, asyncio.timeout(timeout):
        while True:
            with contextlib.suppress(Exception):
                answer = await anonymous.health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            await asyncio.sleep(0.1)


class EngageProcess:
    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")


async def start_process(module: str, env: dict[str, str]) -> EngageProcess:
    with tempfile.NamedTemporaryFile(prefix=f"engage-{module}-", suffix=".log", delete=False) as log:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", module, cwd=REPO_ROOT, env=env,
                                                       stdout=log, stderr=asyncio.subprocess.STDOUT)
    return EngageProcess(process, Path(log.name))


async def stop_process(engage: EngageProcess, timeout: float = 40.0) -> None:
    """Stops the process as a deployment does: SIGTERM, and SIGKILL after `timeout`."""
    process = engage.process
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def running_server(env: dict[str, str]) -> AsyncIterator[tuple[EngageProcess, str]]:
    """`python -m server` on a free port, once it answers SERVING: (process, address)."""
    port = free_port()
    process = await start_process("server", {**env, "ENGAGE_GRPC_PORT": str(port)})
    try:
        await wait_until_serving(f"127.0.0.1:{port}")
        yield process, f"127.0.0.1:{port}"
    finally:
        await stop_process(process)
        process.log.unlink(missing_ok=True)


async def wait_until_polling(worker: EngageProcess, env: dict[str, str], timeout: float = 60.0) -> None:
    """Until the worker has beaten in Redis, which it does from its first poll of the queue: connected
    and taking jobs (a loaded machine takes seconds to start one, and a test that cut Redis or counted on
    it meanwhile tested its start instead)."""
    redis = Redis.from_url(env["REDIS_URL"])
    beat = f"{socket.gethostname()}:{worker.pid}"
    try:
        async with asyncio.timeout(timeout):
            while not await redis.hexists(workers_key(env["ENGAGE_QUEUE_NAME"]), beat):
                assert worker.returncode is None, worker.output()[-3000:]
                await asyncio.sleep(0.1)
    finally:
        await redis.aclose()


@contextlib.asynccontextmanager
async def running_worker(env: dict[str, str]) -> AsyncIterator[EngageProcess]:
    """`python -m workers`, once it polls its queue."""
    process = await start_process("workers", env)
    try:
        await wait_until_polling(process, env)
        yield process
    finally:
        await stop_process(process)
        process.log.unlink(missing_ok=True)
