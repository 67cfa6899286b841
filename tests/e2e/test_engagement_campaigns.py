"""Campaigns with bank approval, insight notifications and tenant isolation, through the real server and
worker against the test sinks."""

import asyncio
import datetime as dt

import grpc

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.insights.v1 import insights_service_pb2 as insights
from server.domain.auth import Role
from tests.e2e.test_insights_savings import day, seed_reference_customer
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import failure, stream, transaction
from tests.support.yes_bank import add_customer, set_up_yes_bank


async def test_an_offer_waits_for_another_admins_approval(server, settings, tenant, service_stubs, smtp_sink,
                                                          provider_sink):
    lisa = server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa"))
    bank = await set_up_yes_bank(lisa, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                 provider_base_url=provider_sink.base_url)
    await add_customer(service_stubs, bank.app, "c1", email="c1@example.com", phone="+420601000001", push_token="")
    await add_customer(service_stubs, bank.app, "c2", email="c2@example.com", phone="+420601000002", push_token="")
    event = await lisa.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
        display_name="Savings offer", description="2% on a new savings account", event_type=bank.event_type,
        app=bank.app, messages=[pb.EventMessage(channel=pb.CHANNEL_EMAIL, content=pb.MessageContent(
            email=pb.EmailContent(subject="An offer for {{ customer.id }}", text="Save with {{ bank.name }}.")))])))
    offer = await lisa.engagement.CreateCampaign(pb.CreateCampaignRequest(campaign=pb.Campaign(
        display_name="Spring savings", event=event.name, is_offer=True,
        audience=pb.Audience(customer_list=pb.CustomerList(customer_ids=["c1", "c2"])))))
    assert offer.state == pb.Campaign.PENDING_APPROVAL

    await run_worker(settings)
    assert smtp_sink.messages == []  # nothing goes out before the approval
    code, reason, _ = await failure(lisa.engagement.ApproveCampaign(pb.ApproveCampaignRequest(name=offer.name)))
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "CAMPAIGN_SELF_APPROVAL")

    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "raj")) as raj:
        approved = await raj.engagement.ApproveCampaign(pb.ApproveCampaignRequest(name=offer.name))
        assert (approved.state, approved.approver) == (pb.Campaign.SCHEDULED, "raj")
    await server.services.campaigns.start_due()
    await run_worker(settings)
    messages = await smtp_sink.wait_for(2)
    assert sorted(m["Subject"] for m in messages) == ["An offer for c1", "An offer for c2"]
    done = await lisa.engagement.GetCampaign(pb.GetCampaignRequest(name=offer.name))
    assert (done.state, done.customers_targeted, done.deliveries_created) == (pb.Campaign.COMPLETED, 2, 2)
    # Running it again sends nothing twice.
    await server.services.campaigns.run(tenant, offer.name.split("/")[1])
    await run_worker(settings)
    assert len(smtp_sink.messages) == 2
    await lisa.close()


async def test_a_new_insight_is_also_sent_as_a_push(server, settings, tenant, service_stubs, smtp_sink,
                                                    provider_sink):
    admin = server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa"))
    bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                 provider_base_url=provider_sink.base_url)
    await seed_reference_customer(service_stubs, "u1")
    await add_customer(service_stubs, bank.app, "u1", email="", phone="", with_account=False)
    event = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
        display_name="Savings grew", description="Push for the savings insight", event_type=bank.event_type,
        app=bank.app, messages=[pb.EventMessage(channel=pb.CHANNEL_PUSH, content=pb.MessageContent(
            push=pb.PushContent(title="Your savings grew",
                                body="Up {{ insight.figures.change_percent }}% on your average")))])))
    await admin.engagement.CreateInsightNotification(pb.CreateInsightNotificationRequest(
        insight_notification=pb.InsightNotification(insight_name="SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE",
                                                    event=event.name)))
    generated = await service_stubs.insights.TriggerInsights(insights.TriggerInsightsRequest(
        customer_id="u1", as_of=day(dt.date(2021, 7, 1))))
    assert len(generated.generated) == 1
    await run_worker(settings)
    [push] = await provider_sink.wait_for("fcm", 1)
    assert push.body["message"]["notification"] == {"title": "Your savings grew", "body": "Up 11.88% on your average"}
    await admin.close()


async def test_a_tenant_never_sees_another_tenants_engagement_objects(server, tenant, services, smtp_sink,
                                                                      provider_sink):
    admin = server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa"))
    bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                 provider_base_url=provider_sink.base_url)
    other = (await services.tenants.create("bank-other-engagement")).tenant_id
    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as eve:
        for call in (eve.engagement.GetApp(pb.GetAppRequest(name=bank.app)),
                     eve.engagement.GetEvent(pb.GetEventRequest(name=bank.event)),
                     eve.engagement.GetChannelConfig(pb.GetChannelConfigRequest(name=bank.email_config)),
                     eve.engagement.PublishApp(pb.PublishAppRequest(name=bank.app))):
            code, _, _ = await failure(call)
            assert code == grpc.StatusCode.NOT_FOUND
        assert list((await eve.engagement.ListApps(pb.ListAppsRequest())).apps) == []
        assert list((await eve.engagement.ListChannelConfigs(pb.ListChannelConfigsRequest())).channel_configs) == []
    await admin.close()


async def test_a_cancel_at_the_moment_of_approval_is_never_lost(server, settings, tenant, service_stubs, smtp_sink,
                                                                 provider_sink):
    """Approval and cancellation read the campaign, then wrote all of it back: a cancel answered OK could
    be overwritten by the approval a moment later, and the offer went out. Whatever the order, a
    campaign whose cancel was answered OK stays cancelled."""
    lisa = server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa"))
    raj = server.stubs(server.token(tenant, Role.BANK_ADMIN, "raj"))
    bank = await set_up_yes_bank(lisa, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                 provider_base_url=provider_sink.base_url)
    await add_customer(service_stubs, bank.app, "c1", email="c1@example.com", phone="+420601000001", push_token="")
    for round_number in range(12):
        offer = await lisa.engagement.CreateCampaign(pb.CreateCampaignRequest(campaign=pb.Campaign(
            display_name=f"Offer {round_number}", event=bank.notice_event, is_offer=True,
            audience=pb.Audience(customer_list=pb.CustomerList(customer_ids=["c1"])))))
        approval, cancel = await asyncio.gather(
            raj.engagement.ApproveCampaign(pb.ApproveCampaignRequest(name=offer.name)),
            lisa.engagement.CancelCampaign(pb.CancelCampaignRequest(name=offer.name)), return_exceptions=True)
        final = await lisa.engagement.GetCampaign(pb.GetCampaignRequest(name=offer.name))
        if not isinstance(cancel, BaseException):
            assert final.state == pb.Campaign.CANCELLED, (round_number, approval)
    await lisa.close()
    await raj.close()


async def test_a_large_withdrawal_reaches_the_customer_through_two_events(server, settings, tenant, service_stubs,
                                                                           smtp_sink, provider_sink):
    # TransactionsPosted -> the EVENT insight handler writes LARGE_WITHDRAWAL and raises FeedItemsCreated ->
    # the insight notification handler records the push: two events, each through the worker queue.
    admin = server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa"))
    bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                 provider_base_url=provider_sink.base_url)
    await add_customer(service_stubs, bank.app, "u1", email="", phone="")
    event = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
        display_name="Large withdrawal", description="Push for large withdrawals", event_type=bank.event_type,
        app=bank.app, messages=[pb.EventMessage(channel=pb.CHANNEL_PUSH, content=pb.MessageContent(
            push=pb.PushContent(title="Large withdrawal",
                                body="{{ insight.figures.amount }} {{ insight.figures.currency }} left your "
                                     "account; {{ insight.figures.balance }} remain")))])))
    await admin.engagement.CreateInsightNotification(pb.CreateInsightNotificationRequest(
        insight_notification=pb.InsightNotification(insight_name="LARGE_WITHDRAWAL", event=event.name)))
    await service_stubs.ingest.IngestTransactions(stream([
        transaction("pay", "u1-chk", "8000.00", "CREDIT", currency="CZK"),
        transaction("rent", "u1-chk", "6000.00", "DEBIT", currency="CZK")]))
    await run_worker(settings)
    [push] = await provider_sink.wait_for("fcm", 1)
    assert push.body["message"]["notification"] == {"title": "Large withdrawal",
                                                    "body": "6000.0000 CZK left your account; 2000.0000 remain"}
    await run_worker(settings)
    assert len(provider_sink.received("fcm")) == 1
    await admin.close()
