"""The campaign sweep (start_due_campaigns) and the monthly insight schedule (start_due_insight_batches)
as the deployment runs them: the cron jobs of workers.settings on a real arq worker, each driven once
with an injected clock, before and after its moment. What they start goes on on the same worker to the
SMTP and push sinks, which count every request."""

import dataclasses
import datetime as dt

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.insights.v1 import insights_service_pb2 as insights
from server.bootstrap import Services
from server.domain.auth import Role
from server.services.campaigns import CampaignService
from server.services.clock import Clock
from server.services.insights import InsightsService
from tests.e2e.test_insights_savings import day, seed_reference_customer
from tests.support.crons import run_cron_once
from tests.support.yes_bank import add_customer, set_up_yes_bank


async def run_clocked(settings, cron: str, clock: Clock) -> object:
    """The deployment's cron `cron` run once on a burst worker whose campaign and insight services are on
    `clock`; returns what the cron run returned."""

    def clocked(s: Services) -> Services:
        return dataclasses.replace(
            s, campaigns=CampaignService(s.database, s.secret_box, s.publisher, s.engagement, clock=clock),
            insights=InsightsService(s.database, s.catalogue, s.publisher, s.publisher, clock=clock))

    return await run_cron_once(settings, cron, clocked)


async def test_the_campaign_and_insight_crons_start_what_is_due_on_the_worker(server, settings, tenant,
                                                                             service_stubs, smtp_sink,
                                                                             provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app, "c1", email="c1@example.com", phone="", push_token="")

        # A campaign with a send time: the sweep an hour before it starts nothing, the one after it sends.
        # (The send time has passed on the wall clock, so that what the clocked sweep records is due for
        # the dispatcher, which keeps the real time.)
        send_time = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)).replace(microsecond=0)
        notice = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Timed notice", description="Sent at its time", event_type=bank.event_type, app=bank.app,
            messages=[pb.EventMessage(channel=pb.CHANNEL_EMAIL, content=pb.MessageContent(email=pb.EmailContent(
                subject="Notice for {{ customer.id }}", text="On time.")))])))
        campaign = await admin.engagement.CreateCampaign(pb.CreateCampaignRequest(campaign=pb.Campaign(
            display_name="Timed notice", event=notice.name, send_time=send_time,
            audience=pb.Audience(customer_list=pb.CustomerList(customer_ids=["c1"])))))
        assert campaign.send_time.ToDatetime(dt.UTC) == send_time
        assert await run_clocked(settings, "start_due_campaigns", lambda: send_time - dt.timedelta(hours=1)) == 0
        waiting = await admin.engagement.GetCampaign(pb.GetCampaignRequest(name=campaign.name))
        assert (waiting.state, waiting.deliveries_created) == (pb.Campaign.SCHEDULED, 0)
        assert smtp_sink.messages == []
        assert await run_clocked(settings, "start_due_campaigns", lambda: send_time + dt.timedelta(minutes=1)) == 1
        [email] = await smtp_sink.wait_for(1)
        assert (email["To"], email["Subject"]) == ("c1@example.com", "Notice for c1")
        done = await admin.engagement.GetCampaign(pb.GetCampaignRequest(name=campaign.name))
        assert (done.state, done.customers_targeted, done.deliveries_created) == (pb.Campaign.COMPLETED, 1, 1)

        # The monthly schedule: nothing on the 2nd; on the 1st (the tenant's zone, UTC) the month's
        # batch runs on the worker and its new item reaches the customer's device.
        await seed_reference_customer(service_stubs, "u1")
        await add_customer(service_stubs, bank.app, "u1", email="", phone="", with_account=False)
        event = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Savings grew", description="Push for the savings insight", event_type=bank.event_type,
            app=bank.app, messages=[pb.EventMessage(channel=pb.CHANNEL_PUSH, content=pb.MessageContent(
                push=pb.PushContent(title="Your savings grew",
                                    body="Up {{ insight.figures.change_percent }}% on your average: move "
                                         "{{ insight.figures.suggested_amount }} {{ insight.figures.currency }} "
                                         "to {{ insight.figures.suggested_to }}?")))])))
        await admin.engagement.CreateInsightNotification(pb.CreateInsightNotificationRequest(
            insight_notification=pb.InsightNotification(insight_name="SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE",
                                                        event=event.name)))
        second = dt.datetime(2021, 7, 2, 10, tzinfo=dt.UTC)
        assert await run_clocked(settings, "start_due_insight_batches", lambda: second) == 0
        assert list((await admin.insights.ListInsightBatches(insights.ListInsightBatchesRequest())).insight_batches
                    ) == []
        first = dt.datetime(2021, 7, 1, 10, tzinfo=dt.UTC)
        assert await run_clocked(settings, "start_due_insight_batches", lambda: first) == 1
        [batch] = (await admin.insights.ListInsightBatches(insights.ListInsightBatchesRequest())).insight_batches
        assert (batch.as_of, batch.state, batch.users_evaluated, batch.items_generated) == (
            day(first.date()), insights.BATCH_STATE_SUCCEEDED, 2, 1)
        [push] = await provider_sink.wait_for("fcm", 1)
        assert push.body["message"]["notification"] == {
            "title": "Your savings grew", "body": "Up 11.88% on your average: move 26555.01 USD to u1-sav?"}
        # The month's item is there: a trigger later in July finds it.
        later = await service_stubs.insights.TriggerInsights(insights.TriggerInsightsRequest(
            customer_id="u1", as_of=day(dt.date(2021, 7, 3))))
        assert [(n.reason, n.period) for n in later.not_generated
                if n.insight_name == "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE"] == [("ALREADY_GENERATED", "2021-07")]
        assert list(later.generated) == []
        assert (len(smtp_sink.messages), len(provider_sink.received("fcm")),
                len(provider_sink.received("twilio"))) == (1, 1, 0)
