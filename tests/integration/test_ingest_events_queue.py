"""Accepted transactions announce an event through the outbox and the real arq worker on real Redis."""

import datetime as dt

from arq import Worker
from sqlalchemy import select

from server.services.ingest_events import ANNOUNCE_AGAIN_AFTER, LOST_AFTER, IngestEventsService
from server.store.models import IngestEventRow
from tests.support.builders import seed_accounts, stream, transaction
from workers.settings import worker_settings


async def run_worker_until_idle(settings) -> Worker:
    options = worker_settings(settings) | {"burst": True, "poll_delay": 0, "handle_signals": False}
    worker = Worker(**options)
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


async def events(services) -> list[IngestEventRow]:
    async with services.database.sessions() as session:
        return list(await session.scalars(select(IngestEventRow).order_by(IngestEventRow.event_id)))


async def test_accepted_batch_is_processed_by_the_worker(server, services, settings, service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00"),
                                                          transaction("t2", "a1", "2.00")]))
    [event] = await events(services)
    assert (event.transaction_ids, event.processed_at) == (["t1", "t2"], None)
    assert await services.redis.zcard(settings.queue_name) == 1

    worker = await run_worker_until_idle(settings)
    assert worker.jobs_complete >= 1 and worker.jobs_failed == 0
    [event] = await events(services)
    assert event.processed_at is not None

    # Duplicates announce nothing new.
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")]))
    assert len(await events(services)) == 1


async def test_a_job_redis_lost_is_resent_by_the_sweep_and_processed_once(server, services, settings,
                                                                          service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")]))
    await services.redis.delete(settings.queue_name)  # Redis is lossy: the job is gone
    [event] = await events(services)

    fresh_sweep = IngestEventsService(services.database, services.publisher)
    assert await fresh_sweep.resend_lost() == []  # too young to be called lost

    later = IngestEventsService(services.database, services.publisher,
                                clock=lambda: dt.datetime.now(dt.UTC) + LOST_AFTER + dt.timedelta(seconds=5))
    assert await later.resend_lost() == [event.event_id]
    await run_worker_until_idle(settings)
    [event] = await events(services)
    assert event.processed_at is not None and event.attempts == 1
    assert await later.resend_lost() == []


async def test_an_event_redis_never_had_is_announced_again_within_a_sweep(server, services, settings,
                                                                         service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")]))
    soon = IngestEventsService(services.database, services.publisher,
                               clock=lambda: dt.datetime.now(dt.UTC) + ANNOUNCE_AGAIN_AFTER + dt.timedelta(seconds=1))
    # While Redis holds the first job, announcing it again under its id adds nothing.
    assert await soon.resend_lost() == []
    assert await services.redis.zcard(settings.queue_name) == 1
    # Redis restarted empty, or was down when the event was committed (the Redis is shared: only this
    # test's keys go).
    [event] = await events(services)
    await services.redis.delete(settings.queue_name, f"arq:job:{settings.queue_name}:ingest-event:{event.event_id}:0")
    assert await soon.resend_lost() == []  # not counted as a resend: the first job id, no attempt used
    assert await services.redis.zcard(settings.queue_name) == 1
    await run_worker_until_idle(settings)
    [event] = await events(services)
    assert event.processed_at is not None and event.attempts == 0


async def test_processing_twice_is_harmless(server, services, service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")]))
    [event] = await events(services)
    assert await services.ingest_events.process(event.event_id) == 1
    assert await services.ingest_events.process(event.event_id) == 0


async def test_consumers_see_the_batch_and_its_tenant(server, services, tenant, service_stubs):
    seen = []

    async def consumer(tenant_id, transactions):
        seen.append((tenant_id, sorted(t.transaction_id for t in transactions)))

    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00"),
                                                          transaction("t9", "a1", "1.00", "DEBIT")]))
    [event] = await events(services)
    await IngestEventsService(services.database, services.publisher, [consumer]).process(event.event_id)
    assert seen == [(tenant, ["t1", "t9"])]
