"""Channel fallback, as a bank sets it up and a customer gets it: the event type's policy (push, then SMS
if push is not delivered in time, then email) through gRPC, the sends through the real worker to the
provider sinks and the SMTP sink, and the delivery receipts as the app (push) and Twilio (SMS) post
them to the receipt URLs the messages carried. Every request a sink got is counted: a step that is not
needed is never sent, and a late receipt sends nothing more."""

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from google.protobuf import duration_pb2

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from server.domain.engagement.receipts import twilio_signature
from server.receipts import receipts_app
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import failure
from tests.support.ports import free_port
from tests.support.yes_bank import add_customer, set_up_yes_bank

LONG = duration_pb2.Duration(seconds=3600)
SHORT = duration_pb2.Duration(seconds=1)


@pytest.fixture
def receipts_port() -> int:
    return free_port()


@pytest.fixture
def settings(settings, receipts_port):
    settings.receipts_base_url = f"http://127.0.0.1:{receipts_port}/receipts"
    return settings


@pytest_asyncio.fixture
async def receipts_endpoint(server, receipts_port) -> AsyncIterator[str]:
    runner = web.AppRunner(receipts_app(server.services), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receipts_port).start()
    yield server.settings.receipts_base_url
    await runner.cleanup()


def policy(*steps: tuple[int, duration_pb2.Duration | None]) -> pb.FallbackPolicy:
    return pb.FallbackPolicy(steps=[pb.FallbackStep(channel=channel, wait=wait) for channel, wait in steps])


async def _bank(server, tenant, smtp_sink, provider_sink, fallback: pb.FallbackPolicy):
    admin = server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa"))
    bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                 provider_base_url=provider_sink.base_url)
    updated = await admin.engagement.UpdateEventType(pb.UpdateEventTypeRequest(
        event_type=pb.EventType(name=bank.event_type, fallback_policy=fallback),
        update_mask={"paths": ["fallback_policy"]}))
    assert updated.fallback_policy == fallback
    return admin, bank


async def _trigger(service_stubs, bank) -> dict[int, pb.Delivery]:
    sent = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
        event=bank.notice_event, customer_id="lisa-customer", data={"note": "card blocked"}))
    return {d.channel: d for d in sent.deliveries}


async def _now(admin, deliveries: dict[int, pb.Delivery]) -> dict[int, pb.Delivery]:
    return {channel: await admin.engagement.GetDelivery(pb.GetDeliveryRequest(name=d.name))
            for channel, d in deliveries.items()}


async def _past_deadline(delivery: pb.Delivery) -> None:
    """Waits out a step's (one second) wait, as the stored deadline says."""
    left = delivery.fallback.deadline.ToDatetime(dt.UTC) - dt.datetime.now(dt.UTC)
    await asyncio.sleep(max(left.total_seconds(), 0) + 0.05)


async def _app_reports(provider_sink, status: str, index: int = 0) -> int:
    """The app that got push number `index` reports it to the receipt URL the push carried."""
    data = provider_sink.received("fcm")[index].body["message"]["data"]
    async with httpx.AsyncClient() as client:
        answer = await client.post(data["receipt_url"], json={"delivery_id": data["delivery_id"], "status": status})
    return answer.status_code


async def _twilio_reports(provider_sink, status: str) -> int:
    [request] = provider_sink.received("twilio")
    url = request.body["StatusCallback"]
    form = {"MessageSid": request.response_id, "MessageStatus": status}
    async with httpx.AsyncClient() as client:
        answer = await client.post(url, data=form, headers={"X-Twilio-Signature": twilio_signature(
            "twilio-token", url, form)})
    return answer.status_code


def _counts(provider_sink, smtp_sink) -> tuple[int, int, int]:
    """Requests the push and SMS providers got, and messages the SMTP server got."""
    return provider_sink.requests.get("fcm", 0), provider_sink.requests.get("twilio", 0), len(smtp_sink.messages)


async def test_push_delivered_ends_the_chain_before_sms(server, settings, tenant, service_stubs, smtp_sink,
                                                        provider_sink, receipts_endpoint):
    admin, bank = await _bank(server, tenant, smtp_sink, provider_sink,
                              policy((pb.CHANNEL_PUSH, LONG), (pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, None)))
    await add_customer(service_stubs, bank.app)
    planned = await _trigger(service_stubs, bank)
    push, sms, email = planned[pb.CHANNEL_PUSH], planned[pb.CHANNEL_SMS], planned[pb.CHANNEL_EMAIL]
    assert (push.state, push.fallback.step, push.fallback.state) == (pb.QUEUED, 1, pb.FALLBACK_STEP_CURRENT)
    assert push.fallback.deadline.ToDatetime(dt.UTC) - push.fallback.start_time.ToDatetime(dt.UTC) == \
        dt.timedelta(hours=1)
    assert [(d.state, d.fallback.step, d.fallback.state) for d in (sms, email)] == \
        [(pb.HELD, 2, pb.FALLBACK_STEP_WAITING), (pb.HELD, 3, pb.FALLBACK_STEP_WAITING)]

    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 0, 0)
    assert await _app_reports(provider_sink, "DELIVERED") == 204
    now = await _now(admin, planned)
    assert (now[pb.CHANNEL_PUSH].state, now[pb.CHANNEL_PUSH].fallback.state) == \
        (pb.DELIVERED, pb.FALLBACK_STEP_DELIVERED)
    assert not now[pb.CHANNEL_PUSH].fallback.HasField("deadline")
    for channel in (pb.CHANNEL_SMS, pb.CHANNEL_EMAIL):
        assert (now[channel].state, now[channel].skip_reason, now[channel].fallback.state) == \
            (pb.SKIPPED, "FALLBACK_NOT_NEEDED", pb.FALLBACK_STEP_NOT_NEEDED)
        assert now[channel].fallback.HasField("end_time")
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 0, 0)
    await admin.close()


async def test_an_app_reporting_before_the_push_is_recorded_as_sent_still_ends_the_chain(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint):
    admin, bank = await _bank(server, tenant, smtp_sink, provider_sink,
                              policy((pb.CHANNEL_PUSH, SHORT), (pb.CHANNEL_SMS, None)))
    await add_customer(service_stubs, bank.app)
    provider_sink.report_before_answering("fcm", "DELIVERED")  # while the worker waits on FCM's answer
    planned = await _trigger(service_stubs, bank)
    await run_worker(settings)
    assert provider_sink.early_report_answers == [204]
    await _past_deadline(planned[pb.CHANNEL_PUSH])
    await run_worker(settings)
    now = await _now(admin, planned)
    push = now[pb.CHANNEL_PUSH]
    assert (push.state, push.fallback.state) == (pb.DELIVERED, pb.FALLBACK_STEP_DELIVERED)
    assert push.HasField("sent_time") and push.HasField("delivered_time")
    assert (now[pb.CHANNEL_SMS].state, now[pb.CHANNEL_SMS].skip_reason) == (pb.SKIPPED, "FALLBACK_NOT_NEEDED")
    assert provider_sink.requests.get("twilio", 0) == 0
    await admin.close()


async def test_push_not_delivered_in_time_falls_back_to_sms_and_its_delivery_ends_the_chain(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint):
    admin, bank = await _bank(server, tenant, smtp_sink, provider_sink,
                              policy((pb.CHANNEL_PUSH, SHORT), (pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, None)))
    await add_customer(service_stubs, bank.app)
    planned = await _trigger(service_stubs, bank)
    # No worker runs until the push step's deadline has passed (a worker that is sending could see it
    # pass or not, as the machine goes): then one sends the push, and its sweep finds the stored
    # deadline passed and sends the SMS. A timer in a worker's memory would have been lost with it.
    await _past_deadline(planned[pb.CHANNEL_PUSH])
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 1, 0)
    now = await _now(admin, planned)
    push, sms = now[pb.CHANNEL_PUSH], now[pb.CHANNEL_SMS]
    assert (push.state, push.fallback.state) == (pb.SENT, pb.FALLBACK_STEP_TIMED_OUT)
    assert (sms.state, sms.fallback.state) == (pb.SENT, pb.FALLBACK_STEP_CURRENT)
    assert sms.fallback.start_time.ToDatetime(dt.UTC) >= planned[pb.CHANNEL_PUSH].fallback.deadline.ToDatetime(dt.UTC)
    assert push.fallback.end_time == sms.fallback.start_time
    assert now[pb.CHANNEL_EMAIL].state == pb.HELD

    assert await _twilio_reports(provider_sink, "delivered") == 204
    now = await _now(admin, planned)
    assert (now[pb.CHANNEL_SMS].state, now[pb.CHANNEL_SMS].fallback.state) == (pb.DELIVERED,
                                                                             pb.FALLBACK_STEP_DELIVERED)
    assert (now[pb.CHANNEL_EMAIL].state, now[pb.CHANNEL_EMAIL].fallback.state) == (pb.SKIPPED,
                                                                                 pb.FALLBACK_STEP_NOT_NEEDED)
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 1, 0)
    # The chain, read back with the event's deliveries.
    listed = await admin.engagement.ListDeliveries(pb.ListDeliveriesRequest(event=bank.notice_event))
    assert sorted((d.fallback.step, d.fallback.state) for d in listed.deliveries) == [
        (1, pb.FALLBACK_STEP_TIMED_OUT), (2, pb.FALLBACK_STEP_DELIVERED), (3, pb.FALLBACK_STEP_NOT_NEEDED)]
    await admin.close()


async def test_no_mobile_number_goes_straight_to_email(server, settings, tenant, service_stubs, smtp_sink,
                                                       provider_sink, receipts_endpoint):
    admin, bank = await _bank(server, tenant, smtp_sink, provider_sink,
                              policy((pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, None)))
    await add_customer(service_stubs, bank.app, phone="")
    planned = await _trigger(service_stubs, bank)
    sms, email = planned[pb.CHANNEL_SMS], planned[pb.CHANNEL_EMAIL]
    assert (sms.state, sms.fallback.state) == (pb.SKIPPED, pb.FALLBACK_STEP_SKIPPED)
    assert (email.state, email.fallback.step, email.fallback.state) == (pb.QUEUED, 2, pb.FALLBACK_STEP_CURRENT)
    assert not email.fallback.HasField("deadline")  # the last step: nothing after it to wait for
    # Push is not in the policy: sent at once, as without one.
    assert not planned[pb.CHANNEL_PUSH].HasField("fallback")
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 0, 1)
    assert smtp_sink.messages[0]["To"] == "lisa@example.com"
    await admin.close()


async def test_failures_move_on_at_once_and_a_late_receipt_sends_nothing_more(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint):
    admin, bank = await _bank(server, tenant, smtp_sink, provider_sink,
                              policy((pb.CHANNEL_PUSH, LONG), (pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, None)))
    await add_customer(service_stubs, bank.app)
    planned = await _trigger(service_stubs, bank)
    await run_worker(settings)
    # The app says the push failed: SMS goes without waiting out the hour; said twice, once.
    assert await _app_reports(provider_sink, "FAILED") == 204
    assert await _app_reports(provider_sink, "FAILED") == 204
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 1, 0)
    now = await _now(admin, planned)
    assert [now[c].fallback.state for c in (pb.CHANNEL_PUSH, pb.CHANNEL_SMS, pb.CHANNEL_EMAIL)] == \
        [pb.FALLBACK_STEP_FAILED, pb.FALLBACK_STEP_CURRENT, pb.FALLBACK_STEP_WAITING]
    # Twilio reports the SMS undelivered: email goes.
    assert await _twilio_reports(provider_sink, "undelivered") == 204
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 1, 1)
    # The push's late DELIVERED (the handset was offline): recorded, and nothing more is sent.
    assert await _app_reports(provider_sink, "DELIVERED") == 204
    assert await _twilio_reports(provider_sink, "delivered") == 204
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 1, 1)
    now = await _now(admin, planned)
    assert [(now[c].state, now[c].fallback.state) for c in (pb.CHANNEL_PUSH, pb.CHANNEL_SMS, pb.CHANNEL_EMAIL)] \
        == [(pb.DELIVERED, pb.FALLBACK_STEP_FAILED), (pb.DELIVERED, pb.FALLBACK_STEP_FAILED),
            (pb.SENT, pb.FALLBACK_STEP_CURRENT)]
    await admin.close()


async def test_a_push_the_provider_refuses_falls_back_in_the_same_run(server, settings, tenant, service_stubs,
                                                                       smtp_sink, provider_sink, receipts_endpoint):
    """FCM answers 404 UNREGISTERED (the app was uninstalled): the push fails for good when it is sent,
    and dispatch hands the chain to the SMS step at once, not at the push step's deadline an hour on."""
    admin, bank = await _bank(server, tenant, smtp_sink, provider_sink,
                              policy((pb.CHANNEL_PUSH, LONG), (pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, None)))
    await add_customer(service_stubs, bank.app)
    provider_sink.script("fcm", [404])
    planned = await _trigger(service_stubs, bank)
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 1, 0)
    now = await _now(admin, planned)
    assert (now[pb.CHANNEL_PUSH].state, now[pb.CHANNEL_PUSH].error_code, now[pb.CHANNEL_PUSH].fallback.state) == \
        (pb.FAILED, "FCM_UNREGISTERED", pb.FALLBACK_STEP_FAILED)
    assert (now[pb.CHANNEL_SMS].state, now[pb.CHANNEL_SMS].fallback.state) == (pb.SENT, pb.FALLBACK_STEP_CURRENT)
    await admin.close()


async def test_a_step_released_in_the_customers_quiet_hours_waits_them_out(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint):
    admin, bank = await _bank(server, tenant, smtp_sink, provider_sink,
                              policy((pb.CHANNEL_PUSH, SHORT), (pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, None)))
    await add_customer(service_stubs, bank.app)
    planned = await _trigger(service_stubs, bank)
    # After the trigger, the customer's night begins: quiet hours from an hour ago to an hour from now.
    now = dt.datetime.now(dt.UTC)
    quiet = pb.QuietHours(start=f"{now - dt.timedelta(hours=1):%H:%M}", end=f"{now + dt.timedelta(hours=1):%H:%M}",
                          time_zone="UTC")
    await add_customer(service_stubs, bank.app, preferences=pb.Preferences(quiet_hours=quiet), with_account=False)
    await _past_deadline(planned[pb.CHANNEL_PUSH])
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 0, 0)
    sms = (await _now(admin, planned))[pb.CHANNEL_SMS]
    assert (sms.state, sms.fallback.state) == (pb.QUEUED, pb.FALLBACK_STEP_CURRENT)
    due = sms.next_attempt_time.ToDatetime(dt.UTC)
    assert (due.hour, due.minute) == ((now + dt.timedelta(hours=1)).hour, (now + dt.timedelta(hours=1)).minute)
    assert due > now and sms.fallback.deadline.ToDatetime(dt.UTC) == due + dt.timedelta(hours=1)
    await admin.close()


async def test_a_step_the_customer_opted_out_of_since_the_trigger_is_passed_over(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint):
    admin, bank = await _bank(server, tenant, smtp_sink, provider_sink,
                              policy((pb.CHANNEL_PUSH, SHORT), (pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, None)))
    await add_customer(service_stubs, bank.app)
    planned = await _trigger(service_stubs, bank)
    await add_customer(service_stubs, bank.app, preferences=pb.Preferences(opted_out_channels=[pb.CHANNEL_SMS]),
                       with_account=False)
    await _past_deadline(planned[pb.CHANNEL_PUSH])
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 0, 1)
    now = await _now(admin, planned)
    assert (now[pb.CHANNEL_SMS].state, now[pb.CHANNEL_SMS].skip_reason, now[pb.CHANNEL_SMS].fallback.state) == \
        (pb.SKIPPED, "OPTED_OUT_CHANNEL", pb.FALLBACK_STEP_SKIPPED)
    assert (now[pb.CHANNEL_EMAIL].state, now[pb.CHANNEL_EMAIL].fallback.state) == (pb.SENT, pb.FALLBACK_STEP_CURRENT)
    await admin.close()


async def test_one_sweep_moves_many_chains_each_by_its_own_customers_preferences(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint):
    """The chains timed out at once are moved by one sweep (one read of them all): each releases its next
    step as its own customer's preferences say, not another customer's."""
    admin, bank = await _bank(server, tenant, smtp_sink, provider_sink,
                              policy((pb.CHANNEL_PUSH, SHORT), (pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, None)))
    await add_customer(service_stubs, bank.app)
    await add_customer(service_stubs, bank.app, "mark-customer", email="mark@example.com", phone="+420601234568",
                       push_token="fcm-device-token-2")
    planned = {}
    for customer in ("lisa-customer", "mark-customer"):
        sent = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=bank.notice_event, customer_id=customer, data={"note": "card blocked"}))
        planned[customer] = {d.channel: d for d in sent.deliveries}
    await add_customer(service_stubs, bank.app, "mark-customer", email="mark@example.com", phone="+420601234568",
                       push_token="fcm-device-token-2", with_account=False,
                       preferences=pb.Preferences(opted_out_channels=[pb.CHANNEL_SMS]))
    await _past_deadline(max((p[pb.CHANNEL_PUSH] for p in planned.values()),
                             key=lambda d: d.fallback.deadline.ToDatetime(dt.UTC)))
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (2, 1, 1)
    assert [recipients for _, recipients in smtp_sink.envelopes] == [["mark@example.com"]]
    lisa, mark = await _now(admin, planned["lisa-customer"]), await _now(admin, planned["mark-customer"])
    assert [(d.state, d.fallback.state) for d in (lisa[pb.CHANNEL_SMS], lisa[pb.CHANNEL_EMAIL])] == \
        [(pb.SENT, pb.FALLBACK_STEP_CURRENT), (pb.HELD, pb.FALLBACK_STEP_WAITING)]
    assert [(d.state, d.skip_reason, d.fallback.state) for d in (mark[pb.CHANNEL_SMS], mark[pb.CHANNEL_EMAIL])] == \
        [(pb.SKIPPED, "OPTED_OUT_CHANNEL", pb.FALLBACK_STEP_SKIPPED), (pb.SENT, "", pb.FALLBACK_STEP_CURRENT)]
    await admin.close()


async def test_batch_triggers_plan_a_chain_each(server, settings, tenant, service_stubs, smtp_sink, provider_sink,
                                                receipts_endpoint):
    admin, bank = await _bank(server, tenant, smtp_sink, provider_sink,
                              policy((pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, None)))
    await add_customer(service_stubs, bank.app)
    await add_customer(service_stubs, bank.app, "no-phone-customer", phone="", push_token="")
    answer = await service_stubs.engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(requests=[
        pb.TriggerEventRequest(event=bank.notice_event, customer_id=customer, data={"note": "n"})
        for customer in ("lisa-customer", "no-phone-customer")]))
    states = [sorted((d.channel, d.state, d.fallback.state) for d in r.deliveries) for r in answer.responses]
    assert states == [
        [(pb.CHANNEL_EMAIL, pb.HELD, pb.FALLBACK_STEP_WAITING), (pb.CHANNEL_SMS, pb.QUEUED, pb.FALLBACK_STEP_CURRENT),
         (pb.CHANNEL_PUSH, pb.QUEUED, 0)],
        [(pb.CHANNEL_EMAIL, pb.QUEUED, pb.FALLBACK_STEP_CURRENT),
         (pb.CHANNEL_SMS, pb.SKIPPED, pb.FALLBACK_STEP_SKIPPED), (pb.CHANNEL_PUSH, pb.SKIPPED, 0)]]
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 1, 1)
    assert [recipients for _, recipients in smtp_sink.envelopes] == [["lisa@example.com"]]
    await admin.close()


async def test_a_late_push_receipt_after_the_timeout_sends_nothing_more(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint):
    admin, bank = await _bank(server, tenant, smtp_sink, provider_sink,
                              policy((pb.CHANNEL_PUSH, SHORT), (pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, None)))
    await add_customer(service_stubs, bank.app)
    planned = await _trigger(service_stubs, bank)
    await _past_deadline(planned[pb.CHANNEL_PUSH])
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 1, 0)
    # The push arrives late: the customer has the message, so the email is not needed any more, and the
    # SMS step (already sent) no longer times out.
    assert await _app_reports(provider_sink, "DELIVERED") == 204
    now = await _now(admin, planned)
    assert (now[pb.CHANNEL_PUSH].state, now[pb.CHANNEL_PUSH].fallback.state) == (pb.DELIVERED,
                                                                               pb.FALLBACK_STEP_TIMED_OUT)
    assert not now[pb.CHANNEL_SMS].fallback.HasField("deadline")
    assert now[pb.CHANNEL_EMAIL].fallback.state == pb.FALLBACK_STEP_NOT_NEEDED
    await run_worker(settings)
    assert _counts(provider_sink, smtp_sink) == (1, 1, 0)
    await admin.close()


async def test_fallback_policies_are_checked_with_stable_codes(server, tenant, smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        e = admin.engagement
        for bad, field in [
            (policy((pb.CHANNEL_PUSH, None), (pb.CHANNEL_SMS, None)), "event_type.fallback_policy.steps[0].wait"),
            (policy((pb.CHANNEL_PUSH, LONG), (pb.CHANNEL_PUSH, None)), "event_type.fallback_policy.steps[1].channel"),
            (policy((pb.CHANNEL_PASS, LONG), (pb.CHANNEL_SMS, None)), "event_type.fallback_policy.steps[0].channel"),
            (policy((pb.CHANNEL_PUSH, duration_pb2.Duration(seconds=8 * 86400)), (pb.CHANNEL_SMS, None)),
             "event_type.fallback_policy.steps[0].wait"),
            # The longest a Duration may be: refused as too long, not an INTERNAL overflow.
            (policy((pb.CHANNEL_PUSH, duration_pb2.Duration(seconds=315_576_000_000)), (pb.CHANNEL_SMS, None)),
             "event_type.fallback_policy.steps[0].wait"),
            (policy((pb.CHANNEL_PUSH, duration_pb2.Duration(seconds=1, nanos=500_000_000)), (pb.CHANNEL_SMS, None)),
             "event_type.fallback_policy.steps[0].wait"),
            (policy((pb.CHANNEL_PUSH, duration_pb2.Duration(seconds=-5)), (pb.CHANNEL_SMS, None)),
             "event_type.fallback_policy.steps[0].wait"),
            (policy((pb.CHANNEL_PUSH, LONG), (pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, LONG),
                    (pb.CHANNEL_UNSPECIFIED, None)), "event_type.fallback_policy.steps[3].channel"),
        ]:
            code, reason, fields = await failure(e.CreateEventType(pb.CreateEventTypeRequest(
                event_type=pb.EventType(display_name="Payments", fallback_policy=bad))))
            assert code == grpc.StatusCode.INVALID_ARGUMENT, bad
            assert reason in ("FALLBACK_POLICY_INVALID", "CHANNEL_REQUIRED"), bad
            assert field in fields, (bad, fields)
        kind = await e.CreateEventType(pb.CreateEventTypeRequest(event_type=pb.EventType(
            display_name="Payments", fallback_policy=policy((pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, LONG)))))
        # The last step's wait means nothing and is not kept.
        assert kind.fallback_policy == policy((pb.CHANNEL_SMS, LONG), (pb.CHANNEL_EMAIL, None))
        listed = await e.ListEventTypes(pb.ListEventTypesRequest())
        assert [k.fallback_policy for k in listed.event_types] == [kind.fallback_policy]
        removed = await e.UpdateEventType(pb.UpdateEventTypeRequest(
            event_type=pb.EventType(name=kind.name, display_name="Payments and cards"),
            update_mask={"paths": ["display_name", "fallback_policy"]}))
        assert (removed.display_name, removed.HasField("fallback_policy")) == ("Payments and cards", False)
        assert (await failure(e.UpdateEventType(pb.UpdateEventTypeRequest(
            event_type=pb.EventType(name="eventTypes/nope", display_name="x"),
            update_mask={"paths": ["display_name"]}))))[:2] == (grpc.StatusCode.NOT_FOUND, "EVENT_TYPE_NOT_FOUND")
        assert (await failure(e.UpdateEventType(pb.UpdateEventTypeRequest(
            event_type=pb.EventType(name=kind.name), update_mask={"paths": ["create_time"]}))))[0] == \
            grpc.StatusCode.INVALID_ARGUMENT
    async with server.stubs(server.token(tenant, Role.SERVICE, "svc")) as service:
        assert (await failure(service.engagement.UpdateEventType(pb.UpdateEventTypeRequest(
            event_type=pb.EventType(name=kind.name, display_name="x"),
            update_mask={"paths": ["display_name"]}))))[0] == grpc.StatusCode.PERMISSION_DENIED


async def test_an_apps_report_counts_only_for_its_own_configurations_pushes(
        server, settings, services, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint):
    """A push receipt URL belongs to one configuration of one bank: a report there naming a delivery sent
    through another configuration, or another bank's URL naming ours, changes nothing and sends nothing."""
    admin, bank = await _bank(server, tenant, smtp_sink, provider_sink,
                              policy((pb.CHANNEL_PUSH, LONG), (pb.CHANNEL_SMS, None)))
    await add_customer(service_stubs, bank.app)
    planned = await _trigger(service_stubs, bank)
    await run_worker(settings)
    data = provider_sink.received("fcm")[0].body["message"]["data"]
    report = {"delivery_id": data["delivery_id"], "status": "FAILED"}
    # The bank's SMS configuration's URL (Twilio), and another bank's push configuration's.
    sms_url = services.receipt_urls.url(tenant, bank.sms_config.split("/")[1])
    other = (await services.tenants.create("bank-other-push-receipts")).tenant_id
    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as eve:
        theirs = (await eve.engagement.CreateChannelConfig(pb.CreateChannelConfigRequest(
            channel_config=pb.ChannelConfig(channel=pb.CHANNEL_PUSH, provider="fcm", settings={
                "base_url": provider_sink.base_url, "project_id": "other"}, secrets={"access_token": "t"})))).name
    other_url = services.receipt_urls.url(other, theirs.split("/")[1])
    async with httpx.AsyncClient() as client:
        # Twilio signs its reports: an unsigned one is refused before it is read.
        assert (await client.post(sms_url, json=report)).status_code == 403
        assert (await client.post(other_url, json=report)).status_code == 204
        for odd in ({"delivery_id": data["delivery_id"], "status": "opened"}, {"status": "FAILED"},
                    {"delivery_id": "x" * 500, "status": "FAILED"}, {"delivery_id": "a\x00b", "status": "FAILED"}):
            assert (await client.post(data["receipt_url"], json=odd)).status_code == 204
    await run_worker(settings)
    now = await _now(admin, planned)
    assert (now[pb.CHANNEL_PUSH].state, now[pb.CHANNEL_PUSH].fallback.state) == (pb.SENT, pb.FALLBACK_STEP_CURRENT)
    assert now[pb.CHANNEL_SMS].state == pb.HELD
    assert _counts(provider_sink, smtp_sink) == (1, 0, 1)  # the email is not in the policy: sent at once
    await admin.close()

