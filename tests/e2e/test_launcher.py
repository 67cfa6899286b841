"""`make run` (python -m server.launcher) on its embedded defaults: a SQLite file and a Redis server it
starts itself; the server answers, an event triggered through it is sent by its worker, a worker or
Redis killed under it is started again while the rest goes on, and SIGTERM stops everything with exit
code 0."""

import asyncio
import datetime as dt
import os
import signal
import sys

import httpx
import psutil
import pytest
from grpc_health.v1 import health_pb2

from clients.stubs import connect
from engage.engagement.v1 import engagement_service_pb2 as pb
from server.config import Settings
from server.domain.auth import Role
from server.security.tokens import mint_token
from tests.conftest import REPO_ROOT, TEST_JWT_SECRET
from tests.support.ports import free_port
from tests.support.yes_bank import add_customer, set_up_yes_bank

# Kills and restarts real processes and times their recovery: after the parallel part, beside the other
# fault test that mostly waits (the Makefile's test target says why).
pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("faults-waiting")]


async def test_make_run_serves_sends_and_stops_cleanly(tmp_path, smtp_sink, provider_sink):
    port, wallet_port, server_metrics, worker_metrics = free_port(), free_port(), free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"ENGAGE_VAR_DIR": str(tmp_path), "ENGAGE_GRPC_PORT": str(port), "ENGAGE_JWT_SECRET": TEST_JWT_SECRET,
            "ENGAGE_PROVIDER_NETWORKS_ALLOWED": "127.0.0.0/8", "ENGAGE_LOG_LEVEL": "WARNING",
            # Named, not left to the launcher's default (gRPC + 2), which another test may hold meanwhile;
            # in lower case, which the settings accept too: the launcher passes on the port it read.
            "engage_pass_web_service_port": str(wallet_port),
            "ENGAGE_METRICS_PORT": str(server_metrics), "ENGAGE_WORKER_METRICS_PORT": str(worker_metrics)}
    launcher = await asyncio.create_subprocess_exec(sys.executable, "-m", "server.launcher", cwd=REPO_ROOT,
                                                    env=env, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
    try:
        settings = Settings(_env_file=None, var_dir=tmp_path, jwt_secret=TEST_JWT_SECRET)
        async with connect(f"127.0.0.1:{port}") as anonymous:
            for _ in range(300):
                try:
                    health = await anonymous.health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if health.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except Exception:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("make run's server never answered")
        # The tenant is created as an operator creates one: through engagectl, on the same database.
        created = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "clients.engagectl.main", "tenants", "create", "launcher-bank", cwd=REPO_ROOT,
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await created.communicate()
        assert created.returncode == 0, err.decode()
        address = f"127.0.0.1:{port}"
        hour = dt.timedelta(hours=1)
        admin_token = mint_token(settings, tenant="launcher-bank", role=Role.BANK_ADMIN, subject="lisa", ttl=hour)
        service_token = mint_token(settings, tenant="launcher-bank", role=Role.SERVICE, subject="core", ttl=hour)
        async with connect(address, admin_token) as admin, connect(address, service_token) as service:
            bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                         provider_base_url=provider_sink.base_url)
            await add_customer(service, bank.app)
            await service.engagement.TriggerEvent(pb.TriggerEventRequest(
                event=bank.notice_event, customer_id="lisa-customer", data={"note": "make run works"}))
            [email] = await smtp_sink.wait_for(1, timeout=30)
            assert "make run works" in email.get_body(("plain",)).get_content()
            [sms] = await provider_sink.wait_for("twilio", 1, timeout=30)
            assert sms.body["Body"] == "Notice: make run works"

            # The pass web service Wallet calls runs beside gRPC (a device with no passes: 204).
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{wallet_port}") as wallet:
                listed = await wallet.get("/passes/launcher-bank/v1/devices/iphone/registrations/pass.com.x")
            assert listed.status_code == 204
            # Each process serves its /metrics, where the launcher says: the server with the queue's
            # figures, the worker with its jobs.
            async with httpx.AsyncClient() as scraper:
                served = (await scraper.get(f"http://127.0.0.1:{server_metrics}/metrics")).text
                worked = (await scraper.get(f"http://127.0.0.1:{worker_metrics}/metrics")).text
            assert "engage_queue_up{" in served and "engage_jobs_total{" in worked

            # A worker killed outright is started again, and what is triggered meanwhile is sent.
            worker = _child(launcher.pid, "workers")
            worker.kill()
            await service.engagement.TriggerEvent(pb.TriggerEventRequest(
                event=bank.notice_event, customer_id="lisa-customer", data={"note": "after the worker died"}))
            emails = await smtp_sink.wait_for(2, timeout=60)
            assert "after the worker died" in emails[1].get_body(("plain",)).get_content()
            assert _child(launcher.pid, "workers").pid != worker.pid

            # So is the embedded Redis: the worker waits it out (it does not exit) and sends again.
            worker = _child(launcher.pid, "workers")
            _child(launcher.pid, "redis-server").kill()
            await asyncio.sleep(1)
            await service.engagement.TriggerEvent(pb.TriggerEventRequest(
                event=bank.notice_event, customer_id="lisa-customer", data={"note": "after redis died"}))
            emails = await smtp_sink.wait_for(3, timeout=90)
            assert "after redis died" in emails[2].get_body(("plain",)).get_content()
            assert _child(launcher.pid, "workers").pid == worker.pid
            assert len(smtp_sink.raw) == 3  # nothing sent twice
    finally:
        if launcher.returncode is None:
            launcher.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(launcher.communicate(), 60)
        print(stderr.decode()[-8000:])  # shown when the test fails: the children's logs
    assert launcher.returncode == 0, stderr.decode()[-3000:]
    assert "[engage] stopped" in stderr.decode()
    assert (f"[engage] metrics: server http://127.0.0.1:{server_metrics}/metrics, "
            f"worker http://127.0.0.1:{worker_metrics}/metrics") in stderr.decode()
    assert "[engage] restarting worker (restart 1)" in stderr.decode()
    assert "[engage] restarting redis-server (restart 1)" in stderr.decode()
    # Its hints name the port it runs on (not engagectl's default) and the loopback it was allowed.
    assert f"[engage] try: export ENGAGE_ADDRESS=127.0.0.1:{port} && .venv/bin/engagectl" in stderr.decode()
    assert "[engage] workers may send to this machine (ENGAGE_PROVIDER_NETWORKS_ALLOWED=127.0.0.0/8)" in stderr.decode()
    assert (tmp_path / "engage.db").exists()


def _child(launcher_pid: int, module: str) -> psutil.Process:
    """The launcher's child running `module` (python -m module) or the program of that name."""
    [found] = [child for child in psutil.Process(launcher_pid).children()
               if child.name() == module or module in child.cmdline()]
    return found
