"""Campaigns to a persona or an audience of personas, through gRPC and the real worker on both
databases: the recipients are the members kept in persona_members, joined in SQL; the attribute filter
still selects by the customers' ingested attributes."""

from __future__ import annotations

import grpc

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.personas.v1 import personas_service_pb2 as ppb
from server.domain.auth import Role
from tests.e2e.test_personas_audiences import PEOPLE, audience, set_up_personas
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import customer, failure
from tests.support.yes_bank import add_customer, set_up_yes_bank


async def test_a_campaign_goes_to_a_personas_or_an_audiences_members(server, settings, tenant, service_stubs,
                                                                     smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        for customer_id in PEOPLE:
            await add_customer(service_stubs, bank.app, customer_id, email=f"{customer_id}@example.com",
                               phone="", push_token="")
        await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer("c3", segment="vip")))
        await set_up_personas(server, tenant, service_stubs, upsert_customers=False)
        await admin.personas.CreateAudience(audience("travelling_savers", ["personas/globetrotter", "personas/saver"],
                                                     ppb.AUDIENCE_MODE_ALL))
        event = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Offer", description="an offer", event_type=bank.event_type, app=bank.app,
            messages=[pb.EventMessage(channel=pb.CHANNEL_EMAIL, content=pb.MessageContent(
                email=pb.EmailContent(subject="{{ event.name }} for {{ customer.id }}", text="Hello.")))])))

        async def send(name: str, target: pb.Audience) -> list[str]:
            campaign = await admin.engagement.CreateCampaign(pb.CreateCampaignRequest(campaign=pb.Campaign(
                display_name=name, event=event.name, audience=target)))
            assert campaign.audience == target
            sent_before = len(smtp_sink.messages)
            await server.services.campaigns.start_due()
            await run_worker(settings)
            done = await admin.engagement.GetCampaign(pb.GetCampaignRequest(name=campaign.name))
            assert done.state == pb.Campaign.COMPLETED
            messages = await smtp_sink.wait_for(sent_before + done.deliveries_created)
            return sorted(m["To"].split("@")[0] for m in messages[sent_before:])

        assert await send("Travellers", pb.Audience(persona="personas/globetrotter")) == ["c1", "c2", "c4"]
        assert await send("Both", pb.Audience(named_audience="audiences/travelling_savers")) == ["c1", "c4"]
        assert await send("VIPs", pb.Audience(attribute_filter=pb.AttributeFilter(equals={"segment": "vip"}))) \
            == ["c3"]

        for target, reason in ((pb.Audience(persona="personas/nobody"), "PERSONA_NOT_FOUND"),
                               (pb.Audience(named_audience="audiences/nobody"), "AUDIENCE_NOT_FOUND")):
            assert (await failure(admin.engagement.CreateCampaign(pb.CreateCampaignRequest(campaign=pb.Campaign(
                display_name="x", event=event.name, audience=target)))))[:2] == (grpc.StatusCode.NOT_FOUND, reason)
