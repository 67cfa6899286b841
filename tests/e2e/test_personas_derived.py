"""The built-in derived attributes end to end, on both databases: customers, accounts, salary credits
(live and backfill) and end-of-day balances ingested through gRPC, the real worker run, then the values
and the memberships that read them seen through PersonasService; the daily refresh moves them with time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from clients.berka.records import date_message
from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.personas.v1 import personas_service_pb2 as pb
from server.domain.auth import Role
from server.domain.goals.months import add_months
from server.store.personas_models import PersonaMemberRow
from tests.integration.test_domain_events import run_worker_until_idle
from tests.support.builders import account, customer, stream, transaction

TODAY = dt.datetime.now(dt.UTC).date()  # the tenants here keep UTC
EXPRESSION = "avg_monthly_salary >= 1000 AND overdrafts_90d > 0 AND age >= 18"


def _days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


async def _backfill(batch: list[ipb.Transaction]):  # type: ignore[no-untyped-def]
    yield ipb.IngestTransactionsRequest(transactions=batch, backfill=True)


async def _ingest(stubs) -> None:  # type: ignore[no-untyped-def]
    ingest = stubs.ingest
    await ingest.BatchUpsertCustomers(ipb.BatchUpsertCustomersRequest(customers=[
        customer("c1", birth_date=add_months(TODAY, -40 * 12).isoformat()), customer("c2", birth_date="unknown"),
        customer("c3", birth_date=add_months(TODAY, -30 * 12 + 1).isoformat())]))
    await ingest.BatchUpsertAccounts(ipb.BatchUpsertAccountsRequest(accounts=[
        account("a1", "c1", open_date=date_message(add_months(TODAY, -25))),
        account("a1card", "c1", type=ipb.ACCOUNT_TYPE_CREDIT, container=ipb.CONTAINER_CREDIT_CARD,
                open_date=date_message(add_months(TODAY, -30))),
        account("a2", "c2", open_date=date_message(add_months(TODAY, -3)))]))
    # History loaded as backfill counts as much as live postings; t2 is older than the 6 months.
    await ingest.IngestTransactions(_backfill([
        transaction("t1", "a1", "3000.00", day=_days_ago(40), category="SALARY"),
        transaction("t2", "a1", "9999.00", day=_days_ago(200), category="SALARY")]))
    await ingest.IngestTransactions(stream([
        transaction("t3", "a1", "3000.00", day=_days_ago(10), category="salary"),
        transaction("t4", "a1", "700.00", day=_days_ago(9), category="TRANSFER"),
        transaction("t5", "a2", "50.00", day=_days_ago(8), direction="DEBIT", category="SALARY")]))
    await ingest.RecordBalances(ipb.RecordBalancesRequest(balances=[
        ipb.DailyBalance(account_id="a1", date=date_message(_days_ago(100)), balance=money("500.00", "EUR")),
        ipb.DailyBalance(account_id="a1", date=date_message(_days_ago(5)), balance=money("-50.00", "EUR")),
        # Not a deposit account: its balances are not the customer's collected balance.
        ipb.DailyBalance(account_id="a1card", date=date_message(_days_ago(5)), balance=money("-900.00", "EUR"))]))


def _plain(value: pb.AttributeValue) -> object:
    return getattr(value, value.WhichOneof("kind") or "")


async def _attributes(stubs, customer_id: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    got = await stubs.personas.GetCustomerAttributes(pb.GetCustomerAttributesRequest(
        name=f"customers/{customer_id}/attributes"))
    return {name: _plain(value) for name, value in got.values.items()}


async def _memberships(server, services, tenant: str, stubs) -> tuple[list[str], list[str], list[str]]:  # type: ignore[no-untyped-def]
    """The persona's members three ways: the stored rows, ListMembers (SQL) and IsMember (in memory)."""
    async with services.database.sessions() as session:
        kept = list(await session.scalars(select(PersonaMemberRow.customer_id).where(
            PersonaMemberRow.tenant_id == tenant, PersonaMemberRow.persona_id == "salaried_overdrawn"
        ).order_by(PersonaMemberRow.customer_id)))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        listed = await admin.personas.ListMembers(pb.ListMembersRequest(persona="personas/salaried_overdrawn"))
    in_memory = [c for c in ("c1", "c2", "c3") if (await stubs.personas.IsMember(pb.IsMemberRequest(
        persona="personas/salaried_overdrawn", customer=f"customers/{c}"))).member]
    return kept, [name.removeprefix("customers/") for name in listed.customers], in_memory


async def test_derived_attributes_follow_ingestion_and_time(server, services, settings, tenant, service_stubs):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        await admin.personas.CreatePersona(pb.CreatePersonaRequest(persona_id="salaried_overdrawn", persona=pb.Persona(
            display_name="Salaried, overdrawn", expression=EXPRESSION)))
    await _ingest(service_stubs)
    assert await _attributes(service_stubs, "c1") == {}  # nothing derived before the worker runs
    await run_worker_until_idle(settings)

    assert await _attributes(service_stubs, "c1") == {
        "age": 40, "months_as_customer": 30, "avg_monthly_salary": "1000",
        # 84 days at 500 (the balance of 100 days ago holds), then 6 days at -50: 41,700 / 90.
        "avg_collected_balance": "463.3333", "overdrafts_90d": 6}
    # No birth date that is a date; a debit is no salary; no balances fed.
    assert await _attributes(service_stubs, "c2") == {"months_as_customer": 3, "avg_monthly_salary": "0"}
    assert await _attributes(service_stubs, "c3") == {"age": 29}  # a month short of 30; no account
    assert await _memberships(server, services, tenant, service_stubs) == (["c1"], ["c1"], ["c1"])

    # A new birth date moves age through the bus, like any ingested change.
    await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer(
        "c2", birth_date=add_months(TODAY, -18 * 12).isoformat())))
    await run_worker_until_idle(settings)
    assert (await _attributes(service_stubs, "c2"))["age"] == 18

    # Time alone: the refresh as of 200 days on (the worker's job, as an operator enqueues it). The
    # salaries are out of the window, the last balance holds every day, c3 turned 30.
    later = TODAY + dt.timedelta(days=200)
    await services.redis.enqueue_job("refresh_derived_attributes", later.isoformat(), tenant,
                                     _queue_name=settings.queue_name)
    await run_worker_until_idle(settings)
    assert await _attributes(service_stubs, "c1") == {
        "age": 40, "months_as_customer": 36, "avg_monthly_salary": "0", "avg_collected_balance": "-50",
        "overdrafts_90d": 90}
    assert (await _attributes(service_stubs, "c3"))["age"] == 30
    assert await _memberships(server, services, tenant, service_stubs) == ([], [], [])


async def test_an_account_given_to_another_customer_leaves_its_former_owner_at_once(server, settings, service_stubs):
    await _ingest(service_stubs)
    await run_worker_until_idle(settings)
    assert await _attributes(service_stubs, "c2") == {"months_as_customer": 3, "avg_monthly_salary": "0"}
    assert await _attributes(service_stubs, "c3") == {"age": 29}

    # c2's only account goes to c3: both owners' values follow through the bus, not at the next daily
    # refresh (the event names the former owner).
    await service_stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(account=account(
        "a2", "c3", open_date=date_message(add_months(TODAY, -3)))))
    await run_worker_until_idle(settings)
    assert await _attributes(service_stubs, "c2") == {}
    assert await _attributes(service_stubs, "c3") == {"age": 29, "months_as_customer": 3, "avg_monthly_salary": "0"}
