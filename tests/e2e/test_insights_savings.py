"""SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE through the real server: the reference's sample
figures, the duplicate check across batch and on-demand trigger, feed and interactions."""

import datetime as dt

import grpc

from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as ingest
from engage.insights.v1 import insights_service_pb2 as pb
from engage.type.v1 import date_pb2
from server.domain.auth import Role
from tests.support.builders import account, amount_of, customer, failure


def day(value: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


async def seed_reference_customer(stubs, customer_id: str = "u1") -> None:
    """Three bank accounts whose month-end totals are 210,000.00 / 210,444.95 / 250,054.99 (Apr-Jun
    2021): as of 2021-07-01 the total is 250,054.99 and the 3-month average 223,499.98."""
    await stubs.ingest.UpsertCustomer(ingest.UpsertCustomerRequest(customer=customer(customer_id)))
    accounts = [("sav", ingest.ACCOUNT_TYPE_SAVINGS, "PDV Test Data- Account Balance"),
                ("oth", ingest.ACCOUNT_TYPE_OTHER, "PDV Test Data- All Category"),
                ("chk", ingest.ACCOUNT_TYPE_CHECKING, "PDV_Test_Data_Sch/Ref")]
    for suffix, kind, name in accounts:
        await stubs.ingest.UpsertAccount(ingest.UpsertAccountRequest(account=account(
            f"{customer_id}-{suffix}", customer_id, "USD", type=kind, provider_name="Dag Site", account_name=name)))
    month_ends = {dt.date(2021, 4, 30): ("100000.00", "60000.00", "50000.00"),
                  dt.date(2021, 5, 31): ("100000.00", "60444.95", "50000.00"),
                  dt.date(2021, 6, 30): ("120000.00", "70054.99", "60000.00")}
    balances = [ingest.DailyBalance(account_id=f"{customer_id}-{suffix}", date=day(when),
                                    balance=money(amount, "USD"))
                for when, amounts in month_ends.items()
                for (suffix, _, _), amount in zip(accounts, amounts, strict=True)]
    # A credit card is not savings: its (negative) balance must not count.
    await stubs.ingest.UpsertAccount(ingest.UpsertAccountRequest(account=account(
        f"{customer_id}-cc", customer_id, "USD", type=ingest.ACCOUNT_TYPE_CREDIT,
        container=ingest.CONTAINER_CREDIT_CARD)))
    balances.append(ingest.DailyBalance(account_id=f"{customer_id}-cc", date=day(dt.date(2021, 6, 30)),
                                        balance=money("-5000.00", "USD")))
    recorded = await stubs.ingest.RecordBalances(ingest.RecordBalancesRequest(balances=balances))
    assert recorded.rejected_count == 0


async def test_reference_sample_figures_come_out_exactly(server, tenant, service_stubs):
    await seed_reference_customer(service_stubs)
    response = await service_stubs.insights.TriggerInsights(pb.TriggerInsightsRequest(
        customer_id="u1", as_of=day(dt.date(2021, 7, 1))))
    [item] = response.generated
    assert item.insight_name == "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE"
    assert item.insight_title == "Savings increased compared to historical average"
    assert (item.insight_type, item.trigger_type) == (pb.INSIGHT_TYPE_AGGREGATE, pb.TRIGGER_TYPE_SCHEDULE)
    assert amount_of(item.account_derived.total_available_balance) == "250054.99"
    assert amount_of(item.account_derived.average_available_balance) == "223499.98"
    [change] = item.change_values
    assert (change.change_type, amount_of(change.change_amount), change.change_percent) == \
        ("SAVINGS_AMOUNT", "26555.01", "11.88")
    assert change.change_amount.currency_code == "USD"
    assert sorted(a.account_id for a in item.accounts) == ["u1-chk", "u1-oth", "u1-sav"]
    assert item.subscription.duration == pb.DURATION_LAST_THREE_MONTHS
    assert [(t.name, t.value) for t in item.subscription.thresholds] == [("CHANGE", "10.00")]
    assert item.period == "2021-07"


async def test_trigger_later_in_the_month_is_a_duplicate(server, tenant, service_stubs):
    await seed_reference_customer(service_stubs)
    first = await service_stubs.insights.TriggerInsights(pb.TriggerInsightsRequest(
        customer_id="u1", as_of=day(dt.date(2021, 7, 1))))
    again = await service_stubs.insights.TriggerInsights(pb.TriggerInsightsRequest(
        customer_id="u1", as_of=day(dt.date(2021, 7, 3))))
    assert len(first.generated) == 1 and len(again.generated) == 0
    async with server.stubs(server.token(tenant, Role.USER, "u1")) as user:
        feed = await user.insights.GetFeed(pb.GetFeedRequest())
        assert [i.feed_item_id for i in feed.feed] == [first.generated[0].feed_item_id]
        item_name = feed.feed[0].name
        await user.insights.RecordInteraction(pb.RecordInteractionRequest(feed_item=item_name,
                                                                          type=pb.INTERACTION_TYPE_VIEWED))
        assert (await user.insights.GetFeed(pb.GetFeedRequest())).feed[0].last_interaction == \
            pb.INTERACTION_TYPE_VIEWED
        await user.insights.RecordInteraction(pb.RecordInteractionRequest(feed_item=item_name,
                                                                          type=pb.INTERACTION_TYPE_DISMISSED))
        assert not (await user.insights.GetFeed(pb.GetFeedRequest())).feed
        code, reason, _ = await failure(user.insights.GetFeed(pb.GetFeedRequest(customer_id="someone-else")))
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_YOUR_DATA")


async def test_catalogue_lists_every_insight(service_stubs):
    listed = await service_stubs.insights.ListInsightDefinitions(pb.ListInsightDefinitionsRequest())
    names = [d.insight_name for d in listed.insight_definitions]
    assert names[0] == "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE" and len(names) >= 4
    savings = listed.insight_definitions[0]
    assert [(t.name, t.minimum, t.maximum, t.default_value) for t in savings.thresholds] == \
        [("CHANGE", "0.00", "500.00", "10.00")]


async def test_leap_february_and_an_account_opened_mid_duration(server, tenant, service_stubs):
    await service_stubs.ingest.UpsertCustomer(ingest.UpsertCustomerRequest(customer=customer("u2")))
    for account_id in ("old", "new"):
        await service_stubs.ingest.UpsertAccount(ingest.UpsertAccountRequest(account=account(
            account_id, "u2", "EUR", type=ingest.ACCOUNT_TYPE_SAVINGS)))
    rows = [("old", dt.date(2023, 12, 31), "100"), ("old", dt.date(2024, 1, 31), "100"),
            ("old", dt.date(2024, 2, 28), "700"), ("old", dt.date(2024, 2, 29), "100"),
            # Opened on 10 February: it counts 0 for December and January.
            ("new", dt.date(2024, 2, 10), "50"), ("new", dt.date(2024, 2, 29), "300"),
            # After the as-of date: must not count.
            ("new", dt.date(2024, 3, 1), "9000")]
    await service_stubs.ingest.RecordBalances(ingest.RecordBalancesRequest(balances=[
        ingest.DailyBalance(account_id=a, date=day(d), balance=money(v, "EUR")) for a, d, v in rows]))
    response = await service_stubs.insights.TriggerInsights(pb.TriggerInsightsRequest(
        customer_id="u2", as_of=day(dt.date(2024, 3, 1))))
    [item] = response.generated
    assert amount_of(item.account_derived.total_available_balance) == "400.00"
    assert amount_of(item.account_derived.average_available_balance) == "200.00"  # (100 + 100 + 400) / 3
    assert (amount_of(item.change_values[0].change_amount), item.change_values[0].change_percent) == \
        ("200.00", "100.00")
    assert item.period == "2024-03"


async def test_an_evaluation_as_of_a_date_with_no_months_before_it_is_refused(server, tenant, service_stubs):
    """As of 0001-02-01 there is no month end a year back: it was INTERNAL on demand, and in a batch a
    chunk job failing on every try."""
    await seed_reference_customer(service_stubs)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        for call in (service_stubs.insights.TriggerInsights(pb.TriggerInsightsRequest(
                         customer_id="u1", as_of=day(dt.date(1, 2, 1)))),
                     admin.insights.RunInsightBatch(pb.RunInsightBatchRequest(as_of=day(dt.date(1899, 12, 31))))):
            code, reason, fields = await failure(call)
            assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "AS_OF_OUT_OF_RANGE", ["as_of"])
        await service_stubs.insights.TriggerInsights(pb.TriggerInsightsRequest(
            customer_id="u1", as_of=day(dt.date(1900, 1, 1))))
        await admin.insights.RunInsightBatch(pb.RunInsightBatchRequest(as_of=day(dt.date(9999, 12, 31))))
