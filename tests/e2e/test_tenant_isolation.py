"""A bank never sees another bank's data: NOT_FOUND for its resources, absent from lists."""

import datetime as dt
import uuid

import grpc

from engage.engagement.v1 import engagement_service_pb2 as engagement
from engage.goals.v1 import goals_service_pb2 as goals
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.journeys.v1 import journeys_service_pb2 as journeys
from engage.personas.v1 import personas_service_pb2 as personas
from engage.products.v1 import products_service_pb2 as products
from engage.triggers.v1 import bank_notifications_service_pb2 as notifications
from engage.triggers.v1 import banners_service_pb2 as banners
from engage.triggers.v1 import offers_service_pb2 as offers
from engage.triggers.v1 import trigger_rules_service_pb2 as rules
from server.domain.auth import Role
from server.domain.triggers.notifications import NewBankNotification
from server.domain.triggers.records import Banner, FiringRecord
from server.store.uow import UnitOfWork
from tests.e2e.test_payment_alerts import payment as scheduled_payment
from tests.e2e.test_payment_alerts import statement as due_statement
from tests.integration.test_domain_events import run_worker_until_idle
from tests.support.builders import amount_of, failure, seed_accounts, stream, transaction
from tests.support.goal_reports import seed_goal_reports
from tests.support.offers import add_customers as add_offer_customers
from tests.support.offers import add_product, create_recommendation, derive_attributes
from tests.support.products import add_customer as add_loan_customer
from tests.support.products import approved_reference_loan, define_reference_facts, quote_request, terms_json
from tests.support.triggers import low_balance_rule
from tests.support.yes_bank import published_app


async def test_other_tenants_resources_are_not_found_and_never_listed(server, services, tenant, service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "10.00")]))
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id

    async with server.stubs(server.token(other)) as intruder:
        for call in (intruder.ingest.GetAccount(pb.GetAccountRequest(name="accounts/a1")),
                     intruder.ingest.GetCustomer(pb.GetCustomerRequest(name="customers/c1")),
                     intruder.ingest.ListTransactions(pb.ListTransactionsRequest(parent="accounts/a1")),
                     intruder.ingest.ListBalances(pb.ListBalancesRequest(parent="accounts/a1"))):
            assert (await failure(call))[0] == grpc.StatusCode.NOT_FOUND
        assert not (await intruder.ingest.ListAccounts(pb.ListAccountsRequest())).accounts
        assert not (await intruder.ingest.ListCustomers(pb.ListCustomersRequest())).customers
        # Writing into another bank's account is impossible: for this tenant it does not exist.
        response = await intruder.ingest.IngestTransactions(stream([transaction("t2", "a1", "5.00")]))
        assert (response.accepted_count, response.rejected[0].reason) == (0, "UNKNOWN_ACCOUNT")

        # The same ids are free for the other bank and stay separate.
        await seed_accounts(intruder, "c1", "a1")
        response = await intruder.ingest.IngestTransactions(stream([transaction("t1", "a1", "3.00")]))
        assert response.accepted_count == 1
        theirs = await intruder.ingest.GetAccount(pb.GetAccountRequest(name="accounts/a1"))
    ours = await service_stubs.ingest.GetAccount(pb.GetAccountRequest(name="accounts/a1"))
    assert (amount_of(ours.current_balance), amount_of(theirs.current_balance)) == ("10.00", "3.00")


async def test_another_banks_fallback_policies_and_app_push_configs_are_not_found(server, services, tenant):
    from engage.engagement.v1 import engagement_service_pb2 as epb

    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        app = await admin.engagement.CreateApp(epb.CreateAppRequest(app=epb.App(
            display_name="Wallet", category="BANKING", platforms=[epb.PLATFORM_ANDROID])))
        kind = await admin.engagement.CreateEventType(epb.CreateEventTypeRequest(event_type=epb.EventType(
            display_name="Payments", fallback_policy=epb.FallbackPolicy(steps=[
                epb.FallbackStep(channel=epb.CHANNEL_PUSH, wait={"seconds": 600}),
                epb.FallbackStep(channel=epb.CHANNEL_SMS)]))))
        config = await admin.engagement.CreateChannelConfig(epb.CreateChannelConfigRequest(
            channel_config=epb.ChannelConfig(channel=epb.CHANNEL_PUSH, provider="fcm", app=app.name,
                                             settings={"project_id": "wallet"}, secrets={"access_token": "t"})))
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as intruder:
        e = intruder.engagement
        assert (await failure(e.UpdateEventType(epb.UpdateEventTypeRequest(
            event_type=epb.EventType(name=kind.name), update_mask={"paths": ["fallback_policy"]}))))[:2] == \
            (grpc.StatusCode.NOT_FOUND, "EVENT_TYPE_NOT_FOUND")
        # Another bank's app cannot be given credentials, nor another bank's configuration bound.
        assert (await failure(e.CreateChannelConfig(epb.CreateChannelConfigRequest(channel_config=epb.ChannelConfig(
            channel=epb.CHANNEL_PUSH, provider="fcm", app=app.name, settings={"project_id": "x"},
            secrets={"access_token": "t"})))))[:2] == (grpc.StatusCode.NOT_FOUND, "APP_NOT_FOUND")
        assert (await failure(e.UpdateChannelConfig(epb.UpdateChannelConfigRequest(
            channel_config=epb.ChannelConfig(name=config.name), update_mask={"paths": ["app"]}))))[:2] == \
            (grpc.StatusCode.NOT_FOUND, "CHANNEL_CONFIG_NOT_FOUND")
        assert not (await e.ListEventTypes(epb.ListEventTypesRequest())).event_types
        assert not (await e.ListChannelConfigs(epb.ListChannelConfigsRequest())).channel_configs
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        [ours] = (await admin.engagement.ListEventTypes(epb.ListEventTypesRequest())).event_types
        assert ours.fallback_policy == kind.fallback_policy
        assert (await admin.engagement.GetChannelConfig(epb.GetChannelConfigRequest(name=config.name))).app == \
            app.name


async def test_other_tenants_goals_are_not_found_and_never_listed(server, services, tenant, service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.goals.EnrollInGoals(goals.EnrollInGoalsRequest(parent="customers/c1", account_id="a1"))
    ours = await service_stubs.goals.CreateGoal(goals.CreateGoalRequest(parent="customers/c1", goal=goals.Goal(
        display_name="Holiday", category=goals.GOAL_CATEGORY_TRAVEL, target={"currency_code": "EUR", "units": 100})))
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id

    async with server.stubs(server.token(other)) as intruder:
        enrolment = "customers/c1/goalsEnrolment"
        for call in (intruder.goals.GetGoalsEnrolment(goals.GetGoalsEnrolmentRequest(name=enrolment)),
                     intruder.goals.GetGoal(goals.GetGoalRequest(name=ours.name)),
                     intruder.goals.ListGoals(goals.ListGoalsRequest(parent="customers/c1")),
                     intruder.goals.ListHistoryEntries(goals.ListHistoryEntriesRequest(parent="customers/c1")),
                     intruder.goals.DeleteGoal(goals.DeleteGoalRequest(name=ours.name)),
                     intruder.goals.CancelGoalsEnrolment(goals.CancelGoalsEnrolmentRequest(name=enrolment))):
            assert (await failure(call))[0] == grpc.StatusCode.NOT_FOUND
        # The same customer id in the other bank enrols on its own, with its own account, and has no goals.
        await seed_accounts(intruder, "c1", "a1")
        await intruder.goals.EnrollInGoals(goals.EnrollInGoalsRequest(parent="customers/c1", account_id="a1"))
        assert not (await intruder.goals.ListGoals(goals.ListGoalsRequest(parent="customers/c1",
                                                                          show_archived=True))).goals
    assert (await service_stubs.goals.GetGoal(goals.GetGoalRequest(name=ours.name))).state == goals.GOAL_STATE_ACTIVE


async def test_another_banks_goals_never_appear_in_its_reporting_views(server, services, tenant):
    await seed_goal_reports(services.database, tenant)
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as intruder:
        for call in (intruder.goals.ListGoalReportRows(goals.ListGoalReportRowsRequest(customer_id="c1")),
                     intruder.goals.ListCustomerHistoryReportRows(goals.ListCustomerHistoryReportRowsRequest()),
                     intruder.goals.ListTransferReportRows(goals.ListTransferReportRowsRequest(customer_id="c1"))):
            response = await call
            assert (list(response.rows), response.next_page_token) == ([], "")
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as ours:
        assert len((await ours.goals.ListGoalReportRows(goals.ListGoalReportRowsRequest())).rows) == 5


async def test_other_tenants_funding_programmes_and_transfers_are_not_found(server, services, tenant, service_stubs):
    await seed_accounts(service_stubs, "c1", "a1", "a2")
    await service_stubs.goals.EnrollInGoals(goals.EnrollInGoalsRequest(parent="customers/c1", account_id="a1"))
    goal = await service_stubs.goals.CreateGoal(goals.CreateGoalRequest(parent="customers/c1", goal=goals.Goal(
        display_name="Holiday", category=goals.GOAL_CATEGORY_TRAVEL, target={"currency_code": "EUR", "units": 100})))
    programme = await service_stubs.goals.CreateFundingProgramme(goals.CreateFundingProgrammeRequest(
        parent=goal.name, funding_programme=goals.FundingProgramme(
            source_account_id="a2", fixed_schedule=goals.FixedSchedule(
                frequency=goals.SCHEDULE_FREQUENCY_WEEKLY, start_date={"year": 2024, "month": 1, "day": 1},
                amount={"currency_code": "EUR", "units": 5}))))
    [transfer] = await services.goal_funding.plan_tenant(tenant, dt.date(2024, 1, 1))
    transfer_name = f"{programme.name}/transfers/{transfer.transfer_id}"
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id

    async with server.stubs(server.token(other)) as intruder:
        name = programme.name
        for call in (intruder.goals.GetFundingProgramme(goals.GetFundingProgrammeRequest(name=name)),
                     intruder.goals.PauseFundingProgramme(goals.PauseFundingProgrammeRequest(name=name)),
                     intruder.goals.ResumeFundingProgramme(goals.ResumeFundingProgrammeRequest(name=name)),
                     intruder.goals.CancelFundingProgramme(goals.CancelFundingProgrammeRequest(name=name)),
                     intruder.goals.UpdateFundingProgramme(goals.UpdateFundingProgrammeRequest(
                         funding_programme=goals.FundingProgramme(name=name, source_account_id="a2"),
                         update_mask={"paths": ["source_account_id"]})),
                     intruder.goals.CreateFundingProgramme(goals.CreateFundingProgrammeRequest(
                         parent=goal.name, funding_programme=goals.FundingProgramme(
                             source_account_id="a2", round_up_rule=goals.RoundUpRule()))),
                     intruder.goals.ListFundingProgrammes(goals.ListFundingProgrammesRequest(parent=goal.name)),
                     intruder.goals.ListTransfers(goals.ListTransfersRequest(parent=name)),
                     intruder.goals.ConfirmTransfer(goals.ConfirmTransferRequest(
                         name=transfer_name, outcome=goals.TRANSFER_STATE_EXECUTED))):
            assert (await failure(call))[0] == grpc.StatusCode.NOT_FOUND
        assert not (await intruder.goals.ListFundingProgrammes(goals.ListFundingProgrammesRequest(
            parent="customers/c1"))).funding_programmes
        assert not (await intruder.goals.ListTransfers(goals.ListTransfersRequest(parent="customers/c1"))).transfers
    [ours] = (await service_stubs.goals.ListTransfers(goals.ListTransfersRequest(parent=programme.name))).transfers
    assert (ours.name, ours.state) == (transfer_name, goals.TRANSFER_STATE_REQUESTED)


async def test_another_banks_attributes_and_personas_are_not_found_and_never_listed(server, services, tenant,
                                                                                     service_stubs):
    await seed_accounts(service_stubs, "c1")
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        await admin.personas.CreateAttributeDefinition(personas.CreateAttributeDefinitionRequest(
            attribute_definition_id="IsGlobetrotter",
            attribute_definition=personas.AttributeDefinition(type=personas.ATTRIBUTE_TYPE_BOOL)))
        await admin.personas.CreatePersona(personas.CreatePersonaRequest(
            persona_id="globetrotter", persona=personas.Persona(display_name="G", expression="IsGlobetrotter")))
    await service_stubs.personas.UpdateCustomerAttributes(personas.UpdateCustomerAttributesRequest(
        name="customers/c1/attributes", values={"IsGlobetrotter": personas.AttributeValue(bool_value=True)}))
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id

    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as intruder:
        persona, definition = "personas/globetrotter", "attributeDefinitions/IsGlobetrotter"
        for call in (intruder.personas.GetPersona(personas.GetPersonaRequest(name=persona)),
                     intruder.personas.ListMembers(personas.ListMembersRequest(persona=persona)),
                     intruder.personas.IsMember(personas.IsMemberRequest(persona=persona, customer="customers/c1")),
                     intruder.personas.ExplainMembership(personas.ExplainMembershipRequest(
                         persona=persona, customer="customers/c1")),
                     intruder.personas.DeletePersona(personas.DeletePersonaRequest(name=persona)),
                     intruder.personas.GetAttributeDefinition(personas.GetAttributeDefinitionRequest(name=definition)),
                     intruder.personas.DeleteAttributeDefinition(personas.DeleteAttributeDefinitionRequest(
                         name=definition)),
                     intruder.personas.GetCustomerAttributes(personas.GetCustomerAttributesRequest(
                         name="customers/c1/attributes"))):
            assert (await failure(call))[0] == grpc.StatusCode.NOT_FOUND
        assert not (await intruder.personas.ListPersonas(personas.ListPersonasRequest())).personas
        assert not (await intruder.personas.ListAttributeDefinitions(
            personas.ListAttributeDefinitionsRequest())).attribute_definitions
        # The other bank's expressions cannot name our attributes, nor its writes reach our customers.
        assert (await failure(intruder.personas.CreatePersona(personas.CreatePersonaRequest(
            persona_id="globetrotter", persona=personas.Persona(display_name="G", expression="IsGlobetrotter")))))[1] \
            == "SEGMENT_EXPRESSION_INVALID"
        assert (await failure(intruder.personas.UpdateCustomerAttributes(personas.UpdateCustomerAttributesRequest(
            name="customers/c1/attributes", clear=["IsGlobetrotter"]))))[1] == "ATTRIBUTE_UNKNOWN"
        # Its own attribute of the same name, and a customer c1 of its own, stay apart from ours.
        await intruder.personas.CreateAttributeDefinition(personas.CreateAttributeDefinitionRequest(
            attribute_definition_id="IsGlobetrotter",
            attribute_definition=personas.AttributeDefinition(type=personas.ATTRIBUTE_TYPE_BOOL)))
        await intruder.personas.CreatePersona(personas.CreatePersonaRequest(
            persona_id="globetrotter", persona=personas.Persona(display_name="G", expression="IsGlobetrotter")))
        assert not (await intruder.personas.ListMembers(personas.ListMembersRequest(persona=persona))).customers
    ours = await service_stubs.personas.ListMembers(personas.ListMembersRequest(persona="personas/globetrotter"))
    assert list(ours.customers) == ["customers/c1"]


async def test_another_banks_audiences_are_not_found_and_never_listed(server, services, tenant, service_stubs):
    await seed_accounts(service_stubs, "c1")
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        await admin.personas.CreateAttributeDefinition(personas.CreateAttributeDefinitionRequest(
            attribute_definition_id="IsGlobetrotter",
            attribute_definition=personas.AttributeDefinition(type=personas.ATTRIBUTE_TYPE_BOOL)))
        await service_stubs.personas.UpdateCustomerAttributes(personas.UpdateCustomerAttributesRequest(
            name="customers/c1/attributes", values={"IsGlobetrotter": personas.AttributeValue(bool_value=True)}))
        await admin.personas.CreatePersona(personas.CreatePersonaRequest(
            persona_id="globetrotter", persona=personas.Persona(display_name="G", expression="IsGlobetrotter")))
        travellers = personas.CreateAudienceRequest(audience_id="travellers", audience=personas.Audience(
            display_name="T", definition=personas.AudienceDefinition(include=["personas/globetrotter"],
                                                                     mode=personas.AUDIENCE_MODE_ANY)))
        await admin.personas.CreateAudience(travellers)
    await run_worker_until_idle(server.settings)  # the persona's members, kept by the workers
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id

    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as intruder:
        name = "audiences/travellers"
        for call in (intruder.personas.GetAudience(personas.GetAudienceRequest(name=name)),
                     intruder.personas.ListAudienceMembers(personas.ListAudienceMembersRequest(audience=name)),
                     intruder.personas.IsAudienceMember(personas.IsAudienceMemberRequest(
                         audience=name, customer="customers/c1")),
                     intruder.personas.UpdateAudience(personas.UpdateAudienceRequest(
                         audience=personas.Audience(name=name, display_name="mine"),
                         update_mask={"paths": ["display_name"]})),
                     intruder.personas.DeleteAudience(personas.DeleteAudienceRequest(name=name))):
            assert (await failure(call))[0] == grpc.StatusCode.NOT_FOUND
        assert not (await intruder.personas.ListAudiences(personas.ListAudiencesRequest())).audiences
        # Its audiences cannot name our personas.
        assert (await failure(intruder.personas.CreateAudience(travellers)))[1] == "AUDIENCE_REFERENCE_UNKNOWN"
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        ours = await admin.personas.ListAudienceMembers(personas.ListAudienceMembersRequest(audience=name))
        assert list(ours.customers) == ["customers/c1"]


async def test_another_banks_products_are_not_found_and_never_listed_or_quoted(server, services, tenant,
                                                                               service_stubs):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana, \
            server.stubs(server.token(tenant, Role.BANK_ADMIN, "ben")) as ben:
        await define_reference_facts(ana)
        version = (await approved_reference_loan(ana, ben)).product_version.name
    ours = await add_loan_customer(service_stubs, "c1")
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id

    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as eve, \
            server.stubs(server.token(other, Role.BANK_ADMIN, "mallory")) as mallory, \
            server.stubs(server.token(other, Role.SERVICE, "loader")) as loader:
        product = "products/personal-loan"
        for call in (eve.products.GetProduct(products.GetProductRequest(name=product)),
                     eve.products.UpdateProduct(products.UpdateProductRequest(
                         product=products.Product(name=product, display_name="Mine"),
                         update_mask={"paths": ["display_name"]})),
                     eve.products.ListProductVersions(products.ListProductVersionsRequest(parent=product)),
                     eve.products.GetProductVersion(products.GetProductVersionRequest(name=version)),
                     eve.products.AnalyzeProductVersion(products.AnalyzeProductVersionRequest(name=version)),
                     eve.products.UpdateProductVersion(products.UpdateProductVersionRequest(
                         product_version=products.ProductVersion(name=version, terms_json=terms_json()),
                         update_mask={"paths": ["terms_json"]})),
                     eve.products.CreateProductVersion(products.CreateProductVersionRequest(
                         parent=product, source_version=version)),
                     mallory.products.ApproveProductVersion(products.ApproveProductVersionRequest(name=version)),
                     eve.products.RetireProductVersion(products.RetireProductVersionRequest(name=version)),
                     loader.products.QuoteProduct(quote_request(ours, "15000"))):
            assert (await failure(call))[0] == grpc.StatusCode.NOT_FOUND
        assert not (await eve.products.ListProducts(products.ListProductsRequest())).products
        # The same id is theirs to take; our customer is still not theirs to quote.
        await eve.products.CreateProduct(products.CreateProductRequest(
            product_id="personal-loan", product=products.Product(display_name="Theirs")))
        assert (await failure(loader.products.QuoteProduct(quote_request(ours, "15000"))))[:2] == \
            (grpc.StatusCode.FAILED_PRECONDITION, "PRODUCT_NOT_LIVE")
    quoted = await service_stubs.products.QuoteProduct(quote_request(ours, "15000"))
    assert quoted.product_version == version and quoted.pricing.annual_rate == "5.3"


async def test_another_banks_journeys_and_instances_are_not_found_and_never_listed(server, services, tenant,
                                                                                   service_stubs):
    await seed_accounts(service_stubs, "c1")
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        await admin.personas.CreateAttributeDefinition(personas.CreateAttributeDefinitionRequest(
            attribute_definition_id="IsGlobetrotter",
            attribute_definition=personas.AttributeDefinition(type=personas.ATTRIBUTE_TYPE_BOOL)))
        travel = journeys.Journey(display_name="T", steps=[
            journeys.Step(id="ask", captures=["IsGlobetrotter"], default_route=journeys.Route(step="done")),
            journeys.Step(id="done", end=True)])
        await admin.journeys.CreateJourney(journeys.CreateJourneyRequest(journey_id="travel", journey=travel))
    instance = await service_stubs.journeys.StartJourney(journeys.StartJourneyRequest(
        parent="customers/c1", journey="journeys/travel"))
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id

    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as intruder:
        yes = {"IsGlobetrotter": personas.AttributeValue(bool_value=True)}
        for call in (intruder.journeys.GetJourney(journeys.GetJourneyRequest(name="journeys/travel")),
                     intruder.journeys.UpdateJourney(journeys.UpdateJourneyRequest(
                         journey=journeys.Journey(name="journeys/travel", display_name="mine"),
                         update_mask={"paths": ["display_name"]})),
                     intruder.journeys.StartJourney(journeys.StartJourneyRequest(
                         parent="customers/c1", journey="journeys/travel")),
                     intruder.journeys.GetJourneyState(journeys.GetJourneyStateRequest(name=instance.name)),
                     intruder.journeys.SubmitStep(journeys.SubmitStepRequest(name=instance.name, step="ask",
                                                                             values=yes)),
                     intruder.journeys.ListJourneyRoutes(journeys.ListJourneyRoutesRequest(parent=instance.name))):
            assert (await failure(call))[0] == grpc.StatusCode.NOT_FOUND
        assert not (await intruder.journeys.ListJourneys(journeys.ListJourneysRequest())).journeys
        # Its journeys cannot route to ours, nor capture our attributes.
        assert (await failure(intruder.journeys.CreateJourney(journeys.CreateJourneyRequest(
            journey_id="mine", journey=journeys.Journey(display_name="M", steps=[
                journeys.Step(id="go", default_route=journeys.Route(journey="journeys/travel"))])))))[1] \
            == "JOURNEY_INVALID"
        assert (await failure(intruder.journeys.CreateJourney(journeys.CreateJourneyRequest(
            journey_id="travel", journey=travel))))[1] == "JOURNEY_INVALID"
    # Ours is untouched: still at its first step, nothing written to the customer.
    state = await service_stubs.journeys.GetJourneyState(journeys.GetJourneyStateRequest(name=instance.name))
    assert (state.current_step, dict(state.captured)) == ("ask", {})


async def test_another_banks_notifications_and_webhook_deliveries_are_not_found(server, services, tenant):
    async with UnitOfWork(services.database, tenant) as uow:
        notified = await services.bank_notifications.notify(uow, [NewBankNotification(
            "low_balance", 1, "f1", "c1", "a1", "call the customer", {"balance": "-1.00"})])
        await uow.commit()
    name = f"bankNotifications/{notified.notifications[0].notification_id}"
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id

    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as eve:
        calls = eve.bank_notifications
        for call in (calls.AcknowledgeBankNotification(notifications.AcknowledgeBankNotificationRequest(name=name)),
                     calls.AssignBankNotification(notifications.AssignBankNotificationRequest(name=name,
                                                                                             assignee="eve")),
                     calls.ListWebhookDeliveries(notifications.ListWebhookDeliveriesRequest(bank_notification=name))):
            assert (await failure(call))[:2] == (grpc.StatusCode.NOT_FOUND, "BANK_NOTIFICATION_NOT_FOUND")
        assert not (await calls.ListBankNotifications(
            notifications.ListBankNotificationsRequest())).bank_notifications
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        [ours] = (await ana.bank_notifications.ListBankNotifications(
            notifications.ListBankNotificationsRequest())).bank_notifications
        assert (ours.status, ours.assignee) == (notifications.BankNotification.NEW, "")


async def test_another_banks_trigger_rules_firings_and_banners_are_not_found(server, services, tenant):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        await ana.trigger_rules.CreateTriggerRule(rules.CreateTriggerRuleRequest(
            trigger_rule=low_balance_rule(), trigger_rule_id="low_balance"))
        await ana.trigger_rules.SubmitTriggerRule(rules.SubmitTriggerRuleRequest(name="triggerRules/low_balance"))
    at = dt.datetime.now(dt.UTC)
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.trigger_firings.add_firings([FiringRecord("f1", "low_balance", 1, "c1", "a1", at, None, "day:x")])
        await uow.banners.add_banners([Banner("b1", "c1", "t", "b", "l", "https://bank.example", at,
                                              at + dt.timedelta(days=1))])
        await uow.commit()
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    name, firing, banner = "triggerRules/low_balance", "triggerRules/low_balance/firings/f1", "customers/c1/banners/b1"

    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as eve, \
            server.stubs(server.token(other, Role.BANK_ADMIN, "mallory")) as mallory, \
            server.stubs(server.token(other, Role.SERVICE, "app")) as app, \
            server.stubs(server.token(other, Role.USER, "c1")) as user:
        calls = eve.trigger_rules
        for call in (calls.GetTriggerRule(rules.GetTriggerRuleRequest(name=name)),
                     calls.UpdateTriggerRule(rules.UpdateTriggerRuleRequest(
                         trigger_rule=rules.TriggerRule(name=name, display_name="Theirs"),
                         update_mask={"paths": ["display_name"]})),
                     calls.SubmitTriggerRule(rules.SubmitTriggerRuleRequest(name=name)),
                     mallory.trigger_rules.ApproveTriggerRule(rules.ApproveTriggerRuleRequest(name=name)),
                     calls.RejectTriggerRule(rules.RejectTriggerRuleRequest(name=name, reason="no")),
                     calls.PauseTriggerRule(rules.PauseTriggerRuleRequest(name=name)),
                     calls.ResumeTriggerRule(rules.ResumeTriggerRuleRequest(name=name)),
                     calls.ArchiveTriggerRule(rules.ArchiveTriggerRuleRequest(name=name)),
                     calls.ListFirings(rules.ListFiringsRequest(parent=name))):
            assert (await failure(call))[:2] == (grpc.StatusCode.NOT_FOUND, "TRIGGER_RULE_NOT_FOUND")
        assert (await failure(calls.ExplainFiring(rules.ExplainFiringRequest(name=firing))))[:2] == \
            (grpc.StatusCode.NOT_FOUND, "TRIGGER_FIRING_NOT_FOUND")
        assert not (await calls.ListTriggerRules(rules.ListTriggerRulesRequest())).trigger_rules
        for stubs in (app, user):
            assert (await failure(stubs.banners.RecordBannerImpression(banners.RecordBannerImpressionRequest(
                name=banner))))[:2] == (grpc.StatusCode.NOT_FOUND, "BANNER_NOT_FOUND")
            assert (await failure(stubs.banners.RecordBannerClick(banners.RecordBannerClickRequest(
                name=banner))))[:2] == (grpc.StatusCode.NOT_FOUND, "BANNER_NOT_FOUND")
            assert not (await stubs.banners.ListBanners(banners.ListBannersRequest(parent="customers/c1"))).banners
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ben")) as ben:
        ours = await ben.trigger_rules.ApproveTriggerRule(rules.ApproveTriggerRuleRequest(name=name))
        assert (ours.status, ours.display_name, ours.version) == (rules.TRIGGER_RULE_STATUS_ACTIVE, "Low balance", 1)
        listed = await ben.banners.ListBanners(banners.ListBannersRequest(parent="customers/c1"))
        assert [(b.name, b.impressions, b.clicks) for b in listed.banners] == [(banner, 0, 0)]


async def test_another_banks_offer_recommendations_and_suggestions_are_not_found(server, services, tenant,
                                                                                 service_stubs):
    await add_offer_customers(service_stubs)
    await derive_attributes(services, tenant)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        await add_product(ana)
        name = (await create_recommendation(ana)).name
        await ana.offers.RunOfferRecommendations(offers.RunOfferRecommendationsRequest())
        suggestion = (await ana.offers.ListSuggestedOffers(offers.ListSuggestedOffersRequest())).suggested_offers[0]
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id

    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as eve:
        for call in (eve.offers.GetOfferRecommendation(offers.GetOfferRecommendationRequest(name=name)),
                     eve.offers.DeleteOfferRecommendation(offers.DeleteOfferRecommendationRequest(name=name)),
                     eve.offers.RunOfferRecommendations(offers.RunOfferRecommendationsRequest(
                         offer_recommendation=name)),
                     eve.offers.ApproveSuggestedOffer(offers.ApproveSuggestedOfferRequest(name=suggestion.name)),
                     eve.offers.RejectSuggestedOffer(offers.RejectSuggestedOfferRequest(name=suggestion.name))):
            assert (await failure(call))[0] == grpc.StatusCode.NOT_FOUND
        assert not (await eve.offers.ListOfferRecommendations(
            offers.ListOfferRecommendationsRequest())).offer_recommendations
        assert not (await eve.offers.ListSuggestedOffers(offers.ListSuggestedOffersRequest())).suggested_offers
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        ours = (await ana.offers.ListSuggestedOffers(offers.ListSuggestedOffersRequest())).suggested_offers
        assert suggestion in ours and all(s.status == offers.SUGGESTED_OFFER_STATUS_PENDING for s in ours)


async def test_another_banks_statements_payments_and_payment_alerts_are_not_found(server, services, tenant,
                                                                                  service_stubs):
    await service_stubs.ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=pb.Customer(customer_id="c1")))
    await service_stubs.ingest.UpsertAccount(pb.UpsertAccountRequest(account=pb.Account(
        account_id="card-1", customer_id="c1", currency_code="EUR", type=pb.ACCOUNT_TYPE_CREDIT,
        container=pb.CONTAINER_CREDIT_CARD)))
    await service_stubs.ingest.BatchUpsertStatements(pb.BatchUpsertStatementsRequest(statements=[
        due_statement("s-1", "card-1", "2024-03-20", "50", balance="500", currency="EUR")]))
    await service_stubs.ingest.BatchUpsertScheduledPayments(pb.BatchUpsertScheduledPaymentsRequest(
        scheduled_payments=[scheduled_payment("p-1", "card-1", "50", pb.SCHEDULED_PAYMENT_STATE_SCHEDULED,
                                              currency="EUR")]))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        app, kind = await published_app(admin.engagement, "Bank", [engagement.PLATFORM_WEB], "Payments")
        event = await admin.engagement.CreateEvent(engagement.CreateEventRequest(event=engagement.Event(
            display_name="Due", description="Payment due", event_type=kind.name, app=app.name,
            messages=[engagement.EventMessage(channel=engagement.CHANNEL_SMS, content=engagement.MessageContent(
                sms=engagement.SmsContent(text="{{ statement.minimum_due }} due")))])))
        alert = await admin.engagement.CreatePaymentAlert(engagement.CreatePaymentAlertRequest(
            payment_alert=engagement.PaymentAlert(event=event.name, kind=engagement.PAYMENT_ALERT_KIND_DUE,
                                                  days_before_due=2)))
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id

    async with server.stubs(server.token(other)) as intruder, \
            server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as intruding_admin:
        for call in (intruder.ingest.ListStatements(pb.ListStatementsRequest(parent="accounts/card-1")),
                     intruder.ingest.ListScheduledPayments(pb.ListScheduledPaymentsRequest(parent="accounts/card-1")),
                     intruding_admin.engagement.DeletePaymentAlert(engagement.DeletePaymentAlertRequest(
                         name=alert.name)),
                     intruding_admin.engagement.CreatePaymentAlert(engagement.CreatePaymentAlertRequest(
                         payment_alert=engagement.PaymentAlert(event=event.name,
                                                               kind=engagement.PAYMENT_ALERT_KIND_OVERDUE)))):
            assert (await failure(call))[0] == grpc.StatusCode.NOT_FOUND
        assert not (await intruding_admin.engagement.ListPaymentAlerts(engagement.ListPaymentAlertsRequest())
                    ).payment_alerts
        # Writing statements or payments of another bank's account: for this tenant it does not exist.
        code, reason, _ = await failure(intruder.ingest.BatchUpsertStatements(pb.BatchUpsertStatementsRequest(
            statements=[due_statement("s-1", "card-1", "2024-03-20", "1", balance="1", currency="EUR")])))
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "UNKNOWN_ACCOUNT")
    listed = await service_stubs.ingest.ListStatements(pb.ListStatementsRequest(parent="accounts/card-1"))
    assert [(s.statement_id, amount_of(s.minimum_due)) for s in listed.statements] == [("s-1", "50.00")]
    assert len((await service_stubs.ingest.ListScheduledPayments(pb.ListScheduledPaymentsRequest(
        parent="accounts/card-1"))).scheduled_payments) == 1


async def test_another_banks_wallet_passes_are_never_listed(server, services, tenant):
    from engage.engagement.v1 import engagement_service_pb2 as wallet_pb
    from server.domain.engagement.wallet_passes import IssuedPass

    now = dt.datetime.now(dt.UTC)
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.wallet_passes.add(IssuedPass("pass.com.yesbank.store", "card-1", "c1",
                                               services.secret_box.seal({"token": "t" * 32}), {"message": "m"},
                                               now, now))
        await uow.wallet_registrations.register("iphone", "pass.com.yesbank.store", "card-1", "push", now)
        await uow.commit()
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as owner, \
            server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as intruder:
        [listed] = (await owner.engagement.ListWalletPasses(wallet_pb.ListWalletPassesRequest())).wallet_passes
        assert (listed.serial_number, listed.registered_devices) == ("card-1", 1)
        for request in (wallet_pb.ListWalletPassesRequest(), wallet_pb.ListWalletPassesRequest(customer_id="c1")):
            assert not (await intruder.engagement.ListWalletPasses(request)).wallet_passes


async def test_another_banks_balances_and_not_booked_transactions_stay_its_own(server, services, tenant,
                                                                             service_stubs):
    """SendBalance never reaches another bank's account or event, and a PENDING or DECLINED id of one bank
    neither takes nor books the same id at another."""
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([
        transaction("t1", "a1", "10.00"),
        transaction("t-held", "a1", "4.00", "DEBIT", status=pb.TRANSACTION_STATUS_PENDING)]))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        app = await admin.engagement.CreateApp(engagement.CreateAppRequest(app=engagement.App(
            display_name="Bank", category="BANKING", platforms=[engagement.PLATFORM_WEB])))
        kind = await admin.engagement.CreateEventType(engagement.CreateEventTypeRequest(
            event_type=engagement.EventType(display_name="Balances")))
        event = await admin.engagement.CreateEvent(engagement.CreateEventRequest(event=engagement.Event(
            display_name="Balance", description="On request", event_type=kind.name, app=app.name,
            messages=[engagement.EventMessage(channel=engagement.CHANNEL_SMS, content=engagement.MessageContent(
                sms=engagement.SmsContent(text="{{ account.current_balance }}")))])))
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id

    async with server.stubs(server.token(other)) as intruder:
        code, reason, _ = await failure(intruder.engagement.SendBalance(engagement.SendBalanceRequest(
            account="accounts/a1", event=event.name)))
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND")
        await seed_accounts(intruder, "c1", "a1")
        code, reason, _ = await failure(intruder.engagement.SendBalance(engagement.SendBalanceRequest(
            account="accounts/a1", event=event.name)))
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "EVENT_NOT_FOUND")
        # The other bank books its own t-held: no pending row of ours is consumed, no balance of ours moves.
        response = await intruder.ingest.IngestTransactions(stream([transaction("t-held", "a1", "4.00", "DEBIT")]))
        assert response.accepted_count == 1
        assert amount_of((await intruder.ingest.GetAccount(pb.GetAccountRequest(
            name="accounts/a1"))).current_balance) == "-4.00"
    async with UnitOfWork(services.database, tenant) as uow:
        assert [t for t, _, _ in await uow.transactions.list_authorizations("a1")] == ["t-held"]
    ours = await service_stubs.ingest.GetAccount(pb.GetAccountRequest(name="accounts/a1"))
    assert amount_of(ours.current_balance) == "10.00"
