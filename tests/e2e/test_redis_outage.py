"""Redis goes away for 35 s under ingest and trigger load, and comes back empty (its jobs lost):
the server answers every call meanwhile (and its health stays SERVING), the worker process rides it
out, and within two minutes of Redis' return every ingest event is processed and every message sent,
none twice.

Real processes (`python -m server`, `python -m workers`, a redis-server of the test's own), PostgreSQL,
an SMTP sink and an HTTP provider sink that keep every request. ENGAGE_FAULT_REDIS_OUTAGE_SECONDS
sets the outage when run by hand (docs/faults.md's figures are of a 60 s one)."""

import asyncio
import collections
import datetime as dt
import os
import shutil
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2
from sqlalchemy import func, select

from clients.stubs import connect
from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from server.embedded_redis import EmbeddedRedis
from server.security.tokens import mint_token
from server.store.engagement_models import DeliveryRow
from server.store.models import DomainEventRow
from tests.support.builders import seed_accounts, stream, transaction
from tests.support.processes import process_env
from tests.support.stack import running_server, running_worker
from tests.support.yes_bank import add_customer, set_up_yes_bank

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600), pytest.mark.xdist_group("faults-waiting")]

# Past what the length of an outage changes: the worker's reconnect backoff reaches its 5 s cap within
# 7 s, and a delivery's lease (30 s) and a worker's heartbeat (dropped after 30 s silent) run out.
OUTAGE_SECONDS = float(os.environ.get("ENGAGE_FAULT_REDIS_OUTAGE_SECONDS", "35"))
DRAIN_LIMIT_SECONDS = 120
CUSTOMERS = 5


class Load:
    """Ingest batches and event triggers from two callers until stopped; counts every answer."""

    def __init__(self, service) -> None:
        self.service = service
        self.answers: collections.Counter[str] = collections.Counter()
        self.notes: list[str] = []
        self.transactions = 0
        self._stopping = asyncio.Event()

    async def _ingest(self) -> None:
        number = 0
        while not self._stopping.is_set():
            number += 1
            batch = [transaction(f"t{number}-{i}", f"c{i}-chk", "10.00", day=dt.date(2026, 11, 2))
                     for i in range(CUSTOMERS)]
            await self._call(self.service.ingest.IngestTransactions(stream(batch)))
            self.transactions += len(batch)
            await asyncio.sleep(0.2)

    async def _trigger(self, event: str) -> None:
        number = 0
        while not self._stopping.is_set():
            number += 1
            note = f"note-{number}"
            if await self._call(self.service.engagement.TriggerEvent(pb.TriggerEventRequest(
                    event=event, customer_id=f"c{number % CUSTOMERS}", data={"note": note}))):
                self.notes.append(note)
            await asyncio.sleep(0.25)

    async def _call(self, call) -> bool:
        try:
            await call
        except grpc.RpcError as error:
            self.answers[error.code().name] += 1  # type: ignore[attr-defined]
            return False
        self.answers["OK"] += 1
        return True

    def run(self, event: str) -> asyncio.Future:
        return asyncio.gather(self._ingest(), self._trigger(event))

    def stop(self) -> None:
        self._stopping.set()


async def _pending(services) -> tuple[int, dict[str, int]]:
    """(unprocessed ingest events, deliveries by state but SENT and SKIPPED)."""
    async with services.database.sessions() as session:
        events = await session.scalar(select(func.count()).select_from(DomainEventRow)
                                      .where(DomainEventRow.processed_at.is_(None)))
        states = dict((await session.execute(select(DeliveryRow.state, func.count()).group_by(DeliveryRow.state)
                                             .where(DeliveryRow.state.not_in(["SENT", "SKIPPED"])))).all())
    return int(events or 0), states


async def test_a_redis_outage_loses_and_repeats_nothing(database_url, settings, services, tenant, tmp_path,
                                                       smtp_sink, provider_sink):
    if not database_url.startswith("postgresql"):
        pytest.skip("the fault suite runs on PostgreSQL, as deployments do")
    redis = EmbeddedRedis(tmp_path / "redis")
    redis.start()
    env = process_env(settings, REDIS_URL=redis.url, ENGAGE_LOG_LEVEL="WARNING",
                      ENGAGE_DELIVERY_RETRY_BASE_SECONDS="1")
    hour = dt.timedelta(hours=1)
    try:
        async with running_server(env) as (server, address), running_worker(env) as worker:
            admin_token = mint_token(settings, tenant=tenant, role=Role.BANK_ADMIN, subject="ops", ttl=hour)
            service_token = mint_token(settings, tenant=tenant, role=Role.SERVICE, subject="core", ttl=hour)
            async with connect(address, admin_token) as admin, connect(address, service_token) as service:
                bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                             provider_base_url=provider_sink.base_url)
                for i in range(CUSTOMERS):
                    await add_customer(service, bank.app, f"c{i}", email=f"c{i}@example.com",
                                       phone=f"+42060100000{i}", push_token="")
                    await seed_accounts(service, f"c{i}", f"c{i}-chk", currency="EUR")
                load = Load(service)
                running = load.run(bank.notice_event)
                await asyncio.sleep(5)

                # Redis dies and comes back empty: the queue, the jobs in it and the rate counts are gone.
                redis.process.kill()
                redis.process.wait()
                shutil.rmtree(redis.data_dir)
                await asyncio.sleep(OUTAGE_SECONDS)
                assert worker.returncode is None, worker.output()[-3000:]
                # The server stays in its load balancer: it answers every call without Redis.
                async with connect(address) as anonymous:
                    health = await anonymous.health.Check(health_pb2.HealthCheckRequest(), timeout=5)
                assert health.status == health_pb2.HealthCheckResponse.SERVING
                redis.start()
                back = time.monotonic()
                await asyncio.sleep(5)
                load.stop()
                await running

                while await _pending(services) != (0, {}):
                    assert time.monotonic() - back < DRAIN_LIMIT_SECONDS, \
                        (await _pending(services), worker.output()[-3000:])
                    await asyncio.sleep(0.5)
                drained = time.monotonic() - back
                assert worker.returncode is None and server.returncode is None
    finally:
        redis.stop()

    emails = collections.Counter(raw.split(b"Notice: ", 1)[1].split(b"\r\n", 1)[0].decode()
                                 for raw in list(smtp_sink.raw))
    texts = collections.Counter(r.body["Body"].removeprefix("Notice: ") for r in provider_sink.received("twilio"))
    expected = collections.Counter(load.notes)
    print(f"\nredis outage {OUTAGE_SECONDS:.0f} s: calls {dict(load.answers)}, triggers {len(load.notes)}, "
          f"transactions {load.transactions}, emails {sum(emails.values())}, sms {sum(texts.values())}, "
          f"drained {drained:.1f} s after redis returned")
    assert set(load.answers) == {"OK"}, load.answers  # the server answered every call meanwhile
    assert emails == expected and texts == expected  # none lost, none twice
    assert provider_sink.requests["twilio"] == len(load.notes)  # nor asked twice (Twilio would drop a repeat)
    assert drained <= DRAIN_LIMIT_SECONDS
