"""Bank defaults and user overrides through the real server: effective configuration, the
reference's warning (a bank change reaches only users who did not override), history, errors."""

import json

import grpc

from engage.ingest.v1 import ingest_service_pb2 as ingest
from engage.subscriptions.v1 import subscriptions_service_pb2 as pb
from server.domain.auth import Role
from tests.support.builders import customer, failure

SAVINGS = "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE"


def bank_update(**configuration) -> pb.UpdateBankSubscriptionsRequest:
    return pb.UpdateBankSubscriptionsRequest(customer_subscription=[pb.InsightSubscription(
        insight_name=SAVINGS, customer_configuration=[pb.Configuration(entity_type="ACCOUNT", **configuration)])])


def user_update(customer_id: str, **configuration) -> pb.UpdateUserSubscriptionsRequest:
    return pb.UpdateUserSubscriptionsRequest(customer_id=customer_id, user_subscription=[pb.InsightSubscription(
        insight_name=SAVINGS, user_configuration=[pb.Configuration(entity_type="ACCOUNT", **configuration)])])


def change(value: str) -> pb.Threshold:
    return pb.Threshold(name="CHANGE", type="PERCENT", value=value)


def effective(response: pb.UserSubscriptions) -> tuple[bool, str, str]:
    [subscription] = response.user_subscription
    [mine] = subscription.user_configuration
    return mine.is_subscribed, mine.duration, mine.threshold[0].value


async def test_bank_defaults_reach_users_who_did_not_override(server, tenant, service_stubs):
    await service_stubs.ingest.BatchUpsertCustomers(ingest.BatchUpsertCustomersRequest(
        customers=[customer("alice"), customer("bob")]))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as admin:
        defaults = await admin.subscriptions.GetBankSubscriptions(pb.GetBankSubscriptionsRequest(
            insight_names=[SAVINGS]))
        [savings] = defaults.customer_subscription
        [bank] = savings.customer_configuration
        assert (savings.insight_title, bank.duration, bank.frequency, bank.threshold[0].value, bank.is_subscribed) == \
            ("Savings increased compared to historical average", "LAST_THREE_MONTHS", "MONTHLY", "10.00", True)

        # Alice overrides the threshold only; Bob overrides nothing.
        await service_stubs.subscriptions.UpdateUserSubscriptions(user_update("alice", threshold=[change("25")]))
        await admin.subscriptions.UpdateBankSubscriptions(bank_update(duration="LAST_SIX_MONTHS",
                                                                      threshold=[change("11")]))
        alice = await service_stubs.subscriptions.GetUserSubscriptions(
            pb.GetUserSubscriptionsRequest(customer_id="alice", insight_names=[SAVINGS]))
        bob = await service_stubs.subscriptions.GetUserSubscriptions(
            pb.GetUserSubscriptionsRequest(customer_id="bob", insight_names=[SAVINGS]))
        # The bank's duration reaches both; its threshold only Bob, who did not override it.
        assert effective(alice)[1:] == ("LAST_SIX_MONTHS", "25")
        assert effective(bob)[1:] == ("LAST_SIX_MONTHS", "11")
        # Get returns the bank's configuration beside the user's.
        assert alice.user_subscription[0].customer_configuration[0].threshold[0].value == "11"

        # Bank-level isSubscribed=false unsubscribes everyone, overrides or not.
        await service_stubs.subscriptions.UpdateUserSubscriptions(user_update("alice", is_subscribed=True))
        await admin.subscriptions.UpdateBankSubscriptions(bank_update(is_subscribed=False))
        for user in ("alice", "bob"):
            response = await service_stubs.subscriptions.GetUserSubscriptions(
                pb.GetUserSubscriptionsRequest(customer_id=user, insight_names=[SAVINGS]))
            assert effective(response)[0] is False

        history = await admin.subscriptions.ListSubscriptionChanges(pb.ListSubscriptionChangesRequest())
        assert [(c.customer_id, c.changed_by_role) for c in history.changes] == \
            [("", "bank_admin"), ("alice", "service"), ("", "bank_admin"), ("alice", "service")]
        latest = history.changes[0]
        assert json.loads(latest.before_json) == {"duration": "LAST_SIX_MONTHS", "thresholds": {"CHANGE": "11"}}
        assert json.loads(latest.after_json)["isSubscribed"] is False
        assert latest.changed_by == "ops"
        paged, token = [], ""
        while True:  # the change ids in the tokens page through, one at a time
            page = await admin.subscriptions.ListSubscriptionChanges(pb.ListSubscriptionChangesRequest(
                page_size=1, page_token=token))
            paged += page.changes
            token = page.next_page_token
            if not token:
                break
        assert paged == list(history.changes)


async def test_user_token_reaches_only_its_own_subscriptions(server, tenant, service_stubs):
    await service_stubs.ingest.BatchUpsertCustomers(ingest.BatchUpsertCustomersRequest(
        customers=[customer("alice"), customer("bob")]))
    async with server.stubs(server.token(tenant, Role.USER, "alice")) as alice:
        await alice.subscriptions.UpdateUserSubscriptions(user_update("", duration="LAST_TWELVE_MONTHS"))
        mine = await alice.subscriptions.GetUserSubscriptions(pb.GetUserSubscriptionsRequest(insight_names=[SAVINGS]))
        assert effective(mine)[1] == "LAST_TWELVE_MONTHS"
        code, reason, _ = await failure(alice.subscriptions.UpdateUserSubscriptions(user_update("bob",
                                                                                                 is_subscribed=False)))
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_YOUR_DATA")
        code, _, _ = await failure(alice.subscriptions.UpdateBankSubscriptions(bank_update(is_subscribed=False)))
        assert code == grpc.StatusCode.PERMISSION_DENIED


async def test_validation_errors_carry_the_reference_codes_and_write_nothing(server, tenant, service_stubs):
    await service_stubs.ingest.UpsertCustomer(ingest.UpsertCustomerRequest(customer=customer("alice")))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as admin:
        cases = [
            (pb.UpdateBankSubscriptionsRequest(), "Y825"),
            (bank_update(threshold=[change("500.01")]), "Y800"),
            (bank_update(frequency="DAILY"), "Y802"),
            (pb.UpdateBankSubscriptionsRequest(customer_subscription=[pb.InsightSubscription(
                insight_name=SAVINGS, insight_title="<b>")]), "Y800"),
            (pb.UpdateBankSubscriptionsRequest(customer_subscription=[pb.InsightSubscription(
                insight_name=SAVINGS, insight_title="ab")]), "Y801"),
            (pb.UpdateBankSubscriptionsRequest(customer_subscription=[pb.InsightSubscription(
                insight_title="Fine title")]), "Y812"),
            (bank_update(threshold=[pb.Threshold(name="CHANGE", value="5")]), "Y813"),
            # One valid element and one invalid: nothing of the request is written.
            (pb.UpdateBankSubscriptionsRequest(customer_subscription=[
                bank_update(duration="LAST_SIX_MONTHS").customer_subscription[0],
                pb.InsightSubscription(insight_name="NO_SUCH_INSIGHT", insight_title="Fine title")]), "Y800"),
        ]
        for request, code in cases:
            status, reason, _ = await failure(admin.subscriptions.UpdateBankSubscriptions(request))
            assert (status, reason) == (grpc.StatusCode.INVALID_ARGUMENT, code), request
        status, reason, _ = await failure(service_stubs.subscriptions.UpdateUserSubscriptions(
            user_update("alice", entity_id="acc-1", duration="LAST_SIX_MONTHS")))
        assert (status, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "Y802")
        assert not (await admin.subscriptions.ListSubscriptionChanges(pb.ListSubscriptionChangesRequest())).changes
        defaults = await admin.subscriptions.GetBankSubscriptions(pb.GetBankSubscriptionsRequest(
            insight_names=[SAVINGS]))
        assert defaults.customer_subscription[0].customer_configuration[0].duration == "LAST_THREE_MONTHS"
