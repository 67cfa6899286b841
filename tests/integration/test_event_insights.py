"""EVENT insights: ingesting transactions through gRPC reaches the worker through the outbox and
generates LARGE_DEPOSIT, LARGE_WITHDRAWAL and LOW_BALANCE_WARNING items, once per period."""

import datetime as dt

from engage.insights.v1 import insights_service_pb2 as pb
from engage.subscriptions.v1 import subscriptions_service_pb2 as subs
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import amount_of, seed_accounts, stream, transaction


async def feed_of(stubs, customer_id: str) -> list[pb.FeedItem]:
    return list((await stubs.insights.GetFeed(pb.GetFeedRequest(customer_id=customer_id))).feed)


async def test_transactions_generate_event_insights(server, settings, tenant, service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    day = dt.date(2024, 5, 2)
    await service_stubs.ingest.IngestTransactions(stream([
        transaction("dep", "a1", "5000.00", "CREDIT", day),
        transaction("small", "a1", "20.00", "DEBIT", day),
        transaction("big", "a1", "4950.00", "DEBIT", day),  # leaves 30.00: large withdrawal and low balance
        transaction("tiny", "a1", "5.00", "DEBIT", day),  # still low, same day: no second warning
    ]))
    await run_worker(settings)
    items = {(i.insight_name, i.transaction.transaction_id) for i in await feed_of(service_stubs, "c1")}
    assert items == {("LARGE_DEPOSIT", "dep"), ("LARGE_WITHDRAWAL", "big"), ("LOW_BALANCE_WARNING", "big")}
    [warning] = [i for i in await feed_of(service_stubs, "c1") if i.insight_name == "LOW_BALANCE_WARNING"]
    assert amount_of(warning.transaction.balance) == "30.00"  # right after "big", as committed (not after "tiny")
    assert [(t.name, t.value) for t in warning.subscription.thresholds] == [("BALANCE", "100.00")]

    # Re-sending the batch is a duplicate: no event, no new item.
    await service_stubs.ingest.IngestTransactions(stream([transaction("dep", "a1", "5000.00", "CREDIT", day)]))
    await run_worker(settings)
    assert len(await feed_of(service_stubs, "c1")) == 3


async def test_thresholds_and_unsubscribing_apply_to_events(server, settings, tenant, service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await seed_accounts(service_stubs, "c2", "a2")
    await service_stubs.subscriptions.UpdateUserSubscriptions(subs.UpdateUserSubscriptionsRequest(
        customer_id="c1", user_subscription=[subs.InsightSubscription(
            insight_name="LARGE_DEPOSIT", user_configuration=[subs.Configuration(entity_type="ACCOUNT",
                                                                                 is_subscribed=False)])]))
    await service_stubs.subscriptions.UpdateUserSubscriptions(subs.UpdateUserSubscriptionsRequest(
        customer_id="c2", user_subscription=[subs.InsightSubscription(
            insight_name="LARGE_DEPOSIT", user_configuration=[subs.Configuration(
                entity_type="ACCOUNT", threshold=[subs.Threshold(name="AMOUNT", type="AMOUNT", value="10000")])])]))
    await service_stubs.ingest.IngestTransactions(stream([transaction("d1", "a1", "5000.00"),
                                                          transaction("d2", "a2", "5000.00"),
                                                          transaction("d3", "a2", "12000.00")]))
    await run_worker(settings)
    assert not [i for i in await feed_of(service_stubs, "c1") if i.insight_name == "LARGE_DEPOSIT"]
    assert [i.transaction.transaction_id for i in await feed_of(service_stubs, "c2")
            if i.insight_name == "LARGE_DEPOSIT"] == ["d3"]
