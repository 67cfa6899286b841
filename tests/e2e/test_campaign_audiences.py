"""Campaigns to every customer and to the customers whose attributes match a filter, listed a page at
a time, an offer rejected; and one-time passwords by push: through the real server and the arq
worker, counting every email and push request the sinks receive."""

import re

import grpc

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.ingest.v1 import ingest_service_pb2 as ingest
from server.domain.auth import Role
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import customer, failure
from tests.support.pages import every_page
from tests.support.yes_bank import add_customer, set_up_yes_bank

CUSTOMERS = {"c1": {"segment": "retail", "city": "Prague"}, "c2": {"segment": "premium", "city": "Brno"},
             "c3": {"segment": "premium", "city": "Prague"}}


async def test_campaigns_to_all_customers_and_by_attributes_and_a_rejected_offer(server, settings, tenant,
                                                                                 service_stubs, smtp_sink,
                                                                                 provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as lisa, \
            server.stubs(server.token(tenant, Role.BANK_ADMIN, "raj")) as raj:
        bank = await set_up_yes_bank(lisa, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        for customer_id, attributes in CUSTOMERS.items():
            await service_stubs.ingest.UpsertCustomer(ingest.UpsertCustomerRequest(customer=customer(customer_id,
                                                                                                     **attributes)))
            await service_stubs.engagement.UpsertContact(pb.UpsertContactRequest(contact=pb.Contact(
                customer_id=customer_id, email=f"{customer_id}@example.com")))
        news = await lisa.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="News", description="The bank's news", event_type=bank.event_type, app=bank.app,
            messages=[pb.EventMessage(channel=pb.CHANNEL_EMAIL, content=pb.MessageContent(email=pb.EmailContent(
                subject="News for {{ customer.id }}",
                text="For our {{ customer.attributes.segment }} customers in {{ customer.attributes.city }}.")))])))

        everyone = await lisa.engagement.CreateCampaign(pb.CreateCampaignRequest(campaign=pb.Campaign(
            display_name="Everyone", event=news.name, audience=pb.Audience(all_customers=True))))
        premium_prague = await lisa.engagement.CreateCampaign(pb.CreateCampaignRequest(campaign=pb.Campaign(
            display_name="Premium in Prague", event=news.name, audience=pb.Audience(attribute_filter=pb.AttributeFilter(
                equals={"segment": "premium", "city": "Prague"})))))
        offer = await lisa.engagement.CreateCampaign(pb.CreateCampaignRequest(campaign=pb.Campaign(
            display_name="Premium card offer", event=news.name, is_offer=True,
            audience=pb.Audience(attribute_filter=pb.AttributeFilter(equals={"segment": "premium"})))))
        assert (everyone.state, premium_prague.state, offer.state) == (
            pb.Campaign.SCHEDULED, pb.Campaign.SCHEDULED, pb.Campaign.PENDING_APPROVAL)
        assert everyone.audience.all_customers and everyone.creator == "lisa"
        assert dict(premium_prague.audience.attribute_filter.equals) == {"segment": "premium", "city": "Prague"}

        # An offer is rejected by another admin, with the reason; it cannot be rejected or approved again.
        code, reason, _ = await failure(lisa.engagement.RejectCampaign(pb.RejectCampaignRequest(name=offer.name)))
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "CAMPAIGN_SELF_APPROVAL")
        rejected = await raj.engagement.RejectCampaign(pb.RejectCampaignRequest(name=offer.name,
                                                                                reason="Not this quarter"))
        assert (rejected.state, rejected.approver, rejected.rejection_reason) == (pb.Campaign.REJECTED, "raj",
                                                                                 "Not this quarter")
        for again in (raj.engagement.RejectCampaign(pb.RejectCampaignRequest(name=offer.name)),
                      raj.engagement.ApproveCampaign(pb.ApproveCampaignRequest(name=offer.name))):
            code, reason, _ = await failure(again)
            assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CAMPAIGN_STATE_INVALID")

        # The sweep hands the two scheduled campaigns to the worker; the rejected offer stays unsent.
        assert await server.services.campaigns.start_due() == 2
        await run_worker(settings)
        messages = await smtp_sink.wait_for(4)
        assert sorted((m["To"], m["Subject"]) for m in messages) == [
            ("c1@example.com", "News for c1"), ("c2@example.com", "News for c2"), ("c3@example.com", "News for c3"),
            ("c3@example.com", "News for c3")]
        assert sorted(m.get_body(("plain",)).get_content().strip() for m in messages
                      if m["To"] == "c2@example.com") == ["For our premium customers in Brno."]
        campaigns, pages = await every_page(service_stubs.engagement.ListCampaigns, pb.ListCampaignsRequest,
                                            "campaigns", 2)
        assert pages == 2
        assert {c.name: (c.display_name, c.state, c.customers_targeted, c.deliveries_created) for c in campaigns} == {
            everyone.name: ("Everyone", pb.Campaign.COMPLETED, 3, 3),
            premium_prague.name: ("Premium in Prague", pb.Campaign.COMPLETED, 1, 1),
            offer.name: ("Premium card offer", pb.Campaign.REJECTED, 0, 0)}
        sent = await lisa.engagement.ListDeliveries(pb.ListDeliveriesRequest(campaign=premium_prague.name))
        assert [(d.customer_id, d.channel, d.state) for d in sent.deliveries] == [("c3", pb.CHANNEL_EMAIL, pb.SENT)]

        # A customer who joins the filter later is not sent a completed campaign; the sweep sends nothing more.
        await service_stubs.ingest.UpsertCustomer(ingest.UpsertCustomerRequest(customer=customer(
            "c4", segment="premium", city="Prague")))
        assert await server.services.campaigns.start_due() == 0
        await run_worker(settings)
        assert len(smtp_sink.messages) == 4


async def test_a_one_time_password_by_push_reaches_the_device_and_verifies_once(server, settings, tenant,
                                                                                 service_stubs, smtp_sink,
                                                                                 provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        # Opted out of push: a one-time password is sent all the same.
        await add_customer(service_stubs, bank.app, preferences=pb.Preferences(opted_out_channels=[pb.CHANNEL_PUSH]))
        # Unspecified channel: push, because the customer has a device of a published app.
        sent = await service_stubs.engagement.SendOtp(pb.SendOtpRequest(customer_id="lisa-customer",
                                                                        purpose="payment"))
        assert (sent.channel, sent.delivery.channel, sent.delivery.state) == (pb.CHANNEL_PUSH, pb.CHANNEL_PUSH,
                                                                              pb.QUEUED)
        assert sent.name.startswith("otps/") and sent.expire_time.seconds > 0
        await run_worker(settings)
        [push] = await provider_sink.wait_for("fcm", 1)
        message = push.body["message"]
        assert message["token"] == "fcm-device-token-1"
        assert message["notification"]["title"] == f"{tenant} security code"
        body = message["notification"]["body"]
        code = re.fullmatch(r"Your code for payment is (\d+)\. It expires in \d+ minutes\. Never share it\.",
                            body).group(1)
        delivered = await admin.engagement.GetDelivery(pb.GetDeliveryRequest(name=sent.delivery.name))
        assert (delivered.state, delivered.channel, delivered.provider) == (pb.SENT, pb.CHANNEL_PUSH, "fcm")

        wrong = "0" * len(code) if code != "0" * len(code) else "1" * len(code)
        failed_code, reason, _ = await failure(service_stubs.engagement.VerifyOtp(pb.VerifyOtpRequest(
            name=sent.name, code=wrong)))
        assert (failed_code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "OTP_WRONG_CODE")
        # The customer's own app verifies the code it was pushed, once.
        async with server.stubs(server.token(tenant, Role.USER, "lisa-customer")) as app:
            verified = await app.engagement.VerifyOtp(pb.VerifyOtpRequest(name=sent.name, code=code))
            assert verified.verified
            failed_code, reason, _ = await failure(app.engagement.VerifyOtp(pb.VerifyOtpRequest(
                name=sent.name, code=code)))
            assert (failed_code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "OTP_ALREADY_USED")

        # Asked for by push explicitly, for a customer without a device: refused, nothing recorded.
        await add_customer(service_stubs, bank.app, "petr-customer", push_token="")
        failed_code, reason, _ = await failure(service_stubs.engagement.SendOtp(pb.SendOtpRequest(
            customer_id="petr-customer", purpose="login", channel=pb.CHANNEL_PUSH)))
        assert (failed_code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "OTP_NO_ADDRESS")
        await run_worker(settings)
        assert (len(provider_sink.received("fcm")), len(provider_sink.received("twilio")),
                len(smtp_sink.messages)) == (1, 0, 0)
        assert len((await admin.engagement.ListDeliveries(pb.ListDeliveriesRequest())).deliveries) == 1
