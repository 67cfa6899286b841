"""The outbox of domain events and the bus, through the real gRPC server, the real arq worker on real
Redis and both databases: what each write records, the relay of lost jobs, per-handler progress, and the
order that handlers may rely on."""

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from arq import Worker
from arq.jobs import Job
from sqlalchemy import select, update

from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.type.v1 import date_pb2
from server.bootstrap import TRIGGER_RULES_HANDLERS
from server.domain.events import (
    AccountsChanged,
    BalancesRecorded,
    CreatedFeedItem,
    CustomerAttributesChanged,
    FeedItemsCreated,
    HoldingsChanged,
    Money,
    Posting,
    TransactionsPosted,
)
from server.domain.ingest.model import Direction
from server.domain.triggers.parts import part_of
from server.services.bus import (
    ANNOUNCE_AGAIN_AFTER,
    KEEPS_ORDER_BELOW_RESENDS,
    LOST_AFTER,
    MAX_RESENDS,
    TAKEN_FOR,
    EarlierEventsPending,
    EventHandler,
    HandlersFailed,
    MessageBus,
)
from server.store.event_payloads import decode
from server.store.models import DomainEventHandlingRow, DomainEventRow
from server.store.repositories.domain_events import DomainEventsRepository
from server.store.triggers_models import TriggerAccountDayRow
from server.store.uow import UnitOfWork
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
    # derived_attributes_salary did not want it: no salary credit, so it ran not and recorded nothing.
    # trigger_rules ran only in the part of c1's postings (server.domain.triggers.parts).
    assert await handlings(services, row.event_id) == {TRIGGER_RULES_HANDLERS[part_of("c1")], "event_insights",
                                                       "transaction_alerts", "goal_allocation", "goal_funding_rules"}

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


async def test_an_ingested_batch_is_announced_for_when_the_gathering_ends(server, services, settings,
                                                                          service_stubs):
    # Its job is due ENGAGE_BUS_GATHER_SECONDS after the commit, so that it takes in the batches committed
    # meanwhile; the events of the set-up (customers, accounts) are announced at once.
    assert settings.bus_gather_seconds > 0
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")]))
    [posted] = await stored(services, TransactionsPosted)
    others = [row for row in await stored(services) if row.event_id != posted.event_id]
    assert others
    for row, gathered in [(posted, True)] + [(row, False) for row in others]:
        job = await Job(f"{settings.queue_name}:domain-event:{row.event_id}:0", services.redis,
                        _queue_name=settings.queue_name).info()
        assert job is not None and job.score is not None
        due_after_ms = job.score - int(job.enqueue_time.timestamp() * 1000)
        assert abs(due_after_ms - (settings.bus_gather_seconds * 1000 if gathered else 0)) <= 1


async def test_a_batch_the_busy_server_left_to_the_workers_is_announced_at_once(server, services, settings,
                                                                                 service_stubs):
    # The server's own run of trigger_rules was wanted but all its runs were under way: a banner now
    # waits for the job, which must not wait for others to gather.
    left_to_the_workers = []

    def busy(tenant_id, written):
        left_to_the_workers.append(list(written))
        return True

    services.ingestion._committed = busy
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")]))
    [posted] = await stored(services, TransactionsPosted)
    assert left_to_the_workers == [[posted.event_id]]
    job = await Job(f"{settings.queue_name}:domain-event:{posted.event_id}:0", services.redis,
                    _queue_name=settings.queue_name).info()
    assert job is not None and job.score == int(job.enqueue_time.timestamp() * 1000)


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


async def test_an_accounts_day_closes_on_its_last_posting_whatever_order_its_events_are_handled_in(
        server, services, service_stubs):
    """Two jobs may handle one account's events out of commit order (the later one taking the account's
    locks first). The day series must still close the day on the balance after the account's last
    posting, as applying the events in order does."""
    await seed_accounts(service_stubs, "c1", "a1")
    for number, amount in enumerate(["100.00", "30.00"]):
        await service_stubs.ingest.IngestTransactions(stream([transaction(f"t{number}", "a1", amount)]))
    first, second = [row.event_id for row in await stored(services, TransactionsPosted)]
    assert await services.bus.process(second) and await services.bus.process(first)
    async with services.database.sessions() as session:
        closing = await session.scalar(select(TriggerAccountDayRow.closing_balance)
                                       .where(TriggerAccountDayRow.account_id == "a1"))
    assert closing == Decimal("130.00")


def ordered_bus(services, seen: list[str], *, pause: float = 0.0, **options) -> MessageBus:
    """A bus whose one handler is kept in order and notes the transactions in the order it is given them."""
    async def note(uow, tenant_id, event):
        seen.extend(p.transaction_id for p in event.postings)
        await asyncio.sleep(pause)

    return MessageBus(services.database, services.publisher,
                      {TransactionsPosted: [EventHandler("ordered", note, in_order=True)]}, **options)


async def one_posting_each(services, service_stubs, batches: int) -> list[int]:
    """Batches of one posting each on account a1 (t0, t1...), ingested one after the other: their event ids."""
    await seed_accounts(service_stubs, "c1", "a1")
    for number in range(batches):
        await service_stubs.ingest.IngestTransactions(stream([transaction(f"t{number}", "a1", "1.00")]))
    return [row.event_id for row in await stored(services, TransactionsPosted)]


async def test_jobs_of_a_tenants_events_run_at_once_give_an_in_order_handler_its_events_in_id_order(
        server, services, service_stubs):
    seen: list[str] = []
    bus = ordered_bus(services, seen, pause=0.2)
    ids = await one_posting_each(services, service_stubs, 4)
    # The latest event's job first: it takes the earlier ones in; the others wait for it, then find them done.
    await asyncio.gather(*[bus.process(event_id) for event_id in reversed(ids)])
    assert seen == ["t0", "t1", "t2", "t3"]
    assert all(row.processed_at is not None for row in await stored(services, TransactionsPosted))


async def test_an_in_order_handler_puts_an_event_another_job_holds_between_its_own_in_id_order(
        server, services, service_stubs):
    seen: list[str] = []
    bus = ordered_bus(services, seen, events_per_job=10)
    first, held, _ = await one_posting_each(services, service_stubs, 3)
    async with services.database.sessions() as session:  # a job that has not started its handlers yet
        await session.execute(update(DomainEventRow).where(DomainEventRow.event_id == held).values(
            taken_by=held, taken_until=dt.datetime.now(dt.UTC) + TAKEN_FOR))
        await session.commit()
    assert await bus.process(first) == 2  # its own event and the last one, taken with it
    assert seen == ["t0", "t1", "t2"]
    assert await handlings(services, held) == {"ordered"}


async def test_the_servers_own_run_of_an_in_order_handler_takes_in_only_earlier_events_sharing_accounts(
        server, services, service_stubs, tenant):
    seen: list[str] = []
    bus = ordered_bus(services, seen)

    async def together(uow, tenant_id, event, claimed):
        assert claimed == frozenset({"ordered"})
        seen.extend(p.transaction_id for p in event.postings)

    await seed_accounts(service_stubs, "c1", "a1", "a2", "a3")
    for number, accounts in enumerate([["a1"], ["a2"], ["a3", "a1"], ["a3"]]):
        await service_stubs.ingest.IngestTransactions(stream([
            transaction(f"t{number}-{account_id}", account_id, "1.00") for account_id in accounts]))
    rows = await stored(services, TransactionsPosted)
    latest = rows[-1]
    await bus.run_together(latest.event_id, tenant, decode(latest.kind, latest.payload), ["ordered"], together)
    # a3's earlier posting, and a1's before that event; a2's event shares no account with them.
    assert seen == ["t0-a1", "t2-a3", "t2-a1", "t3-a3"]
    assert await handlings(services, rows[1].event_id) == set()


async def test_the_servers_own_run_does_not_read_again_the_earlier_events_it_has_at_hand(
        server, services, service_stubs, tenant, monkeypatch):
    """InProcessHandlers hands run_together the events of its runs under way (`known`): the earlier events
    it compares and takes in are those, in the same order as when read from the outbox."""
    seen: list[str] = []
    bus = ordered_bus(services, seen)

    async def together(uow, tenant_id, event, claimed):
        seen.extend(p.transaction_id for p in event.postings)

    await seed_accounts(service_stubs, "c1", "a1", "a2")
    for number, account_id in enumerate(["a1", "a2", "a1"]):
        await service_stubs.ingest.IngestTransactions(stream([transaction(f"t{number}", account_id, "1.00")]))
    rows = await stored(services, TransactionsPosted)
    read: list[int] = []
    reads = DomainEventsRepository.events

    async def events(self, event_ids):
        read.extend(event_ids)
        return await reads(self, event_ids)

    monkeypatch.setattr(DomainEventsRepository, "events", events)
    known = {row.event_id: decode(row.kind, row.payload) for row in rows}
    latest = rows[-1]
    await bus.run_together(latest.event_id, tenant, known[latest.event_id], ["ordered"], together, known=known)
    assert seen == ["t0", "t2"]
    assert read == []


async def test_an_in_order_handler_goes_on_without_an_earlier_event_the_sweep_had_to_resend_often(
        server, services, service_stubs):
    seen: list[str] = []
    bus = ordered_bus(services, seen)
    failing, later_one = await one_posting_each(services, service_stubs, 2)
    async with services.database.sessions() as session:
        await session.execute(update(DomainEventRow).where(DomainEventRow.event_id == failing)
                              .values(attempts=KEEPS_ORDER_BELOW_RESENDS))
        await session.commit()
    assert await bus.process(later_one) == 1
    assert seen == ["t1"] and await handlings(services, failing) == set()


async def test_an_in_order_handler_leaves_a_large_backlog_of_earlier_postings_to_their_own_jobs(
        server, services, service_stubs):
    seen: list[str] = []
    bus = ordered_bus(services, seen, earlier_postings_at_most=2)
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction(f"t{i}", "a1", "1.00") for i in range(3)]))
    await service_stubs.ingest.IngestTransactions(stream([transaction("t3", "a1", "1.00")]))
    earlier, own = [row.event_id for row in await stored(services, TransactionsPosted)]
    with pytest.raises(HandlersFailed) as failed:
        await bus.process(own)
    assert isinstance(failed.value.failed["ordered"], EarlierEventsPending)
    assert seen == [] and await handlings(services, earlier) == set() and await handlings(services, own) == set()
    assert await bus.process(earlier) == 3 and await bus.process(own) == 1
    assert seen == ["t0", "t1", "t2", "t3"]


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


def posting(transaction_id: str, account_id: str = "a1") -> Posting:
    one = Money(Decimal("1.0000"), "EUR")
    return Posting(transaction_id, account_id, "c1", "CHECKING", "BANK", one, one,
                   dt.datetime(2024, 1, 15, 12, tzinfo=dt.UTC), Direction.CREDIT)


async def outbox(services, tenant: str, *events: TransactionsPosted) -> list[int]:
    async with UnitOfWork(services.database, tenant) as uow:
        ids = [await uow.domain_events.add(tenant, event, dt.datetime.now(dt.UTC)) for event in events]
        await uow.commit()
    return ids


def posted(*transaction_ids: str, live: bool = True) -> TransactionsPosted:
    return TransactionsPosted(tuple(posting(t) for t in transaction_ids), live)


async def test_a_job_handles_the_next_untouched_events_of_its_tenant_with_its_own(services, tenant):
    """events_per_job (SQLite's workers): each handler runs once for several events, their postings in
    event order, and records its progress per event; their own jobs then find them processed."""
    seen: dict[str, list[list[str]]] = {"first": [], "second": []}

    def recording(name: str):
        async def handle(uow, tenant_id, event):
            seen[name].append([p.transaction_id for p in event.postings])
        return handle

    bus = MessageBus(services.database, services.publisher, {TransactionsPosted: [
        EventHandler("first", recording("first")), EventHandler("second", recording("second"))]},
        events_per_job=3, postings_per_job=5)
    ids = await outbox(services, tenant, posted("t1", "t2"), posted("t3"), posted("t4", "t5"), posted("t6"),
                       posted("t7", "t8", "t9", "t10"), posted("t11"), posted("t12", live=False), posted("t13"))
    assert await bus.process(ids[0]) == 5  # three events, then the job's bound of events
    assert seen["first"] == seen["second"] == [["t1", "t2", "t3", "t4", "t5"]]
    rows = {row.event_id: row for row in await stored(services, TransactionsPosted)}
    assert [rows[i].processed_at is not None for i in ids] == [True] * 3 + [False] * 5
    for event_id in ids[:3]:
        assert await handlings(services, event_id) == {"first", "second"}
    assert [await bus.process(i) for i in ids[1:3]] == [0, 0]
    assert await bus.process(ids[3]) == 5  # then its bound of postings: t11 would make 6
    assert await bus.process(ids[5]) == 1  # live and backfill are not handled together
    assert await bus.process(ids[6]) == 1 and await bus.process(ids[7]) == 1
    assert seen["first"][1:] == [["t6", "t7", "t8", "t9", "t10"], ["t11"], ["t12"], ["t13"]]
    assert all(row.processed_at is not None for row in await stored(services, TransactionsPosted))


async def test_a_handler_that_does_not_want_an_event_is_not_run_and_records_nothing(services, tenant):
    """EventHandler.wants, judged from the event alone: an unwanted event costs the handler no unit of
    work; the wanting handlers run once as ever, and the event is processed by them (or alone)."""
    seen: dict[str, list[list[str]]] = {"live_only": [], "always": []}

    def recording(name: str):
        async def handle(uow, tenant_id, event):
            seen[name].append([p.transaction_id for p in event.postings])
        return handle

    def live(event: TransactionsPosted) -> bool:
        return event.live

    bus = MessageBus(services.database, services.publisher, {TransactionsPosted: [
        EventHandler("live_only", recording("live_only"), wants=live), EventHandler("always", recording("always"))]})
    history, news = await outbox(services, tenant, posted("t1", live=False), posted("t2"))
    assert await bus.process(history) == 1 and await bus.process(news) == 1
    assert seen == {"live_only": [["t2"]], "always": [["t1"], ["t2"]]}
    assert await handlings(services, history) == {"always"}
    assert await handlings(services, news) == {"live_only", "always"}
    assert [await bus.process(i) for i in (history, news)] == [0, 0]

    # No handler wants it: processed all the same, with no progress.
    only = MessageBus(services.database, services.publisher, {TransactionsPosted: [
        EventHandler("live_only", recording("live_only"), wants=live)]})
    [quiet] = await outbox(services, tenant, posted("t3", live=False))
    assert await only.process(quiet) == 1 and await only.process(quiet) == 0
    assert await handlings(services, quiet) == set()
    assert seen["live_only"] == [["t2"]]
    assert all(row.processed_at is not None for row in await stored(services, TransactionsPosted))


async def test_a_handlers_hold_is_taken_before_its_claim_in_the_same_unit_of_work(services, tenant):
    """EventHandler.hold runs first in the handler's unit of work: nothing of the job is written yet (no
    claim), and the handler then runs in that unit of work with the events the hold was given."""
    seen: list[tuple[str, object, list[str], set[str]]] = []

    async def hold(uow, tenant_id, event):
        claims = set(await uow.session.scalars(select(DomainEventHandlingRow.handler)))
        seen.append(("hold", uow, [p.transaction_id for p in event.postings], claims))

    async def handle(uow, tenant_id, event):
        claims = set(await uow.session.scalars(select(DomainEventHandlingRow.handler)))
        seen.append(("handle", uow, [p.transaction_id for p in event.postings], claims))

    bus = MessageBus(services.database, services.publisher, {TransactionsPosted: [
        EventHandler("held", handle, hold=hold)]}, events_per_job=3)
    ids = await outbox(services, tenant, posted("t1"), posted("t2", "t3"))
    assert await bus.process(ids[0]) == 3
    assert [(step, postings, claims) for step, _, postings, claims in seen] == [
        ("hold", ["t1", "t2", "t3"], set()), ("handle", ["t1", "t2", "t3"], {"held"})]
    assert seen[0][1] is seen[1][1]
    assert await handlings(services, ids[0]) == await handlings(services, ids[1]) == {"held"}


async def test_a_handler_split_in_parts_takes_the_whole_ones_progress_as_its_own(services, tenant):
    """EventHandler.replaces: an event the handler of before finished (trigger_rules before its parts) is
    finished for each part; the other handlers still run, and an event it did not finish runs the parts."""
    seen: list[str] = []

    def recording(name: str, fails: bool = False):
        async def handle(uow, tenant_id, event):
            seen.append(name)
            if fails:
                raise RuntimeError("down")
        return handle

    before = MessageBus(services.database, services.publisher, {TransactionsPosted: [
        EventHandler("whole", recording("whole")), EventHandler("later", recording("later", fails=True))]})
    [event] = await outbox(services, tenant, posted("t1"))
    with pytest.raises(HandlersFailed):
        await before.process(event)
    assert await handlings(services, event) == {"whole"}

    after = MessageBus(services.database, services.publisher, {TransactionsPosted: [
        EventHandler("part_1", recording("part_1"), replaces=("whole",)),
        EventHandler("part_2", recording("part_2"), replaces=("whole",)), EventHandler("later", recording("later"))]})
    seen.clear()
    assert await after.process(event) == 1
    assert seen == ["later"]
    [fresh] = await outbox(services, tenant, posted("t2"))
    seen.clear()
    assert await after.process(fresh) == 1
    assert seen == ["part_1", "part_2", "later"]


async def test_handlers_run_together_claim_only_what_no_job_finished(services, tenant):
    """MessageBus.run_together (the server's run of trigger_rules' parts): one call does the work of the
    handlers wanting the event that no job finished, and their progress is recorded."""
    async def nothing(uow, tenant_id, event):
        return None

    def never(event) -> bool:
        return False

    bus = MessageBus(services.database, services.publisher, {TransactionsPosted: [
        EventHandler("part_1", nothing), EventHandler("part_2", nothing),
        EventHandler("part_3", nothing, wants=never)]})
    given: list[frozenset[str]] = []

    async def together(uow, tenant_id, event, claimed):
        given.append(claimed)

    [event] = await outbox(services, tenant, posted("t1"))
    async with UnitOfWork(services.database, tenant) as uow:  # a job finished part_1
        await uow.domain_events.claim_handling([event], "part_1", dt.datetime.now(dt.UTC))
        await uow.commit()
    await bus.run_together(event, tenant, posted("t1"), ["part_1", "part_2", "part_3"], together)
    assert given == [frozenset({"part_2"})]
    assert await handlings(services, event) == {"part_1", "part_2"}
    await bus.run_together(event, tenant, posted("t1"), ["part_1", "part_2", "part_3"], together)
    assert given == [frozenset({"part_2"})]  # all finished: nothing runs


async def test_a_handler_failing_for_events_handled_together_is_retried_by_each_event_alone(services, settings,
                                                                                           tenant):
    """The job gives back the events it took in, unprocessed, and sends them as jobs of their own: theirs
    had found them taken and ended."""
    calls: dict[str, list[list[str]]] = {"steady": [], "flaky": []}
    failures = {"left": 1}

    async def steady(uow, tenant_id, event):
        calls["steady"].append([p.transaction_id for p in event.postings])

    async def flaky(uow, tenant_id, event):
        calls["flaky"].append([p.transaction_id for p in event.postings])
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("the provider is down")

    instant = dt.datetime.now(dt.UTC)
    bus = MessageBus(services.database, services.publisher, {TransactionsPosted: [
        EventHandler("flaky", flaky), EventHandler("steady", steady)]}, clock=lambda: instant, events_per_job=3)
    ids = await outbox(services, tenant, posted("t1"), posted("t2"), posted("t3"), posted("t4"))
    with pytest.raises(HandlersFailed) as failed:
        await bus.process(ids[0])
    assert set(failed.value.failed) == {"flaky"}
    resent = [f"arq:job:{settings.queue_name}:domain-event:{i}:{int(instant.timestamp())}" for i in ids]
    assert [await services.redis.exists(key) for key in resent] == [0, 1, 1, 0]
    for event_id in ids[:3]:
        assert await handlings(services, event_id) == {"steady"}
    assert calls["steady"] == [["t1", "t2", "t3"]]
    # Each event's retry (or own job) runs the failed handler alone, and takes in no other event: one
    # with progress is not handled together with others.
    assert await bus.process(ids[1]) == 1
    assert await bus.process(ids[0]) == 1
    assert calls["flaky"][1:] == [["t2"], ["t1"]] and calls["steady"] == [["t1", "t2", "t3"]]
    assert await bus.process(ids[2]) == 1
    assert await bus.process(ids[3]) == 1
    assert calls["flaky"][1:] == [["t2"], ["t1"], ["t3"], ["t4"]] and calls["steady"][1:] == [["t4"]]
    assert all(row.processed_at is not None for row in await stored(services, TransactionsPosted))


async def test_jobs_handling_overlapping_events_together_run_each_handler_once_per_event(services, tenant):
    handled: list[str] = []

    async def slow(uow, tenant_id, event):
        handled.extend(p.transaction_id for p in event.postings)
        await asyncio.sleep(0.2)

    bus = MessageBus(services.database, services.publisher, {TransactionsPosted: [
        EventHandler("slow", slow), EventHandler("then", slow)]}, events_per_job=3)
    ids = await outbox(services, tenant, *(posted(f"t{n}") for n in range(1, 6)))
    results = await asyncio.gather(*(bus.process(i) for i in ids))
    assert sorted(handled) == sorted([f"t{n}" for n in range(1, 6)] * 2)
    assert sum(results) == 5  # the jobs took disjoint events: a job whose event another took ended at once
    assert all(row.processed_at is not None for row in await stored(services, TransactionsPosted))


async def test_events_another_job_took_are_left_to_it_until_its_hold_runs_out(services, tenant):
    handled: list[str] = []

    async def record(uow, tenant_id, event):
        handled.extend(p.transaction_id for p in event.postings)

    handlers = {TransactionsPosted: [EventHandler("record", record)]}
    bus = MessageBus(services.database, services.publisher, handlers, events_per_job=3)
    ids = await outbox(services, tenant, posted("t1"), posted("t2"), posted("t3"))
    # The job of the first event took the other two, then died before handling any.
    async with UnitOfWork(services.database) as uow:
        now = dt.datetime.now(dt.UTC)
        assert await uow.domain_events.take(ids[0], now, now + TAKEN_FOR)
        taken = await uow.domain_events.take_untouched_after(ids[0], tenant, 2, 10, True, now, now + TAKEN_FOR)
        await uow.commit()
    assert [event_id for event_id, _ in taken] == ids[1:]
    assert [await bus.process(i) for i in ids[1:]] == [0, 0] and handled == []
    # Once the hold has run out, another job takes them (the relay sweep sends them after LOST_AFTER).
    after_the_hold = MessageBus(services.database, services.publisher, handlers,
                                clock=later(TAKEN_FOR + dt.timedelta(seconds=1)), events_per_job=3)
    assert await after_the_hold.process(ids[1]) == 2 and handled == ["t2", "t3"]
    # The retry of the job that died takes back what it took: here its own event only, the rest is done.
    assert await bus.process(ids[0]) == 1 and handled == ["t2", "t3", "t1"]
    assert all(row.processed_at is not None for row in await stored(services, TransactionsPosted))


async def test_a_job_retried_takes_back_the_events_it_took(services, tenant):
    handled: list[list[str]] = []

    async def record(uow, tenant_id, event):
        handled.append([p.transaction_id for p in event.postings])

    bus = MessageBus(services.database, services.publisher, {TransactionsPosted: [EventHandler("record", record)]},
                     events_per_job=3)
    ids = await outbox(services, tenant, posted("t1"), posted("t2"), posted("t3"))
    async with UnitOfWork(services.database) as uow:  # its first try took them and died
        now = dt.datetime.now(dt.UTC)
        assert await uow.domain_events.take(ids[0], now, now + TAKEN_FOR)
        assert len(await uow.domain_events.take_untouched_after(ids[0], tenant, 2, 10, True, now,
                                                                now + TAKEN_FOR)) == 2
        await uow.commit()
    assert await bus.process(ids[0]) == 3 and handled == [["t1", "t2", "t3"]]


async def test_a_process_handles_its_jobs_one_at_a_time_when_bounded(services, tenant):
    """jobs_at_once (ENGAGE_BUS_JOBS_PER_WORKER): the process's jobs take turns; one whose event a running
    job took in ends without waiting for a turn."""
    running, most, handled = [0], [0], []
    gate, started = asyncio.Event(), asyncio.Event()

    async def slow(uow, tenant_id, event):
        running[0] += 1
        most[0] = max(most[0], running[0])
        started.set()
        await gate.wait()
        handled.extend(p.transaction_id for p in event.postings)
        running[0] -= 1

    bus = MessageBus(services.database, services.publisher, {TransactionsPosted: [EventHandler("slow", slow)]},
                     events_per_job=3, jobs_at_once=1)
    ids = await outbox(services, tenant, *(posted(f"t{n}") for n in range(1, 8)))
    first = asyncio.create_task(bus.process(ids[0]))
    await started.wait()  # the first job took t1-t3 and waits in its handler, holding the turn
    assert await asyncio.wait_for(bus.process(ids[1]), timeout=30) == 0
    others = [asyncio.create_task(bus.process(i)) for i in ids[2:]]
    await asyncio.sleep(0.1)
    gate.set()
    results = [await first, *[await job for job in others]]
    assert most[0] == 1 and sorted(handled) == sorted(f"t{n}" for n in range(1, 8))
    assert results[0] == 3 and sum(results) == 7
    assert all(row.processed_at is not None for row in await stored(services, TransactionsPosted))
