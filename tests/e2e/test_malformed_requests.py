"""Every RPC of every service, called with requests of any shape by each role: none may end in INTERNAL
(a fault of ours) or hang; bad input gets a clear status. When written, it found NUL characters in any
string on PostgreSQL and out-of-range Timestamps, both answered INTERNAL before."""

import base64
import datetime as dt
import random

import grpc
import pytest
from google.protobuf import message_factory

from engage.engagement.v1 import engagement_service_pb2
from engage.goals.v1 import goals_service_pb2
from engage.ingest.v1 import ingest_service_pb2
from engage.insights.v1 import insights_service_pb2
from engage.journeys.v1 import journeys_service_pb2
from engage.operations.v1 import operations_service_pb2
from engage.personas.v1 import personas_service_pb2
from engage.products.v1 import products_service_pb2
from engage.reporting.v1 import reporting_service_pb2
from engage.subscriptions.v1 import subscriptions_service_pb2
from engage.triggers.v1 import (
    bank_notifications_service_pb2,
    banners_service_pb2,
    offers_service_pb2,
    trigger_rules_service_pb2,
)
from server.domain.auth import Role
from server.domain.triggers.notifications import NewBankNotification
from server.domain.triggers.records import Banner, FiringRecord
from server.store.uow import UnitOfWork
from tests.support.builders import account
from tests.support.offers import create_recommendation
from tests.support.products import approved_reference_loan, define_pricing_attributes, terms_json
from tests.support.random_messages import STRINGS, random_message
from tests.support.triggers import CONDITION, low_balance_rule
from tests.support.yes_bank import add_customer, set_up_yes_bank

SERVICES = ((engagement_service_pb2, "engagement"), (ingest_service_pb2, "ingest"), (insights_service_pb2, "insights"),
            (subscriptions_service_pb2, "subscriptions"), (operations_service_pb2, "operations"),
            (goals_service_pb2, "goals"), (personas_service_pb2, "personas"), (products_service_pb2, "products"),
            (offers_service_pb2, "offers"),
            (journeys_service_pb2, "journeys"), (bank_notifications_service_pb2, "bank_notifications"),
            (trigger_rules_service_pb2, "trigger_rules"), (banners_service_pb2, "banners"),
            (reporting_service_pb2, "reporting"))
CALLS_PER_METHOD_AND_ROLE = 6
# JSON nested past what Python's parser recurses through, where requests carry JSON: page tokens (base64)
# and an FCM service account (with the words that make a configuration one).
NESTED = ["[" * 100_000, base64.urlsafe_b64encode(b"[" * 100_000).decode(), "fcm", "service_account_json"]
OUR_FAULTS = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED)


async def _call(method, call, request, rng, strings):
    if method.client_streaming:
        requests = [request, *(random_message(type(request), rng, strings) for _ in range(rng.randint(0, 2)))]

        async def each():
            for item in requests:
                yield item

        answer = call(each(), timeout=20)
    else:
        answer = call(request, timeout=20)
    if method.server_streaming:
        async for _ in answer:
            pass
    else:
        await answer


@pytest.mark.parametrize("seed", range(10))
async def test_no_request_is_answered_with_a_fault_of_ours(server, tenant, service_stubs, smtp_sink, provider_sink,
                                                          seed):
    rng = random.Random(seed)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin, \
            server.stubs(server.token(tenant, Role.USER, "lisa-customer")) as user:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
        await service_stubs.goals.EnrollInGoals(goals_service_pb2.EnrollInGoalsRequest(
            parent="customers/lisa-customer", account_id="lisa-customer-chk"))
        goal = await service_stubs.goals.CreateGoal(goals_service_pb2.CreateGoalRequest(
            parent="customers/lisa-customer", goal=goals_service_pb2.Goal(
                display_name="Holiday", category=goals_service_pb2.GOAL_CATEGORY_TRAVEL,
                target={"currency_code": "CZK", "units": 1000})))
        # A funding programme with one transfer, from a second account of the customer.
        await service_stubs.ingest.UpsertAccount(ingest_service_pb2.UpsertAccountRequest(account=account(
            "lisa-customer-sav", "lisa-customer", "CZK")))
        programme = await service_stubs.goals.CreateFundingProgramme(goals_service_pb2.CreateFundingProgrammeRequest(
            parent=goal.name, funding_programme=goals_service_pb2.FundingProgramme(
                source_account_id="lisa-customer-sav", fixed_schedule=goals_service_pb2.FixedSchedule(
                    frequency=goals_service_pb2.SCHEDULE_FREQUENCY_WEEKLY,
                    start_date={"year": 2024, "month": 1, "day": 1}, amount={"currency_code": "CZK", "units": 50}))))
        [transfer] = await server.services.goal_funding.plan_tenant(tenant, dt.date(2024, 1, 1))
        await admin.personas.CreateAttributeDefinition(personas_service_pb2.CreateAttributeDefinitionRequest(
            attribute_definition_id="IsGlobetrotter", attribute_definition=personas_service_pb2.AttributeDefinition(
                type=personas_service_pb2.ATTRIBUTE_TYPE_BOOL)))
        await admin.personas.CreatePersona(personas_service_pb2.CreatePersonaRequest(
            persona_id="globetrotter",
            persona=personas_service_pb2.Persona(display_name="G", expression="IsGlobetrotter")))
        await admin.personas.CreateAudience(personas_service_pb2.CreateAudienceRequest(
            audience_id="travellers", audience=personas_service_pb2.Audience(
                display_name="T", definition=personas_service_pb2.AudienceDefinition(
                    include=["personas/globetrotter"], mode=personas_service_pb2.AUDIENCE_MODE_ANY))))
        await admin.journeys.CreateJourney(journeys_service_pb2.CreateJourneyRequest(
            journey_id="travel", journey=journeys_service_pb2.Journey(display_name="T", steps=[
                journeys_service_pb2.Step(id="ask", captures=["IsGlobetrotter"], rules=[journeys_service_pb2.FlowRule(
                    expression="persona_globetrotter", route=journeys_service_pb2.Route(step="done"))],
                    default_route=journeys_service_pb2.Route(step="done")),
                journeys_service_pb2.Step(id="done", end=True)])))
        journey_instance = (await service_stubs.journeys.StartJourney(journeys_service_pb2.StartJourneyRequest(
            parent="customers/lisa-customer", journey="journeys/travel"))).name
        await define_pricing_attributes(admin)
        async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "approver")) as approver:
            loan = (await approved_reference_loan(admin, approver)).product_version.name
        # An offer recommendation of the loan and a suggestion of it, pending.
        await create_recommendation(admin, criteria="NOT holds('LOAN')", product="products/personal-loan")
        await admin.offers.RunOfferRecommendations(offers_service_pb2.RunOfferRecommendationsRequest())
        suggestion = (await admin.offers.ListSuggestedOffers(offers_service_pb2.ListSuggestedOffersRequest()))\
            .suggested_offers[0].name
        async with UnitOfWork(server.services.database, tenant) as uow:  # what a trigger rule's firing makes
            notified = await server.services.bank_notifications.notify(uow, [NewBankNotification(
                "low_balance", 1, "f1", "lisa-customer", "lisa-customer-chk", "call", {"balance": "-1.00"})])
            await uow.commit()
        notification = f"bankNotifications/{notified.notifications[0].notification_id}"
        # A trigger rule pending approval, a firing of it and the banner it made.
        await admin.trigger_rules.CreateTriggerRule(trigger_rules_service_pb2.CreateTriggerRuleRequest(
            trigger_rule=low_balance_rule(), trigger_rule_id="low_balance"))
        await admin.trigger_rules.SubmitTriggerRule(trigger_rules_service_pb2.SubmitTriggerRuleRequest(
            name="triggerRules/low_balance"))
        now = dt.datetime.now(dt.UTC)
        async with UnitOfWork(server.services.database, tenant) as uow:
            await uow.trigger_firings.add_firings([FiringRecord(
                "f1", "low_balance", 1, "lisa-customer", "lisa-customer-chk", now, None, "day:x", {"balance": "1"})])
            await uow.banners.add_banners([Banner("b1", "lisa-customer", "t", "b", "l", "https://bank.example", now,
                                                  now + dt.timedelta(days=1), rule_id="low_balance", version=1)])
            await uow.commit()
        # A credit card with a statement, a scheduled payment and a payment alert (payment reminders).
        await service_stubs.ingest.UpsertAccount(ingest_service_pb2.UpsertAccountRequest(account=account(
            "lisa-customer-card", "lisa-customer", "CZK", type=ingest_service_pb2.ACCOUNT_TYPE_CREDIT)))
        await service_stubs.ingest.BatchUpsertStatements(ingest_service_pb2.BatchUpsertStatementsRequest(statements=[
            ingest_service_pb2.Statement(statement_id="st-1", account_id="lisa-customer-card",
                                         statement_date={"year": 2024, "month": 3, "day": 1},
                                         due_date={"year": 2024, "month": 3, "day": 20},
                                         minimum_due={"currency_code": "CZK", "units": 500},
                                         statement_balance={"currency_code": "CZK", "units": 5000})]))
        await service_stubs.ingest.BatchUpsertScheduledPayments(ingest_service_pb2.BatchUpsertScheduledPaymentsRequest(
            scheduled_payments=[ingest_service_pb2.ScheduledPayment(
                payment_id="pay-1", account_id="lisa-customer-card", amount={"currency_code": "CZK", "units": 500},
                scheduled_date={"year": 2024, "month": 3, "day": 18},
                state=ingest_service_pb2.SCHEDULED_PAYMENT_STATE_SCHEDULED)]))
        payment_alert = (await admin.engagement.CreatePaymentAlert(engagement_service_pb2.CreatePaymentAlertRequest(
            payment_alert=engagement_service_pb2.PaymentAlert(
                event=bank.event, kind=engagement_service_pb2.PAYMENT_ALERT_KIND_OVERDUE)))).name
        # Names and ids that exist, so that calls get past "not found" into the code behind it.
        strings = [*STRINGS, *NESTED, bank.app, bank.event, bank.notice_event, bank.email_config, bank.sms_config,
                   bank.event_type, "lisa-customer", "lisa-customer-chk", "customers/lisa-customer",
                   "accounts/lisa-customer-chk", goal.name, "customers/lisa-customer/goalsEnrolment",
                   programme.name, f"{programme.name}/transfers/{transfer.transfer_id}", "lisa-customer-sav"]
        strings += ["lisa-customer-card", "accounts/lisa-customer-card", "st-1", "pay-1", payment_alert]
        # Only the personas calls draw from these: the other services' requests stay as they were.
        strings_of = {"personas": [*strings, "IsGlobetrotter", "attributeDefinitions/IsGlobetrotter",
                                   "personas/globetrotter", "customers/lisa-customer/attributes",
                                   "audiences/travellers"],
                      "offers": [*strings, "offerRecommendations/rich_savers", suggestion, "products/personal-loan",
                                 "avg_collected_balance >= 2500", "personas/globetrotter", "audiences/travellers",
                                 "https://bank.example/offer"],
                      "products": [*strings, "products/personal-loan", loan, "products/personal-loan/versions/2",
                                   terms_json(), "EUR", "terms_json"],
                      "journeys": [*strings, "journeys/travel", journey_instance, "ask", "done", "IsGlobetrotter"],
                      "bank_notifications": [*strings, notification, f"https://127.0.0.1:{provider_sink.port}/hook",
                                             provider_sink.base_url, "x" * 40],
                      "trigger_rules": [*strings, "triggerRules/low_balance", "triggerRules/low_balance/firings/f1",
                                        "low_balance", CONDITION, "balance < 0", "https://bank.example/x",
                                        "personas/globetrotter", "audiences/travellers", "products/personal-loan",
                                        "display_name", "condition", "actions", "cooldown", "active_until"],
                      "banners": [*strings, "customers/lisa-customer/banners/b1"]}
        faults = []
        for module, stub_name in SERVICES:
            for service in module.DESCRIPTOR.services_by_name.values():
                for method in service.methods:
                    request_class = message_factory.GetMessageClass(method.input_type)
                    for stubs in (admin, service_stubs, user):
                        call = getattr(getattr(stubs, stub_name), method.name)
                        for _ in range(CALLS_PER_METHOD_AND_ROLE):
                            some = strings_of.get(stub_name, strings)
                            request = random_message(request_class, rng, some)
                            try:
                                await _call(method, call, request, rng, some)
                            except grpc.aio.AioRpcError as error:
                                if error.code() in OUR_FAULTS:
                                    faults.append((method.full_name, error.code().name, str(request)[:300]))
    assert faults == []
