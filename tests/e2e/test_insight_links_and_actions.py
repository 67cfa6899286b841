"""SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE's feed items as the reference shows them: each account
with its link {entityName, url} from the bank's template, and the suggested action (move the excess
to savings) with its amount and accounts; evaluated on demand and by a batch on the worker, read
through the feed RPCs, the template set through the subscriptions RPCs and engagectl."""

import datetime as dt
import json

import grpc

from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as ingest
from engage.insights.v1 import insights_service_pb2 as pb
from engage.subscriptions.v1 import subscriptions_service_pb2 as subs
from server.domain.auth import Role
from tests.e2e.test_insights_savings import day, seed_reference_customer
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import account, amount_of, customer, failure

NAME = "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE"
AS_OF = dt.date(2021, 7, 1)


def links(item: pb.FeedItem) -> dict[str, tuple[str, str]]:
    return {a.account_id: (a.link.entity_name, a.link.url) for a in item.accounts}


def actions(item: pb.FeedItem) -> list[tuple[str, str, str, str, str]]:
    return [(a.action_type, amount_of(a.amount), a.amount.currency_code, a.from_account_id, a.to_account_id)
            for a in item.suggested_actions]


async def seed_current_account_only(stubs, customer_id: str) -> None:
    """One current account whose month ends are 1,000 / 1,000 / 2,000 EUR (Apr-Jun 2021): 50 % above
    its average as of 2021-07-01, with no savings account to move the 666.67 excess to."""
    await stubs.ingest.UpsertCustomer(ingest.UpsertCustomerRequest(customer=customer(customer_id)))
    await stubs.ingest.UpsertAccount(ingest.UpsertAccountRequest(account=account(
        f"{customer_id}-chk", customer_id, "EUR", type=ingest.ACCOUNT_TYPE_CHECKING, account_name="Current")))
    await stubs.ingest.RecordBalances(ingest.RecordBalancesRequest(balances=[
        ingest.DailyBalance(account_id=f"{customer_id}-chk", date=day(when), balance=money(amount, "EUR"))
        for when, amount in ((dt.date(2021, 4, 30), "1000.00"), (dt.date(2021, 5, 31), "1000.00"),
                             (dt.date(2021, 6, 30), "2000.00"))]))


async def test_feed_items_carry_account_links_and_the_move_to_savings(server, settings, tenant, service_stubs,
                                                                      engagectl):
    await seed_reference_customer(service_stubs, "u1")
    # The reference's sample: its link URL, and the 26,555.01 USD excess from the current account to savings.
    [item] = (await service_stubs.insights.TriggerInsights(pb.TriggerInsightsRequest(
        customer_id="u1", as_of=day(AS_OF)))).generated
    assert links(item) == {"u1-sav": ("account", "/accounts?accountId=u1-sav"),
                           "u1-oth": ("account", "/accounts?accountId=u1-oth"),
                           "u1-chk": ("account", "/accounts?accountId=u1-chk")}
    assert actions(item) == [("MOVE_EXCESS_TO_SAVINGS", "26555.01", "USD", "u1-chk", "u1-sav")]
    async with server.stubs(server.token(tenant, Role.USER, "u1")) as u1:
        [shown] = (await u1.insights.GetFeed(pb.GetFeedRequest(insight_names=[NAME]))).feed
    assert shown == item

    # The bank sets its own template, checked; a user cannot.
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as admin:
        for bad in ("/accounts", "ftp://bank.example/{accountId}", "/a/{accountId}/{customerId}",
                    "/accounts?id={accountId}&x=a b", "//evil.example/{accountId}"):
            code, reason, fields = await failure(admin.subscriptions.UpdateBankSubscriptions(
                subs.UpdateBankSubscriptionsRequest(customer_subscription=[subs.InsightSubscription(
                    insight_name=NAME, account_link_template=bad)])))
            assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "Y800",
                                              ["customerSubscription[0].accountLinkTemplate"]), bad
        default = await admin.subscriptions.GetBankSubscriptions(subs.GetBankSubscriptionsRequest(
            insight_names=[NAME]))
        assert default.customer_subscription[0].account_link_template == "/accounts?accountId={accountId}"
    code, reason, _ = await failure(service_stubs.subscriptions.UpdateUserSubscriptions(
        subs.UpdateUserSubscriptionsRequest(customer_id="u1", user_subscription=[subs.InsightSubscription(
            insight_name=NAME, account_link_template="/mine/{accountId}")])))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "Y800")
    changed = json.loads((await engagectl(
        "--json", "subscriptions", "set", "--insight", NAME,
        "--account-link-template", "https://app.yesbank.example/accounts/{accountId}?from=insights",
        token=server.token(tenant, Role.BANK_ADMIN, "ops"))).stdout)
    assert changed[0]["account_link_template"] == "https://app.yesbank.example/accounts/{accountId}?from=insights"

    # The monthly batch on the worker: the new template, and a customer with no savings account is
    # suggested the move all the same, to an account the bank's app offers (no destination).
    await seed_reference_customer(service_stubs, "u2")
    await seed_current_account_only(service_stubs, "u3")
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as admin:
        batch = await admin.insights.RunInsightBatch(pb.RunInsightBatchRequest(as_of=day(AS_OF)))
        await run_worker(settings)
        done = await admin.insights.GetInsightBatch(pb.GetInsightBatchRequest(name=batch.name))
    assert (done.state, done.users_evaluated, done.items_generated) == (pb.BATCH_STATE_SUCCEEDED, 3, 2)
    [u2_item] = (await service_stubs.insights.GetFeed(pb.GetFeedRequest(customer_id="u2"))).feed
    assert links(u2_item)["u2-chk"] == ("account", "https://app.yesbank.example/accounts/u2-chk?from=insights")
    assert actions(u2_item) == [("MOVE_EXCESS_TO_SAVINGS", "26555.01", "USD", "u2-chk", "u2-sav")]
    shown = json.loads((await engagectl("--json", "insights", "feed", "--customer", "u2",
                                        token=server.token(tenant))).stdout)
    assert {a["account_id"]: a["link"]["url"] for a in shown[0]["accounts"]}["u2-chk"] == \
        "https://app.yesbank.example/accounts/u2-chk?from=insights"
    assert [(a["action_type"], a["from_account_id"], a["to_account_id"]) for a in shown[0]["suggested_actions"]] == [
        ("MOVE_EXCESS_TO_SAVINGS", "u2-chk", "u2-sav")]
    [u3_item] = (await service_stubs.insights.GetFeed(pb.GetFeedRequest(customer_id="u3"))).feed
    assert [c.change_percent for c in u3_item.change_values] == ["50.00"]
    assert actions(u3_item) == [("MOVE_EXCESS_TO_SAVINGS", "666.67", "EUR", "u3-chk", "")]
    # u1's item keeps the link it was generated with.
    [u1_item] = (await service_stubs.insights.GetFeed(pb.GetFeedRequest(customer_id="u1"))).feed
    assert links(u1_item)["u1-chk"] == ("account", "/accounts?accountId=u1-chk")
