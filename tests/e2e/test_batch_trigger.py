"""BatchTriggerEvents through the gRPC stubs and the real worker: many triggers in one call reach the
SMTP server and the provider endpoints once each, a repeated batch sends nothing more, and a batch with
one bad trigger records nothing and names the trigger at fault."""

import asyncio
import json
import uuid

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.engagement.v1 import engagement_service_pb2_grpc as engagement_grpc
from engage.ingest.v1 import ingest_service_pb2 as ingest
from server.domain.auth import Role
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import customer as customer_of
from tests.support.builders import error_info, failure
from tests.support.yes_bank import add_customer, set_up_yes_bank

CUSTOMERS = [f"batch-customer-{n}" for n in range(5)]


def _trigger(event: str, customer: str, note: str | None, request_id: str = "") -> pb.TriggerEventRequest:
    return pb.TriggerEventRequest(event=event, customer_id=customer, request_id=request_id,
                                  data={} if note is None else {"note": note})


async def _set_up(server, tenant, service_stubs, smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
    for n, customer in enumerate(CUSTOMERS):
        await add_customer(service_stubs, bank.app, customer, email=f"{customer}@example.com",
                           phone=f"+42060100000{n}", push_token=f"fcm-token-{n}")
    return bank


async def _deliveries(stubs) -> list[pb.Delivery]:
    return list((await stubs.engagement.ListDeliveries(pb.ListDeliveriesRequest(page_size=1000))).deliveries)


async def _failed_at(call) -> tuple[grpc.StatusCode, str, list[str], str]:
    """failure()'s (status, reason, fields) and the index of the request at fault, from ErrorInfo."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        for detail in rpc_status.from_call(error).details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                return (*error_info(error), info.metadata["request_index"])
    raise AssertionError("the call succeeded, or failed without an ErrorInfo")


async def test_a_batch_reaches_every_customer_once_and_a_repeated_batch_sends_nothing_more(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    bank = await _set_up(server, tenant, service_stubs, smtp_sink, provider_sink)
    requests = [_trigger(bank.notice_event, customer, f"note {n}", f"notice-{n}")
                for n, customer in enumerate(CUSTOMERS)]
    # The first request again, inside the same batch: a retry, answered with the first one's deliveries.
    batch = pb.BatchTriggerEventsRequest(requests=[*requests, requests[0]])

    answered = await service_stubs.engagement.BatchTriggerEvents(batch)

    assert len(answered.responses) == 6
    for response, customer in zip(answered.responses, [*CUSTOMERS, CUSTOMERS[0]], strict=True):
        assert sorted(d.channel for d in response.deliveries) == [pb.CHANNEL_EMAIL, pb.CHANNEL_SMS, pb.CHANNEL_PUSH]
        assert {(d.customer_id, d.state) for d in response.deliveries} == {(customer, pb.QUEUED)}
    assert [d.name for d in answered.responses[5].deliveries] == [d.name for d in answered.responses[0].deliveries]

    await run_worker(settings)

    emails = await smtp_sink.wait_for(5)
    assert sorted((m["To"], m.get_body(("plain",)).get_content().strip()) for m in emails) == [
        (f"{customer}@example.com", f"Notice: note {n}") for n, customer in enumerate(CUSTOMERS)]
    sms = await provider_sink.wait_for("twilio", 5)
    assert sorted((s.body["To"], s.body["Body"]) for s in sms) == [
        (f"+42060100000{n}", f"Notice: note {n}") for n in range(5)]
    pushes = await provider_sink.wait_for("fcm", 5)
    assert sorted(p.body["message"]["token"] for p in pushes) == [f"fcm-token-{n}" for n in range(5)]
    assert sorted(d.state for d in await _deliveries(service_stubs)) == [pb.SENT] * 15

    # The whole batch again (a caller that lost the answer): the same deliveries, nothing sent again.
    again = await service_stubs.engagement.BatchTriggerEvents(batch)
    assert [sorted(d.name for d in r.deliveries) for r in again.responses] == \
        [sorted(d.name for d in r.deliveries) for r in answered.responses]
    await run_worker(settings)
    assert len(smtp_sink.messages) == 5
    assert len(provider_sink.received("twilio")) == 5 and len(provider_sink.received("fcm")) == 5
    assert len(await _deliveries(service_stubs)) == 15


async def test_one_bad_trigger_fails_the_batch_names_it_and_records_nothing(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    bank = await _set_up(server, tenant, service_stubs, smtp_sink, provider_sink)
    good = [_trigger(bank.notice_event, customer, "hello") for customer in CUSTOMERS]
    engagement = service_stubs.engagement

    cases = [
        ([*good[:2], _trigger(bank.notice_event, "nobody", "hello"), *good[2:]],
         grpc.StatusCode.NOT_FOUND, "CUSTOMER_NOT_FOUND", [], "2"),
        ([*good[:3], _trigger("events/no-such-event", CUSTOMERS[0], "hello")],
         grpc.StatusCode.NOT_FOUND, "EVENT_NOT_FOUND", [], "3"),
        # The message uses {{ data.note }}: a trigger without it cannot be rendered.
        ([good[0], _trigger(bank.notice_event, CUSTOMERS[1], None), *good[2:]],
         grpc.StatusCode.INVALID_ARGUMENT, "TEMPLATE_TOKEN_MISSING", ["requests[1].data"], "1"),
        ([*good[:4], _trigger(bank.notice_event, "", "hello")],
         grpc.StatusCode.INVALID_ARGUMENT, "MISSING_CUSTOMER_ID", ["requests[4].customer_id"], "4"),
        ([good[0], _trigger(bank.notice_event, CUSTOMERS[1], "hello", "r" * 121)],
         grpc.StatusCode.INVALID_ARGUMENT, "REQUEST_ID_TOO_LONG", ["requests[1].request_id"], "1"),
    ]
    for requests, code, reason, fields, index in cases:
        assert await _failed_at(engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(requests=requests))) == \
            (code, reason, fields, index)
    assert await failure(engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(
        requests=[*good, _trigger("eventz/x", CUSTOMERS[0], "hello")]))) == (
        grpc.StatusCode.INVALID_ARGUMENT, "RESOURCE_NAME_INVALID", ["requests[5].event"])
    assert await failure(engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest())) == (
        grpc.StatusCode.INVALID_ARGUMENT, "BATCH_REQUESTS_REQUIRED", ["requests"])
    assert await failure(engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(
        requests=[_trigger(bank.notice_event, CUSTOMERS[n % 5], "hello") for n in range(1001)]))) == (
        grpc.StatusCode.INVALID_ARGUMENT, "BATCH_TOO_LARGE", ["requests"])

    # An event whose app is not published cannot send: the batch fails with the state error.
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        draft = await admin.engagement.CreateApp(pb.CreateAppRequest(app=pb.App(
            display_name="Draft app", category="BANKING", platforms=[pb.PLATFORM_WEB])))
        draft_event = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Draft event", description="Through an app not published", event_type=bank.event_type,
            app=draft.name, messages=[pb.EventMessage(channel=pb.CHANNEL_SMS, content=pb.MessageContent(
                sms=pb.SmsContent(text="Hello")))])))
    assert await _failed_at(engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(
        requests=[*good, _trigger(draft_event.name, CUSTOMERS[0], "x")]))) == (
        grpc.StatusCode.FAILED_PRECONDITION, "APP_NOT_PUBLISHED", [], "5")

    await run_worker(settings)
    assert await _deliveries(service_stubs) == []
    assert smtp_sink.messages == [] and provider_sink.received("twilio") == []

    # The good triggers alone go through.
    answered = await engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(requests=good))
    assert [len(r.deliveries) for r in answered.responses] == [3] * 5


async def test_a_batch_sees_only_its_own_bank_and_needs_a_sending_role(
        server, services, tenant, service_stubs, smtp_sink, provider_sink):
    bank = await _set_up(server, tenant, service_stubs, smtp_sink, provider_sink)
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with server.stubs(server.token(other)) as intruder:
        assert (await failure(intruder.engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(
            requests=[_trigger(bank.notice_event, CUSTOMERS[0], "hello")]))))[:2] == (
            grpc.StatusCode.NOT_FOUND, "EVENT_NOT_FOUND")
    async with server.stubs(server.token(tenant, Role.USER, CUSTOMERS[0])) as customer:
        assert (await failure(customer.engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(
            requests=[_trigger(bank.notice_event, CUSTOMERS[0], "hello")]))))[:2] == (
            grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    assert await _deliveries(service_stubs) == []


async def test_engagectl_triggers_an_event_for_a_list_of_customers(
        engagectl, server, settings, tenant, service_stubs, smtp_sink, provider_sink, tmp_path):
    bank = await _set_up(server, tenant, service_stubs, smtp_sink, provider_sink)
    listed = tmp_path / "customers.txt"
    listed.write_text("\n".join(CUSTOMERS[1:]) + "\n\n", encoding="utf-8")
    operator = server.token(tenant, Role.BANK_ADMIN, "lisa")
    command = ("--json", "events", "trigger", bank.notice_event, "--customer", CUSTOMERS[0], "--customers-file",
               str(listed), "--data", "note=Branch closed on Friday", "--request-id", "branch-notice")

    result = await engagectl(*command, token=operator)
    assert result.exit_code == 0, result.stderr
    first = json.loads(result.stdout)
    assert sorted({d["customer_id"] for d in first}) == CUSTOMERS and len(first) == 15
    await run_worker(settings)
    assert sorted(m["To"] for m in await smtp_sink.wait_for(5)) == [f"{c}@example.com" for c in CUSTOMERS]

    # Run again (the operator is not sure it went through): the same deliveries, nothing sent twice.
    again = await engagectl(*command, token=operator)
    assert again.exit_code == 0, again.stderr
    assert sorted(d["name"] for d in json.loads(again.stdout)) == sorted(d["name"] for d in first)
    await run_worker(settings)
    assert len(smtp_sink.messages) == 5 and len(provider_sink.received("twilio")) == 5

    listed.write_text(f"{CUSTOMERS[0]}\nnot-a-customer\n", encoding="utf-8")
    refused = await engagectl("events", "trigger", bank.notice_event, "--customers-file", str(listed), "--data",
                              "note=x", token=operator)
    assert refused.exit_code != 0 and "CUSTOMER_NOT_FOUND" in refused.stderr and "not-a-customer" in refused.stderr
    none = await engagectl("events", "trigger", bank.notice_event, token=operator)
    assert none.exit_code != 0 and "--customer" in none.stderr
    assert len(await _deliveries(service_stubs)) == 15


async def test_batches_at_the_same_moment_with_the_same_request_ids_each_send_once(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    # Three callers sending the same triggers in other orders at once: each request id gets one set of
    # deliveries, the same in every answer. (The order the keys are written in, which keeps such batches
    # out of a deadlock on PostgreSQL, is tested in test_trigger_writes.)
    bank = await _set_up(server, tenant, service_stubs, smtp_sink, provider_sink)
    requests = [_trigger(bank.notice_event, CUSTOMERS[n % 5], f"note {n}", f"same-{n}") for n in range(300)]
    for round_ in range(3):
        shuffled = [requests[(n * 7 + round_) % 300] for n in range(300)]
        answers = await asyncio.gather(*(service_stubs.engagement.BatchTriggerEvents(
            pb.BatchTriggerEventsRequest(requests=batch)) for batch in (requests, requests[::-1], shuffled)))
        by_request = [{r.request_id: sorted(d.name for d in a.deliveries) for r, a in zip(batch, answer.responses,
                                                                                           strict=True)}
                      for batch, answer in zip((requests, requests[::-1], shuffled), answers, strict=True)]
        assert by_request[0] == by_request[1] == by_request[2]
    assert len(await _deliveries(service_stubs)) == 900


async def test_a_batch_whose_messages_add_up_to_too_much_is_refused(server, tenant, service_stubs, smtp_sink,
                                                                    provider_sink):
    # Each message stays within its own limit (256 Ki characters a part), but a thousand of them would
    # hold about 500 MB of the shared server's memory at once.
    bank = await _set_up(server, tenant, service_stubs, smtp_sink, provider_sink)
    loop = "{% for c in data.times %}{{ data.text }}{% endfor %}"
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        long_mail = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Long mail", description="Long parts", event_type=bank.event_type, app=bank.app,
            messages=[pb.EventMessage(channel=pb.CHANNEL_EMAIL, content=pb.MessageContent(email=pb.EmailContent(
                subject="Statement", text=loop, html=loop)))])))
    data = {"times": "x" * 250, "text": "y" * 1000}
    requests = [pb.TriggerEventRequest(event=long_mail.name, customer_id=CUSTOMERS[n % 5], data=data)
                for n in range(1000)]
    assert await failure(service_stubs.engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(
        requests=requests))) == (grpc.StatusCode.INVALID_ARGUMENT, "BATCH_CONTENT_TOO_LARGE", ["requests"])
    assert await _deliveries(service_stubs) == []
    # Fewer at a time go through.
    answered = await service_stubs.engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(requests=requests[:20]))
    assert len(answered.responses) == 20
    assert [d.state for r in answered.responses for d in r.deliveries] == [pb.QUEUED] * 20


async def test_a_batch_whose_answer_would_not_fit_a_client_is_refused_before_it_is_recorded(
        server, tenant, service_stubs, smtp_sink, provider_sink):
    # Customers with 20 devices each: a thousand triggers would answer with 22,000 deliveries, more than
    # a gRPC client takes (4 MiB) by default: the triggers would be sent and the caller told they failed.
    bank = await _set_up(server, tenant, service_stubs, smtp_sink, provider_sink)
    customers = [f"customer-{n}-".ljust(64, "x") for n in range(5)]  # the longest customer ids
    for n, customer in enumerate(customers):
        await service_stubs.ingest.UpsertCustomer(ingest.UpsertCustomerRequest(customer=customer_of(customer)))
        await service_stubs.engagement.UpsertContact(pb.UpsertContactRequest(contact=pb.Contact(
            customer_id=customer, email=f"c{n}@example.com", phone=f"+42060200000{n}",
            devices=[pb.Device(app=bank.app, platform=pb.PLATFORM_ANDROID, push_token=f"token-{n}-{d}")
                     for d in range(20)])))
    requests = [_trigger(bank.notice_event, customers[n % 5], "hello") for n in range(1000)]
    assert await failure(service_stubs.engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(
        requests=requests))) == (grpc.StatusCode.INVALID_ARGUMENT, "BATCH_ANSWER_TOO_LARGE", ["requests"])
    assert await _deliveries(service_stubs) == []
    # Fewer at a time: answered in full to a client with gRPC's defaults (a bank's generated stub); all of
    # them would not have fitted.
    async with grpc.aio.insecure_channel(server.address) as channel:
        answered = await engagement_grpc.EngagementServiceStub(channel).BatchTriggerEvents(
            pb.BatchTriggerEventsRequest(requests=requests[:600]),
            metadata=(("authorization", f"Bearer {server.token(tenant)}"),))
    assert sum(len(r.deliveries) for r in answered.responses) == 600 * 22
    assert answered.ByteSize() < 4 * 1024 * 1024 < answered.ByteSize() * 1000 / 600
