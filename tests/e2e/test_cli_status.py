"""`engagectl status` through the real binary: the queue's depth and oldest job, a worker process's
heartbeat, a cron job's last run, the tenant's failed deliveries of the last hour, and Redis away."""

import asyncio
import datetime as dt
import json
import sys
import uuid

import pytest

from server.app import build_server
from server.bootstrap import build_services
from server.domain.auth import Role
from server.embedded_redis import EmbeddedRedis
from server.security.tokens import mint_token
from server.store.engagement_models import DeliveryRow
from server.store.uow import UnitOfWork
from tests.conftest import REPO_ROOT, TEST_JWT_SECRET
from tests.support.processes import process_env
from tests.support.stack import running_worker

HOUR = dt.timedelta(hours=1)


async def _failed_delivery(services, tenant: str, error_code: str, state: str = "FAILED",
                           finished_ago: dt.timedelta = dt.timedelta(minutes=5)) -> None:
    """A delivery the provider refused `finished_ago` (as dispatch records one)."""
    now = dt.datetime.now(dt.UTC)
    async with UnitOfWork(services.database) as uow:
        uow.session.add(DeliveryRow(
            delivery_id=f"dlv-{uuid.uuid4().hex[:16]}", tenant_id=tenant, trigger_key=uuid.uuid4().hex,
            event_id="evt-notice", customer_id="lisa-customer", channel="EMAIL", address="lisa@example.com",
            message_class="NOTICE", content={}, state=state, attempts=1, next_attempt_at=now,
            error_code=error_code, error_message="refused", created_at=now - finished_ago,
            updated_at=now - finished_ago))
        await uow.commit()


async def _status(server, env, tenant: str, *args: str, role: Role = Role.BANK_ADMIN):
    return await env(*args, token=server.token(tenant, role, "ops"))


async def _wait_for(check, what: str, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await check()
        if found is not None:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        await asyncio.sleep(0.5)


async def test_status_shows_the_queue_workers_cron_runs_and_failures(server, services, tenant, engagectl):
    other = (await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}")).tenant_id
    await _failed_delivery(services, tenant, "SMTP_550")
    await _failed_delivery(services, tenant, "SMTP_550")
    await _failed_delivery(services, tenant, "PROVIDER_GONE", state="DEAD_LETTER")
    await _failed_delivery(services, tenant, "SMTP_421", finished_ago=2 * HOUR)  # before the last hour
    await _failed_delivery(services, other, "OTHER_BANKS_CODE")  # another tenant's: not shown
    # A job due 30 s ago that no worker has taken yet (none runs).
    await services.redis.enqueue_job("process_domain_event", 0, _job_id=f"{server.settings.queue_name}:status-probe",
                                     _queue_name=server.settings.queue_name,
                                     _defer_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30))

    before = await _status(server, engagectl, tenant, "status", "--json")
    assert before.exit_code == 0, before.stderr
    shown = json.loads(before.stdout)
    assert shown["health"] == "SERVING" and shown["serving"] is True
    assert shown["queue"]["redis_reachable"] is True
    assert shown["queue"]["queued"] == 1 and shown["queue"]["running"] == 0
    assert 30 <= float(shown["queue"]["oldest_queued_age"].removesuffix("s")) < 90
    assert shown["workers"] == []
    assert shown["abandoned_domain_events"] == 0
    assert sorted((f["state"], f["error_code"], f["count"]) for f in shown["failed_deliveries"]) == [
        ("DEAD_LETTER", "PROVIDER_GONE", 1), ("FAILED", "SMTP_550", 2)]

    async with running_worker(process_env(server.settings)) as worker:
        async def worker_and_cron_seen():
            result = await _status(server, engagectl, tenant, "status", "--json")
            found = json.loads(result.stdout)
            crons = {r["name"]: r for r in found["cron_runs"]}
            relay = crons.get("relay_lost_domain_events", {})
            if found["workers"] and relay.get("outcome") == "SUCCEEDED" and found["queue"]["queued"] == 0:
                return found
            return None

        seen = await _wait_for(worker_and_cron_seen, "heartbeat, cron run and drained queue")
        [beat] = seen["workers"]
        assert beat["worker_id"].endswith(f":{worker.pid}")
        relay = {r["name"]: r for r in seen["cron_runs"]}["relay_lost_domain_events"]
        assert relay["start_time"] and relay["duration"].endswith("s")
        assert relay["worker_id"] == beat["worker_id"]

        piped = await _status(server, engagectl, tenant, "status")
        assert piped.exit_code == 0, piped.stderr
        lines = dict(line.split(":\t", 1) for line in piped.stdout.splitlines())
        assert lines["server.health"] == "SERVING" and lines["redis"] == "reachable"
        assert lines["workers"] == "1" and lines["worker[0].worker_id"] == beat["worker_id"]
        assert lines["failed_deliveries.total"] == "3" and lines["failed_deliveries.window"] == "1h00m"
        assert lines["dead_letters.deliveries_in_window"] == "1"
        assert lines["worker[0].last_heartbeat"].endswith(" ago")
        assert any(key.startswith("cron[") and value == "relay_lost_domain_events" for key, value in lines.items())
        assert "OTHER_BANKS_CODE" not in piped.stdout

        on_terminal = await engagectl("status", token=server.token(tenant, Role.BANK_ADMIN, "ops"),
                                      terminal_columns=100)
        assert on_terminal.exit_code == 0
        assert beat["worker_id"] in on_terminal.stdout and "relay_lost_domain_events" in on_terminal.stdout


async def test_status_is_for_bank_admins(server, tenant, engagectl):
    refused = await _status(server, engagectl, tenant, "status", role=Role.SERVICE)
    assert refused.exit_code == 1
    assert "PERMISSION_DENIED ROLE_NOT_ALLOWED" in refused.stderr


@pytest.fixture
async def server_without_redis(settings, tmp_path):
    redis = EmbeddedRedis(tmp_path / "redis")
    redis.start()
    own = settings.model_copy(update={"redis_url": redis.url})
    services = await build_services(own)
    grpc_server, port, health_servicer = build_server(services, "127.0.0.1:0")
    await grpc_server.start()
    from grpc_health.v1 import health_pb2

    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    redis.process.kill()
    redis.process.wait()
    try:
        yield f"127.0.0.1:{port}", own
    finally:
        await grpc_server.stop(1)
        await services.close()
        redis.stop()


async def test_status_says_redis_is_unreachable(server_without_redis, tenant):
    address, own = server_without_redis
    token = mint_token(own, tenant=tenant, role=Role.BANK_ADMIN, subject="ops", ttl=HOUR)
    env = {**process_env(own), "ENGAGE_ADDRESS": address, "ENGAGE_TOKEN": token, "ENGAGE_JWT_SECRET": TEST_JWT_SECRET}

    async def run(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "clients.engagectl.main", *args, cwd=REPO_ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, out.decode(), err.decode()

    code, out, err = await run("status", "--json")
    assert code == 1, err
    shown = json.loads(out)
    assert shown["health"] == "SERVING"
    assert shown["queue"]["redis_reachable"] is False and shown["queue"]["redis_error"]
    code, out, _ = await run("status")
    assert code == 1
    assert "redis:\tunreachable: " in out
    assert "workers:\tunknown (Redis unreachable)" in out
