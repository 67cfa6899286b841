"""The outbox of domain events and the bus, through the real gRPC server, the real arq worker on real
Redis and both databases: what each write records, the relay of lost jobs, per-handler progress, and the
order that handlers may rely on."""

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from arq import Worker
from sqlalchemy import select, update

from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.type.v1 import date_pb2
from server.domain.events import (
    AccountsChanged,
    BalancesRecorded,
    CreatedFeedItem,
    CustomerAttributesChanged,
    FeedItemsCreated,
    HoldingsChanged,
    TransactionsPosted,
)
from server.domain.ingest.model import Direction
from server.services.bus import (
    ANNOUNCE_AGAIN_AFTER,
    LOST_AFTER,
    MAX_RESENDS,
    EventHandler,
    HandlersFailed,
    MessageBus,
)
from server.store.event_payloads import decode
from server.store.models import DomainEventHandlingRow, DomainEventRow
from tests.support.builders import account, customer, seed_accounts, stream, transaction
from workers.settings import worker_settings


async def run_worker_until_idle(settings) -> Worker:
    options = worker_settings(settings) | {"burst": True, "poll_delay": 0, "handle_signals": False}
    worker = Worker(**options)
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


async def stored(services, kind: type | None = None) -> list[DomainEventRow]:
    async with services.database.sessions() as session:
        query = select(DomainEventRow).order_by(DomainEventRow.event_id)
        if kind is not None:
            query = query.where(DomainEventRow.kind == kind.__name__)
        return list(await session.scalars(query))


async def handlings(services, event_id: int) -> set[str]:
    async with services.database.sessions() as session:
        return set(await session.scalars(select(DomainEventHandlingRow.handler)
                                         .where(DomainEventHandlingRow.event_id == event_id)))


def later(by: dt.timedelta):
    return lambda: dt.datetime.now(dt.UTC) + by


async def test_a_batch_posts_its_transactions_with_the_balance_after_each(server, services, settings,
                                                                         service_stubs, tenant):
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([
        transaction("t1", "a1", "100.00"), transaction("t2", "a1", "30.25", "DEBIT", category="VYBER",
                                                       description="ATM")]))
    [row] = await stored(services, TransactionsPosted)
    assert (row.tenant_id, row.processed_at) == (tenant, None)
    event = decode(row.kind, row.payload)
    assert event.live
    first, second = event.postings
    assert (first.transaction_id, first.customer_id, first.amount.amount, first.balance_after.amount) == (
        "t1", "c1", Decimal("100.0000"), Decimal("100.0000"))
    assert (second.amount.amount, second.balance_after.amount, second.direction) == (
        Decimal("-30.2500"), Decimal("69.7500"), Direction.DEBIT)
    assert (second.category, second.description, second.amount.currency) == ("VYBER", "ATM", "EUR")
    assert second.booking_date == dt.date(2024, 1, 15) and second.posted_at.tzinfo is not None

    worker = await run_worker_until_idle(settings)
    assert worker.jobs_failed == 0
    [row] = await stored(services, TransactionsPosted)
    assert row.processed_at is not None
    assert await handlings(services, row.event_id) == {"event_insights", "transaction_alerts", "goal_allocation",
                                                       "goal_funding_rules"}

    # Duplicates post nothing new.
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "100.00")]))
    assert len(await stored(services, TransactionsPosted)) == 1


async def test_upserts_and_balance_feeds_record_what_changed(server, services, service_stubs):
    ingest = service_stubs.ingest
    await ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=customer("c1", segment="gold", city="Brno")))
    await ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=customer("c1", segment="gold", city="Praha")))
    await ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=customer("c1", segment="gold", city="Praha")))
    created, moved = [decode(r.kind, r.payload) for r in await stored(services, CustomerAttributesChanged)]
    [change] = created.changes
    assert (change.old, change.new) == ({"city": "", "segment": ""}, {"city": "Brno", "segment": "gold"})
    [change] = moved.changes
    assert (change.old, change.new) == ({"city": "Brno"}, {"city": "Praha"})  # the third changed nothing

    await ingest.UpsertAccount(pb.UpsertAccountRequest(account=account("a1", "c1", account_name="Main")))
    await ingest.UpsertAccount(pb.UpsertAccountRequest(account=account("a1", "c1", account_name="Everyday")))
    new, renamed = [decode(r.kind, r.payload) for r in await stored(services, AccountsChanged)]
    assert new.accounts[0].created and "account_name" in new.accounts[0].changed_fields
    assert (renamed.accounts[0].created, renamed.accounts[0].changed_fields) == (False, ("account_name",))

    loan = pb.Holding(holding_id="h1", kind=pb.HOLDING_KIND_LOAN, customer_id="c1", amount=money("900.00", "EUR"))
    await ingest.BatchUpsertHoldings(pb.BatchUpsertHoldingsRequest(holdings=[loan]))
    await ingest.BatchUpsertHoldings(pb.BatchUpsertHoldingsRequest(holdings=[loan]))  # the same again: no news
    loan.amount.CopyFrom(money("850.00", "EUR"))
    await ingest.BatchUpsertHoldings(pb.BatchUpsertHoldingsRequest(holdings=[loan]))
    new, repaid = [decode(r.kind, r.payload) for r in await stored(services, HoldingsChanged)]
    assert [(h.holding_id, h.customer_id, h.created) for h in new.holdings] == [("h1", "c1", True)]
    assert [(h.holding_id, h.created) for h in repaid.holdings] == [("h1", False)]

    await ingest.RecordBalances(pb.RecordBalancesRequest(balances=[pb.DailyBalance(
        account_id="a1", date=date_pb2.Date(year=2024, month=1, day=31), balance=money("12.50", "EUR"))]))
    [balances] = [decode(r.kind, r.payload) for r in await stored(services, BalancesRecorded)]
    assert [(b.account_id, b.balance.amount) for b in balances.balances] == [("a1", Decimal("12.50"))]


async def test_a_job_redis_lost_is_resent_by_the_sweep_and_processed_once(server, services, settings,
                                                                          service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await run_worker_until_idle(settings)  # the upserts' events
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")]))
    await services.redis.delete(settings.queue_name)  # Redis is lossy: the job is gone
    [event] = await stored(services, TransactionsPosted)

    assert await MessageBus(services.database, services.publisher, {}).resend_lost() == []  # too young
    sweep = MessageBus(services.database, services.publisher, {}, clock=later(LOST_AFTER + dt.timedelta(seconds=5)))
    assert await sweep.resend_lost() == [event.event_id]
    await run_worker_until_idle(settings)
    [event] = await stored(services, TransactionsPosted)
    assert event.processed_at is not None and event.attempts == 1
    assert await sweep.resend_lost() == []


async def test_an_event_redis_never_had_is_announced_again_within_a_sweep(server, services, settings,
                                                                         service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await run_worker_until_idle(settings)
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")]))
    soon = MessageBus(services.database, services.publisher, {},
                      clock=later(ANNOUNCE_AGAIN_AFTER + dt.timedelta(seconds=1)))
    # While Redis holds the first job, announcing it again under its id adds nothing.
    assert await soon.resend_lost() == []
    assert await services.redis.zcard(settings.queue_name) == 1
    # Redis restarted empty, or was down when the event was committed (only this test's keys go).
    [event] = await stored(services, TransactionsPosted)
    await services.redis.delete(settings.queue_name, f"arq:job:{settings.queue_name}:domain-event:{event.event_id}:0")
    assert await soon.resend_lost() == []  # not counted as a resend: the first job id, no attempt used
    assert await services.redis.zcard(settings.queue_name) == 1
    await run_worker_until_idle(settings)
    [event] = await stored(services, TransactionsPosted)
    assert event.processed_at is not None and event.attempts == 0


async def test_a_failing_handler_is_retried_alone_and_a_finished_one_never_again(server, services, service_stubs,
                                                                                tenant):
    calls = {"steady": 0, "flaky": 0}

    async def steady(uow, tenant_id, event):
        calls["steady"] += 1
        assert tenant_id == tenant and [p.transaction_id for p in event.postings] == ["t1"]

    async def flaky(uow, tenant_id, event):
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise RuntimeError("the provider is down")

    bus = MessageBus(services.database, services.publisher, {
        TransactionsPosted: [EventHandler("steady", steady), EventHandler("flaky", flaky)]})
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")]))
    [event] = await stored(services, TransactionsPosted)
    with pytest.raises(HandlersFailed) as failed:
        await bus.process(event.event_id)
    assert set(failed.value.failed) == {"flaky"}
    assert await handlings(services, event.event_id) == {"steady"}
    assert await bus.process(event.event_id) == 1
    assert calls == {"steady": 1, "flaky": 2}
    assert await bus.process(event.event_id) == 0  # processed: a job run again does nothing
    assert calls == {"steady": 1, "flaky": 2}


async def test_an_event_a_handler_raises_is_handled_by_the_same_job_or_else_queued(server, services, settings,
                                                                                   service_stubs, tenant):
    """A raised event is handled right after its handler commits; when that fails, its job is queued."""
    seen: list[str] = []
    failures = {"left": 0}

    async def raise_items(uow, tenant_id, event):
        items = tuple(CreatedFeedItem(f"item-{p.transaction_id}", "c1", "LARGE_DEPOSIT", p.transaction_id)
                      for p in event.postings)
        await uow.domain_events.add(tenant_id, FeedItemsCreated(items), dt.datetime.now(dt.UTC))

    async def notify(uow, tenant_id, event):
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("no route to the provider")
        seen.extend(i.feed_item_id for i in event.items)

    bus = MessageBus(services.database, services.publisher, {
        TransactionsPosted: [EventHandler("raise_items", raise_items)],
        FeedItemsCreated: [EventHandler("notify", notify)]})
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")]))
    [first] = await stored(services, TransactionsPosted)
    assert await bus.process(first.event_id) == 1
    [raised] = await stored(services, FeedItemsCreated)
    assert seen == ["item-t1"] and raised.processed_at is not None
    assert await services.redis.exists(f"arq:job:{settings.queue_name}:domain-event:{raised.event_id}:0") == 0

    failures["left"] = 1
    await service_stubs.ingest.IngestTransactions(stream([transaction("t2", "a1", "1.00")]))
    second = (await stored(services, TransactionsPosted))[-1]
    assert await bus.process(second.event_id) == 1  # its own handler finished: the raised event's failure is not its
    raised = (await stored(services, FeedItemsCreated))[-1]
    assert raised.processed_at is None and seen == ["item-t1"]
    assert await services.redis.exists(f"arq:job:{settings.queue_name}:domain-event:{raised.event_id}:0") == 1
    assert await bus.process(raised.event_id) == 1  # the queued job
    assert seen == ["item-t1", "item-t2"]


async def test_two_jobs_of_one_event_at_once_run_each_handler_once(server, services, service_stubs):
    calls = []

    async def slow(uow, tenant_id, event):
        calls.append(event)
        await asyncio.sleep(0.3)

    bus = MessageBus(services.database, services.publisher, {TransactionsPosted: [EventHandler("slow", slow)]})
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")]))
    [event] = await stored(services, TransactionsPosted)
    results = await asyncio.gather(bus.process(event.event_id), bus.process(event.event_id))
    assert len(calls) == 1 and 1 in results


async def test_concurrent_batches_on_the_same_accounts_post_a_consistent_chain(server, services, service_stubs):
    """Per account, event ids rise in commit order and each posting's balance follows from the one before:
    a handler can rely on the balance carried in the event, whatever order events reach it in."""
    accounts = ["a1", "a2", "a3"]
    await seed_accounts(service_stubs, "c1", *accounts)

    def batch(stream_number: int, batch_number: int) -> list[pb.Transaction]:
        return [transaction(f"s{stream_number}-b{batch_number}-{i}", accounts[(i + stream_number) % 3],
                            f"{1 + i + stream_number}.25", "CREDIT" if i % 3 else "DEBIT") for i in range(40)]

    await asyncio.gather(*[service_stubs.ingest.IngestTransactions(stream(*[batch(s, b) for b in range(5)]))
                           for s in range(4)])
    rows = await stored(services, TransactionsPosted)
    assert len(rows) == 20
    chains: dict[str, list] = {a: [] for a in accounts}
    for row in rows:
        for posting in decode(row.kind, row.payload).postings:
            chains[posting.account_id].append(posting)
    for account_id, postings in chains.items():
        balance = Decimal(0)
        for posting in postings:
            balance += posting.amount.amount
            assert posting.balance_after.amount == balance, (account_id, posting.transaction_id)
        stored_account = await service_stubs.ingest.GetAccount(pb.GetAccountRequest(name=f"accounts/{account_id}"))
        assert stored_account.current_balance.units == int(balance)


async def test_an_event_whose_handlers_keep_failing_is_given_up_after_its_resends(server, services, service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")]))
    [event] = await stored(services, TransactionsPosted)
    sweep = MessageBus(services.database, services.publisher, {}, clock=later(LOST_AFTER + dt.timedelta(seconds=5)))
    async with services.database.sessions() as session:
        await session.execute(update(DomainEventRow).where(DomainEventRow.event_id != event.event_id)
                              .values(processed_at=dt.datetime.now(dt.UTC)))
        await session.execute(update(DomainEventRow).where(DomainEventRow.event_id == event.event_id)
                              .values(attempts=MAX_RESENDS - 1))
        await session.commit()
    assert await sweep.resend_lost() == [event.event_id]  # the last resend
    assert await sweep.abandoned_count() == 0
    much_later = MessageBus(services.database, services.publisher, {},
                            clock=later(2 * LOST_AFTER + dt.timedelta(seconds=10)))
    assert await much_later.resend_lost() == []  # given up, and said so once
    assert await much_later.abandoned_count() == 1
    [event] = await stored(services, TransactionsPosted)
    assert (event.processed_at, event.attempts) == (None, MAX_RESENDS + 1)
