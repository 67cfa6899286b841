"""Dispatch through the real worker against the provider sinks: each answer is recorded as it comes
(not when the batch's slowest send is over), and the deliveries a dead worker held go back to the queue
for their tenant's next dispatch job, which sends them in a batch."""

import asyncio
import datetime as dt

from redis.asyncio import Redis
from sqlalchemy import select

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from server.store.engagement_models import DeliveryRow
from server.store.uow import UnitOfWork
from tests.integration.test_insight_batches import run_worker
from tests.support.yes_bank import add_customer, set_up_yes_bank


async def _bank(server, tenant, service_stubs, smtp_sink, provider_sink, sms_customers: int = 0):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
    if not sms_customers:
        await add_customer(service_stubs, bank.app, push_token="")
    for n in range(sms_customers):
        await add_customer(service_stubs, bank.app, f"sms-{n}", email="", push_token="", phone=f"+4206055500{n:02d}")
    return bank


async def _trigger(service_stubs, bank, customers: list[str]) -> None:
    await service_stubs.engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(requests=[
        pb.TriggerEventRequest(event=bank.notice_event, customer_id=customer, request_id=f"r-{customer}",
                               data={"note": "n"}) for customer in customers]))


async def _sends(services, tenant: str) -> list[tuple[str, str, int]]:
    """(channel, state, attempts) of each email and SMS to send (not those skipped: no address)."""
    async with services.database.sessions() as session:
        rows = await session.execute(select(DeliveryRow.channel, DeliveryRow.state, DeliveryRow.attempts).where(
            DeliveryRow.tenant_id == tenant, DeliveryRow.channel.in_(["EMAIL", "SMS"]),
            DeliveryRow.state != "SKIPPED"))
        return [tuple(row) for row in rows]


async def test_an_answer_is_recorded_while_the_batchs_other_sends_are_out(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    bank = await _bank(server, tenant, service_stubs, smtp_sink, provider_sink)
    # The SMS of the same batch is slow; the bound below stays a second short of its answer, and wide enough
    # for a loaded CI machine (2 s of 3 ran out once with the load average at 8).
    provider_sink.delay("twilio", 6)
    await _trigger(service_stubs, bank, ["lisa-customer"])
    worker = asyncio.create_task(run_worker(settings))
    await smtp_sink.wait_for_count(1)
    async with asyncio.timeout(5):  # before the SMS is answered
        while sorted((channel, state) for channel, state, _ in await _sends(server.services, tenant)) != [  # noqa: ASYNC110
                ("EMAIL", "SENT"), ("SMS", "SENDING")]:
            await asyncio.sleep(0.02)
    await worker
    assert sorted(await _sends(server.services, tenant)) == [("EMAIL", "SENT", 1), ("SMS", "SENT", 1)]


async def test_a_dead_workers_claims_go_back_to_the_queue_and_a_batch_job_sends_them(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    bank = await _bank(server, tenant, service_stubs, smtp_sink, provider_sink, sms_customers=5)
    await _trigger(service_stubs, bank, [f"sms-{n}" for n in range(5)])
    async with UnitOfWork(server.services.database, tenant) as uow:  # claimed by a worker that died
        assert len(await uow.deliveries.claim_due(dt.datetime.now(dt.UTC), dt.timedelta(0), 100)) == 5
        await uow.commit()
    assert await server.services.engagement.relay_lost() == 5
    assert await _sends(server.services, tenant) == [("SMS", "QUEUED", 1)] * 5
    await run_worker(settings)
    assert await _sends(server.services, tenant) == [("SMS", "SENT", 2)] * 5
    assert provider_sink.requests["twilio"] == 5
    redis = Redis.from_url(settings.redis_url)
    try:  # sent by the tenant's dispatch job, not a job per delivery
        assert [key async for key in redis.scan_iter(f"arq:result:{settings.queue_name}:delivery:*")] == []
    finally:
        await redis.aclose()
