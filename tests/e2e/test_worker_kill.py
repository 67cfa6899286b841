"""A worker SIGKILLed while it dispatches 2,000 messages (an email and an SMS to each of 1,000
customers, through SMTP and Vonage: neither de-duplicates, so every request is a message the customer
gets) loses none, sends again only messages that were in flight at the kill, and a new worker gets the
rest to the customers within a minute of the kill.

In flight at the kill: messages a sink had received whose delivery the database did not hold as SENT
at that instant (the provider had it, its answer was not recorded yet). Only those can go twice."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from server.services.dispatch import DISPATCH_BATCH
from server.store.engagement_models import DeliveryRow
from tests.conftest import REPO_ROOT
from tests.support.processes import process_env
from tests.support.yes_bank import set_up_yes_bank, store_reachable_customers

pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("faults-timed")]

CUSTOMERS = 1000
MESSAGES = 2 * CUSTOMERS
KILL_AFTER = MESSAGES // 3  # messages at the sinks when the worker is killed
REDELIVERY_SECONDS = 60.0
DELIVERY_ID = re.compile(rb"^X-Engage-Delivery-Id: *(\S+)", re.MULTILINE)


@pytest_asyncio.fixture
async def database_url(postgres_databases) -> AsyncIterator[str]:
    """PostgreSQL only: what a deployment that runs several workers uses."""
    if postgres_databases is None:
        pytest.skip("PostgreSQL is not running here")
    url = await postgres_databases.fresh()
    yield url
    await postgres_databases.drop(url)


class Arrivals:
    """The messages at the sinks (delivery ids, repeats included), and when the last one came."""

    def __init__(self, smtp_sink, provider_sink) -> None:
        self._smtp, self._provider = smtp_sink, provider_sink
        self.last_at = time.monotonic()
        self._seen = 0

    def count(self) -> int:
        return len(self._smtp.raw) + self._provider.requests.get("vonage", 0)

    def ids(self) -> Counter[str]:
        emails = [m.group(1).decode() for m in map(DELIVERY_ID.search, list(self._smtp.raw)) if m]
        sms = [r.body["client-ref"] for r in self._provider.received("vonage")]
        return Counter(emails + sms)

    async def watch(self) -> None:
        while True:
            if (count := self.count()) != self._seen:
                self._seen, self.last_at = count, time.monotonic()
            await asyncio.sleep(0.01)


async def _seed_customers(services, tenant: str) -> None:
    await store_reachable_customers(services.database, tenant, [
        (f"k{n:04d}", f"k{n:04d}@example.com", f"+4207{n:08d}") for n in range(CUSTOMERS)])


async def _states(services, tenant: str) -> dict[str, str]:
    """Each email's and SMS's delivery id and state."""
    async with services.database.sessions() as session:
        rows = await session.execute(select(DeliveryRow.delivery_id, DeliveryRow.state).where(
            DeliveryRow.tenant_id == tenant, DeliveryRow.channel.in_(["EMAIL", "SMS"])))
        return {delivery_id: state for delivery_id, state in rows}


async def _attempts(services, tenant: str) -> int:
    async with services.database.sessions() as session:
        return await session.scalar(select(func.sum(DeliveryRow.attempts)).where(DeliveryRow.tenant_id == tenant))


async def _start_worker(settings, log_path):
    env = process_env(settings, ENGAGE_DEFAULT_RATE_LIMIT_PER_SECOND="100000", ENGAGE_LOG_LEVEL="WARNING")
    with open(log_path, "ab") as log:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "workers", cwd=REPO_ROOT, env=env,
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=log)


async def test_a_worker_killed_mid_dispatch_loses_nothing_and_resends_only_what_was_in_flight(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink, tmp_path):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url, sms_provider="vonage")
    await _seed_customers(server.services, tenant)
    arrivals = Arrivals(smtp_sink, provider_sink)
    watching = asyncio.create_task(arrivals.watch())
    first = await _start_worker(settings, tmp_path / "worker-1.log")
    second = None
    try:
        for start in range(0, CUSTOMERS, 100):  # ten calls, each a hundred triggers
            await service_stubs.engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(requests=[
                pb.TriggerEventRequest(event=bank.notice_event, customer_id=f"k{n:04d}", request_id=f"kill-{n}",
                                       data={"note": f"note {n}"}) for n in range(start, start + 100)]))
        async with asyncio.timeout(120):
            while arrivals.count() < KILL_AFTER:  # noqa: ASYNC110 (a short poll)
                await asyncio.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        await first.wait()
        await asyncio.sleep(0.5)  # what reached the sinks and the database before the kill is taken in
        at_kill = await _states(server.services, tenant)
        received_at_kill = set(arrivals.ids())
        in_flight = received_at_kill - {d for d, state in at_kill.items() if state == "SENT"}
        claimed_at_kill = sum(state == "SENDING" for state in at_kill.values())
        # A new worker, as a supervisor starts one.
        second = await _start_worker(settings, tmp_path / "worker-2.log")
        async with asyncio.timeout(150):
            while set((states := await _states(server.services, tenant)).values()) != {"SENT"}:  # noqa: ASYNC110
                await asyncio.sleep(0.25)
        await asyncio.sleep(3)  # anything still on its way arrives
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 40)
    finally:
        watching.cancel()
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
    received = arrivals.ids()
    lost = set(states) - set(received)
    duplicated = {delivery_id: count - 1 for delivery_id, count in received.items() if count > 1}
    to_last = arrivals.last_at - killed_at
    print(f"\nworker SIGKILL after {len(received_at_kill)} of {MESSAGES} messages: lost {len(lost)}, "
          f"duplicated {sum(duplicated.values())} (in flight at the kill: {len(in_flight)}; claimed: "
          f"{claimed_at_kill}), last message {to_last:.1f} s after the kill; "
          f"attempts {await _attempts(server.services, tenant)}")
    assert len(states) == MESSAGES
    assert lost == set()
    assert set(received) == set(states)  # nothing but the deliveries
    assert set(duplicated) <= in_flight
    # What a worker has out is bounded by its connections to each provider (SMTP sessions, HTTP
    # connections) and a group's answers: less than a batch per channel configuration (email, SMS).
    assert len(in_flight) < 2 * DISPATCH_BATCH
    assert to_last <= REDELIVERY_SECONDS
