"""The derived attributes' store work is set-based: refreshing one customer or thirty runs the same
statements, on both databases; and a refresh that changes nothing writes and announces nothing."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import event

from clients.berka.records import date_message
from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.personas.v1 import personas_service_pb2 as ppb
from server.domain.events import (
    AttributeChange,
    CustomerAttributesChanged,
    DerivedAttributesRefreshRequested,
    Money,
    Posting,
    TransactionsPosted,
)
from server.domain.ingest.model import Direction
from server.services import derived_attributes as derived_attributes_service
from server.services.derived_attributes import DerivedAttributesService
from server.services.events import NoPublisher
from server.store.event_payloads import decode
from server.store.repositories.derived_attributes import DerivedAttributesRepository
from server.store.uow import UnitOfWork
from tests.integration.test_domain_events import run_worker_until_idle, stored
from tests.support.builders import account, customer, stream, transaction

AS_OF = dt.date(2024, 3, 31)


async def _seed(stubs, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    ids = [f"c{i:02}" for i in range(count)]
    await stubs.ingest.BatchUpsertCustomers(pb.BatchUpsertCustomersRequest(customers=[
        customer(c, birth_date="1980-01-01") for c in ids]))
    await stubs.ingest.BatchUpsertAccounts(pb.BatchUpsertAccountsRequest(accounts=[
        account(f"a{c}", c, open_date=date_message(dt.date(2020, 1, 1))) for c in ids]))
    await stubs.ingest.IngestTransactions(stream([
        transaction(f"t{c}", f"a{c}", "2000.00", day=dt.date(2024, 3, 1), category="SALARY") for c in ids]))
    await stubs.ingest.RecordBalances(pb.RecordBalancesRequest(balances=[
        pb.DailyBalance(account_id=f"a{c}", date=date_message(dt.date(2024, 1, 1)), balance=money("10.00", "EUR"))
        for c in ids]))
    return ids


@contextlib.contextmanager
def _counting(services) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """The statements run on the database while inside."""
    executed: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        executed.append(statement)

    engine = services.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield executed
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def _statements(services, tenant: str, customer_ids: list[str]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(statements run, customers changed) by one refresh of these customers, committed."""
    derived = DerivedAttributesService(services.database, NoPublisher())
    async with UnitOfWork(services.database, tenant) as uow:
        with _counting(services) as executed:
            changed = await derived.refresh(uow, customer_ids, AS_OF)
        await uow.commit()
    return len(executed), changed


async def test_a_refresh_reads_and_writes_a_chunk_in_the_same_statements(services, tenant, service_stubs):
    ids = await _seed(service_stubs, 30)
    one, changed_one = await _statements(services, tenant, ids[:1])
    many, changed_many = await _statements(services, tenant, ids[1:])
    assert (changed_one, changed_many) == (1, 29)
    assert one == many
    # Nothing changed since: read, and neither written nor announced.
    again, changed = await _statements(services, tenant, ids)
    assert changed == 0 and again < many


def _salary(customer_id: str, day: dt.date, container: str = "BANK", amount: str = "2000.00") -> Posting:
    return Posting(f"s-{customer_id}-{day}-{container}", f"a{customer_id}", customer_id, "CHECKING", container,
                   Money(Decimal(amount), "EUR"), Money(Decimal(amount), "EUR"),
                   dt.datetime.combine(day, dt.time(12), dt.UTC), Direction.CREDIT, "SALARY")


async def _on_postings(services, tenant: str, postings: tuple[Posting, ...]  # type: ignore[no-untyped-def]
                       ) -> tuple[int, list[object]]:
    """(statements run, events raised) by the salary handler on these postings, committed, as of AS_OF."""
    derived = DerivedAttributesService(services.database, NoPublisher(),
                                       clock=lambda: dt.datetime.combine(AS_OF, dt.time(12), dt.UTC))
    async with UnitOfWork(services.database, tenant) as uow:
        with _counting(services) as executed:
            await derived.on_transactions_posted(uow, tenant, TransactionsPosted(postings))
        raised = list(uow.domain_events.added_events.values())
        await uow.commit()
    return len(executed), raised


async def test_a_salary_credit_refreshes_the_average_salary_alone(services, tenant, service_stubs):
    ids = await _seed(service_stubs, 2)
    # A credit card's "salary", one booked before the 6-month window, one after today: none counts
    # for an average as of today, so nothing is read but the tenant's time zone (what today is).
    statements, raised = await _on_postings(services, tenant, (
        _salary(ids[0], dt.date(2024, 3, 1), container="CREDIT_CARD"), _salary(ids[0], dt.date(2023, 9, 30)),
        _salary(ids[1], dt.date(2024, 4, 1))))
    assert (statements, raised) == (1, [])
    # So the bus does not even run the handler for them (EventHandler.wants): only for one that counts.
    derived = DerivedAttributesService(services.database, NoPublisher(),
                                       clock=lambda: dt.datetime.combine(AS_OF, dt.time(12), dt.UTC))
    assert not derived.wants_transactions_posted(TransactionsPosted((
        _salary(ids[0], dt.date(2024, 3, 1), container="CREDIT_CARD"), _salary(ids[0], dt.date(2023, 9, 30)),
        _salary(ids[1], dt.date(2024, 4, 2)))))
    assert derived.wants_transactions_posted(TransactionsPosted((_salary(ids[0], dt.date(2023, 10, 1)),)))
    # One that counts: the owner's average salary (the seeded 2000 of 1 March / 6), and nothing else,
    # though the other derived attributes (age, months as customer, balances) were never computed.
    _, raised = await _on_postings(services, tenant, (_salary(ids[0], dt.date(2024, 3, 1)),))
    assert raised == [CustomerAttributesChanged((AttributeChange(
        ids[0], {"avg_monthly_salary": ""}, {"avg_monthly_salary": "333.3333"}),))]
    async with UnitOfWork(services.database, tenant) as uow:
        stored = await DerivedAttributesRepository(uow.session, tenant).stored(ids)
    assert stored == {ids[0]: {"avg_monthly_salary": Decimal("333.3333")}, ids[1]: {}}


async def test_a_refresh_is_requested_and_runs_a_chunk_per_job_each_requesting_the_next(
        services, settings, tenant, service_stubs, monkeypatch):
    ids = await _seed(service_stubs, 5)
    await run_worker_until_idle(settings)  # the seeding's own events: values as of today
    monkeypatch.setattr(derived_attributes_service, "CHUNK", 2)

    # What an operator enqueues (the hourly cron requests the same for the tenants whose day began).
    await services.redis.enqueue_job("refresh_derived_attributes", AS_OF.isoformat(), tenant,
                                     _queue_name=settings.queue_name)
    worker = await run_worker_until_idle(settings)

    rows = await stored(services, DerivedAttributesRefreshRequested)
    assert [decode(r.kind, r.payload) for r in rows] == [
        DerivedAttributesRefreshRequested(AS_OF), DerivedAttributesRefreshRequested(AS_OF, ids[1]),
        DerivedAttributesRefreshRequested(AS_OF, ids[3])]
    assert all(r.processed_at is not None for r in rows)
    assert worker.jobs_complete >= 1 + len(rows)  # the task, then each chunk in a job of its own
    for customer_id in ids:  # every chunk refreshed as of the requested day, not today
        got = await service_stubs.personas.GetCustomerAttributes(ppb.GetCustomerAttributesRequest(
            name=f"customers/{customer_id}/attributes"))
        assert got.values["months_as_customer"].int_value == 50  # January 2020 to March 2024
        assert got.values["avg_monthly_salary"].decimal_value == "333.3333"  # 2,000 of 1 March over 6 months


async def test_the_hourly_cron_requests_each_local_day_once_and_catches_up_a_missed_hour(services, tenant):
    async def requested_days() -> list[dt.date]:
        rows = await stored(services, DerivedAttributesRefreshRequested)
        return [decode(r.kind, r.payload).as_of for r in rows if r.tenant_id == tenant]

    def cron_at(hour: dt.datetime) -> DerivedAttributesService:
        return DerivedAttributesService(services.database, NoPublisher(), clock=lambda: hour)

    afternoon = dt.datetime.combine(AS_OF, dt.time(15, 3, 40), dt.UTC)
    # The day's first hour was missed (no run at 00:03): the afternoon's run requests the day.
    await cron_at(afternoon).refresh_new_days()
    assert await requested_days() == [AS_OF]
    for hour in (afternoon + dt.timedelta(hours=1), afternoon - dt.timedelta(days=1)):  # no repeat, no going back
        await cron_at(hour).refresh_new_days()
    assert await requested_days() == [AS_OF]
    next_day = dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time(0, 3, 40), dt.UTC)
    await cron_at(next_day).refresh_new_days()
    await cron_at(next_day).refresh_new_days()
    assert await requested_days() == [AS_OF, AS_OF + dt.timedelta(days=1)]
