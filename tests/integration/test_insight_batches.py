"""The monthly batch through the real arq worker on real Redis: chunked, retried after a crash with
nothing duplicated or missed, and idempotent when run again or triggered later in the month."""

import datetime as dt

from arq import Worker
from sqlalchemy import func, select

from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as ingest
from engage.insights.v1 import insights_service_pb2 as pb
from engage.type.v1 import date_pb2
from server.domain.auth import Role
from server.store.models import FeedItemRow
from server.store.repositories.feed import FeedRepository
from tests.support.builders import account, customer
from workers.settings import worker_settings

AS_OF = date_pb2.Date(year=2021, month=7, day=1)
MONTH_ENDS = [dt.date(2021, 4, 30), dt.date(2021, 5, 31), dt.date(2021, 6, 30)]


async def seed(stubs, count: int) -> set[str]:
    """Customers c00..; the even ones doubled their savings in June (+50% on the average), the odd
    ones did not change. Returns the ids that should get the insight."""
    ids = [f"c{i:02d}" for i in range(count)]
    await stubs.ingest.BatchUpsertCustomers(ingest.BatchUpsertCustomersRequest(customers=[customer(c) for c in ids]))
    await stubs.ingest.BatchUpsertAccounts(ingest.BatchUpsertAccountsRequest(
        accounts=[account(f"{c}-sav", c, type=ingest.ACCOUNT_TYPE_SAVINGS) for c in ids]))
    balances = []
    for index, customer_id in enumerate(ids):
        for month_end, amount in zip(MONTH_ENDS, ["1000", "1000", "2000" if index % 2 == 0 else "1000"], strict=True):
            balances.append(ingest.DailyBalance(
                account_id=f"{customer_id}-sav", balance=money(amount, "EUR"),
                date=date_pb2.Date(year=month_end.year, month=month_end.month, day=month_end.day)))
    await stubs.ingest.RecordBalances(ingest.RecordBalancesRequest(balances=balances))
    return {c for i, c in enumerate(ids) if i % 2 == 0}


async def run_worker(settings) -> Worker:
    worker = Worker(**(worker_settings(settings) | {"burst": True, "poll_delay": 0, "handle_signals": False}))
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


async def feed_rows(services) -> list[tuple[str, str]]:
    async with services.database.sessions() as session:
        rows = await session.execute(select(FeedItemRow.customer_id, FeedItemRow.period))
        return sorted((row[0], row[1]) for row in rows)


async def test_batch_runs_in_chunks_on_the_worker(server, services, settings, tenant, service_stubs):
    expected = await seed(service_stubs, 25)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as admin:
        batch = await admin.insights.RunInsightBatch(pb.RunInsightBatchRequest(as_of=AS_OF, chunk_size=10))
        assert (batch.total_chunks, batch.state) == (3, pb.BATCH_STATE_RUNNING)
        await run_worker(settings)
        done = await admin.insights.GetInsightBatch(pb.GetInsightBatchRequest(name=batch.name))
        assert (done.state, done.done_chunks, done.users_evaluated, done.items_generated) == \
            (pb.BATCH_STATE_SUCCEEDED, 3, 25, len(expected))
        # Running the month's batch again is the same batch and adds nothing.
        again = await admin.insights.RunInsightBatch(pb.RunInsightBatchRequest(as_of=AS_OF, chunk_size=10))
        assert again.batch_id == batch.batch_id
        await run_worker(settings)
    assert await feed_rows(services) == sorted((c, "2021-07") for c in expected)
    # An on-demand trigger on the 3rd finds the 1st's item: no duplicate.
    triggered = await service_stubs.insights.TriggerInsights(pb.TriggerInsightsRequest(
        customer_id="c00", as_of=date_pb2.Date(year=2021, month=7, day=3)))
    assert not triggered.generated
    assert len(await feed_rows(services)) == len(expected)


async def test_a_crash_mid_batch_is_retried_without_duplicates(server, services, settings, tenant, service_stubs,
                                                               monkeypatch):
    expected = await seed(service_stubs, 30)
    settings.retry_backoff_seconds = 0.01
    real_insert = FeedRepository.insert_new
    calls = {"n": 0}

    async def crash_on_second_chunk(self, items, origin):
        calls["n"] += 1
        this_call = calls["n"]
        inserted = await real_insert(self, items, origin)
        if this_call == 2:  # after writing the chunk's items, before its commit
            raise ConnectionError("database connection lost")
        return inserted

    monkeypatch.setattr(FeedRepository, "insert_new", crash_on_second_chunk)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as admin:
        batch = await admin.insights.RunInsightBatch(pb.RunInsightBatchRequest(as_of=AS_OF, chunk_size=10))
        worker = await run_worker(settings)
        done = await admin.insights.GetInsightBatch(pb.GetInsightBatchRequest(name=batch.name))
    assert worker.jobs_retried >= 1
    assert (done.state, done.users_evaluated, done.items_generated) == (pb.BATCH_STATE_SUCCEEDED, 30, len(expected))
    rows = await feed_rows(services)
    assert rows == sorted((c, "2021-07") for c in expected)  # nothing missed, nothing twice
    async with services.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(FeedItemRow)) == len(expected)
