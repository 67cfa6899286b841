"""The derived attributes' store work is set-based: refreshing one customer or thirty runs the same
statements, on both databases; and a refresh that changes nothing writes and announces nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from clients.berka.records import date_message
from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as pb
from server.services.derived_attributes import DerivedAttributesService
from server.services.events import NoPublisher
from server.store.uow import UnitOfWork
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


async def _statements(services, tenant: str, customer_ids: list[str]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(statements run, customers changed) by one refresh of these customers, committed."""
    derived = DerivedAttributesService(services.database, NoPublisher())
    executed: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        executed.append(statement)

    engine = services.database.engine.sync_engine
    async with UnitOfWork(services.database, tenant) as uow:
        event.listen(engine, "before_cursor_execute", count)
        try:
            changed = await derived.refresh(uow, customer_ids, AS_OF)
        finally:
            event.remove(engine, "before_cursor_execute", count)
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
