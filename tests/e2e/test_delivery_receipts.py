"""Providers' delivery receipts, as a provider sends them: the workers give each SMS provider a callback
URL with the message (read here from the request the provider sink received), and the provider's report
to that URL, in its own format, turns the sent SMS into DELIVERED or FAILED. A URL whose token Engage
did not make is refused before anything is read, and no report reaches another tenant's messages."""

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from sqlalchemy import func, select

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from server.domain.engagement.entities import DeliveryState
from server.domain.engagement.receipts import parse_receipt, receipt_applies, twilio_signature
from server.receipts import receipts_app
from server.services.engagement import EARLY_RECEIPT_KEPT, EngagementService
from server.store.engagement_models import EarlyReceiptRow
from tests.integration.test_insight_batches import run_worker
from tests.support.ports import free_port
from tests.support.yes_bank import add_customer, set_up_yes_bank

# Where each provider's send request names the callback URL.
CALLBACK_FIELD = {"twilio": "StatusCallback", "vonage": "callback", "clickatell": "callbackUrl"}


@pytest.fixture
def receipts_port() -> int:
    return free_port()


@pytest.fixture
def settings(settings, receipts_port):
    # The server and the workers are built from these settings: both know the public receipt URL.
    settings.receipts_base_url = f"http://127.0.0.1:{receipts_port}/receipts"
    return settings


@pytest_asyncio.fixture
async def receipts_endpoint(server, receipts_port) -> AsyncIterator[str]:
    runner = web.AppRunner(receipts_app(server.services), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receipts_port).start()
    yield server.settings.receipts_base_url
    await runner.cleanup()


async def _send_sms(server, tenant, service_stubs, smtp_sink, provider_sink, settings, provider: str):
    """A bank with this SMS provider sends one SMS; returns the admin stubs, the bank, the sent delivery
    and the callback URL the provider was given."""
    admin = server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa"))
    bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                 provider_base_url=provider_sink.base_url, sms_provider=provider)
    await add_customer(service_stubs, bank.app, email="", push_token="")
    sent = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
        event=bank.notice_event, customer_id="lisa-customer", data={"note": "hello"}))
    await run_worker(settings)
    sms = await admin.engagement.GetDelivery(pb.GetDeliveryRequest(
        name=next(d.name for d in sent.deliveries if d.channel == pb.CHANNEL_SMS)))
    assert sms.state == pb.SENT
    [request] = provider_sink.received(provider)
    body = request.body
    return admin, bank, sms, body[CALLBACK_FIELD[provider]]


async def _state(admin, sms) -> pb.Delivery:
    return await admin.engagement.GetDelivery(pb.GetDeliveryRequest(name=sms.name))


async def test_twilio_reports_to_its_signed_callback_url(server, settings, tenant, service_stubs, smtp_sink,
                                                         provider_sink, receipts_endpoint):
    admin, bank, sms, url = await _send_sms(server, tenant, service_stubs, smtp_sink, provider_sink, settings,
                                            "twilio")
    config_id = bank.sms_config.split("/")[1]
    assert url.startswith(f"{receipts_endpoint}/{tenant}/{config_id}/")
    form = {"MessageSid": sms.provider_message_id, "MessageStatus": "delivered", "To": "+420601234567"}
    async with httpx.AsyncClient() as client:
        forged = await client.post(url, data=form, headers={"X-Twilio-Signature": "forged"})
        assert forged.status_code == 403
        assert (await _state(admin, sms)).state == pb.SENT
        signed = await client.post(url, data=form, headers={"X-Twilio-Signature": twilio_signature("twilio-token",
                                                                                                  url, form)})
        assert signed.status_code == 204
    delivered = await _state(admin, sms)
    assert delivered.state == pb.DELIVERED and delivered.HasField("delivered_time")
    # A failure reported after the handset confirmed (a duplicate, reports out of order) changes nothing.
    late = {**form, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    async with httpx.AsyncClient() as client:
        answer = await client.post(url, data=late, headers={"X-Twilio-Signature": twilio_signature("twilio-token",
                                                                                                  url, late)})
        assert answer.status_code == 204
    assert (await _state(admin, sms)) == delivered
    await admin.close()


async def test_vonage_reports_a_failure_by_get_to_its_callback_url(server, settings, tenant, service_stubs,
                                                                   smtp_sink, provider_sink, receipts_endpoint):
    admin, _, sms, url = await _send_sms(server, tenant, service_stubs, smtp_sink, provider_sink, settings,
                                         "vonage")
    report = {"msisdn": "420601234567", "to": "YesBank", "messageId": sms.provider_message_id, "status": "failed",
              "err-code": "6", "scts": "2611301200", "message-timestamp": "2026-11-30 12:00:00"}
    async with httpx.AsyncClient() as client:
        assert (await client.get(url, params=report)).status_code == 204
    failed = await _state(admin, sms)
    assert (failed.state, failed.error_code) == (pb.FAILED, "VONAGE_6")
    # A later delivery report is the more definite news.
    async with httpx.AsyncClient() as client:
        assert (await client.get(url, params={**report, "status": "delivered", "err-code": "0"})).status_code == 204
    delivered = await _state(admin, sms)
    assert (delivered.state, delivered.error_code, delivered.error_message) == (pb.DELIVERED, "", "")
    await admin.close()


async def test_clickatell_reports_delivery_as_json_to_its_callback_url(server, settings, tenant, service_stubs,
                                                                       smtp_sink, provider_sink,
                                                                       receipts_endpoint):
    admin, _, sms, url = await _send_sms(server, tenant, service_stubs, smtp_sink, provider_sink, settings,
                                         "clickatell")
    report = {"integrationName": "Yes Bank", "messageId": sms.provider_message_id, "to": "420601234567",
              "statusCode": 4, "status": "RECEIVED_BY_RECIPIENT", "timestamp": 1796040000000}
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, json=["not", "an", "object"])).status_code == 400
        assert (await client.post(url, json=report)).status_code == 204
    assert (await _state(admin, sms)).state == pb.DELIVERED
    await admin.close()


async def test_reports_to_urls_engage_did_not_give_out_change_nothing(server, settings, services, tenant,
                                                                      service_stubs, smtp_sink, provider_sink,
                                                                      receipts_endpoint):
    admin, bank, sms, url = await _send_sms(server, tenant, service_stubs, smtp_sink, provider_sink, settings,
                                            "vonage")
    config_id = bank.sms_config.split("/")[1]
    token = url.rsplit("/", 1)[1]
    delivered = {"messageId": sms.provider_message_id, "status": "delivered", "err-code": "0"}
    # Another bank with its own Vonage configuration: its own URL is genuine, but names only its messages.
    other = (await services.tenants.create("bank-other-receipts")).tenant_id
    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as eve:
        other_config = (await eve.engagement.CreateChannelConfig(pb.CreateChannelConfigRequest(
            channel_config=pb.ChannelConfig(channel=pb.CHANNEL_SMS, provider="vonage",
                                            settings={"base_url": provider_sink.base_url, "api_key": "k",
                                                      "from": "Other"},
                                            secrets={"api_secret": "s"})))).name.split("/")[1]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    async with httpx.AsyncClient() as client:
        for refused in (f"{receipts_endpoint}/{tenant}/{config_id}/{flipped}",  # a forged token
                        f"{receipts_endpoint}/{tenant}/{config_id}/{'é' * len(token)}",  # not even ASCII
                        f"{receipts_endpoint}/{other}/{config_id}/{token}",  # the token with another tenant
                        f"{receipts_endpoint}/{tenant}/{other_config}/{token}"):  # ... or configuration
            assert (await client.get(refused, params=delivered)).status_code == 403, refused
        # The URL form without a token (before tokens) is no receipt endpoint at all.
        assert (await client.get(f"{receipts_endpoint}/{tenant}/{config_id}", params=delivered)).status_code == 404
        other_url = services.receipt_urls.url(other, other_config)
        assert (await client.get(other_url, params=delivered)).status_code == 204
    assert (await _state(admin, sms)).state == pb.SENT
    await admin.close()


@pytest.mark.parametrize(("current", "reported", "applies"), [
    ("SENT", "DELIVERED", True), ("SENT", "FAILED", True), ("FAILED", "DELIVERED", True),
    ("DELIVERED", "FAILED", False), ("DELIVERED", "DELIVERED", False), ("FAILED", "FAILED", False),
    *[(state, reported, False) for state in ("QUEUED", "SENDING", "SKIPPED", "DEAD_LETTER")
      for reported in ("DELIVERED", "FAILED")],
])
def test_which_reports_change_a_delivery(current, reported, applies):
    assert receipt_applies(DeliveryState(current), DeliveryState(reported)) is applies


def test_receipt_parsers_read_each_providers_report():
    assert parse_receipt("twilio", {"MessageSid": "SM1", "MessageStatus": "sent"}) is None
    failed = parse_receipt("twilio", {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003"})
    assert (failed.status, failed.error_code) == ("FAILED", "TWILIO_30003")
    assert parse_receipt("vonage", {"messageId": "v1", "status": "delivered", "err-code": "0"}).status == "DELIVERED"
    assert parse_receipt("vonage", {"messageId": "v1", "status": "buffered"}) is None
    assert parse_receipt("clickatell", {"apiMessageId": "c1", "status": "RECEIVED_BY_RECIPIENT"}).status == \
        "DELIVERED"
    assert parse_receipt("clickatell", {"apiMessageId": "c1", "messageStatus": "005"}).status == "FAILED"
    assert parse_receipt("smtp", {"x": "y"}) is None


@pytest.mark.parametrize(("odd", "state", "error_code"), [
    ({"err-code": "free text, not a code"}, pb.FAILED, "VONAGE_FAILED"),
    ({"err-code": "6", "statusDescription": "no\x00such\x00handset"}, pb.FAILED, "VONAGE_6"),
    ({"messageId": "v\x00id"}, pb.SENT, ""),
    ({"messageId": "v" * 100_000}, pb.SENT, ""),
    ({"messageId": {"nested": ["id"]}}, pb.SENT, ""),
    ({"status": ["failed"]}, pb.SENT, ""),
    ({"status": None, "err-code": None}, pb.SENT, ""),
])
async def test_odd_reports_are_answered_without_a_fault_and_change_only_what_they_name(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint, odd, state, error_code):
    """Values no provider documents, in a JSON report to a genuine URL: answered 204 (read) or 400 (refused),
    never a server fault, and the message changes only for a report that names it with a known status."""
    admin, _, sms, url = await _send_sms(server, tenant, service_stubs, smtp_sink, provider_sink, settings,
                                         "vonage")
    report = {"messageId": sms.provider_message_id, "status": "failed", "err-code": "6", **odd}
    async with httpx.AsyncClient() as client:
        answer = await client.post(url, json=report)
    assert answer.status_code in (204, 400), answer.text
    after = await _state(admin, sms)
    assert (after.state, after.error_code) == (state, error_code)
    assert "\x00" not in after.error_message
    await admin.close()


NEAR_THE_LIMIT = "[" * 900 + '"failed"' + "]" * 900  # read or not, depending on how deep the stack is


@pytest.mark.parametrize("body", [
    "[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"a": ' * 100_000 + "1" + "}" * 100_000,
    '{"messageId": "%(id)s", "status": "failed", "err-code": ' + "[" * 100_000,
    '{"messageId": "%(id)s", "status": "failed", "err-code": "6", "statusDescription": ' + NEAR_THE_LIMIT + "}",
    '{"messageId": "%(id)s", "status": ' + NEAR_THE_LIMIT + "}",
], ids=["100,000 [", "100,000 [ closed", "an object 100,000 deep", "a field 100,000 deep", "a description 900 deep",
        "a status 900 deep"])
async def test_a_report_nested_too_deeply_is_refused_and_changes_nothing(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint, body):
    """JSON nested past what Python's parser recurses through was a 500 (a RecursionError in the endpoint)."""
    admin, _, sms, url = await _send_sms(server, tenant, service_stubs, smtp_sink, provider_sink, settings,
                                         "vonage")
    async with httpx.AsyncClient() as client:
        answer = await client.post(url, content=body.replace("%(id)s", sms.provider_message_id),
                                   headers={"Content-Type": "application/json"})
    assert (answer.status_code, answer.text) == (400, "not JSON: nested more than 32 levels deep")
    after = await _state(admin, sms)
    assert (after.state, after.error_code) == (pb.SENT, "")
    await admin.close()


def _part(headers: str, value: str = "delivered") -> bytes:
    return f"--zz\r\n{headers}\r\n\r\n{value}\r\n--zz--\r\n".encode()


@pytest.mark.parametrize(("content_type", "body"), [
    ("application/json; charset=no-such-charset", b"{}"),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"status=delivered"),
    ("application/x-www-form-urlencoded", b"\xff\xfe=%ff"),
    ("multipart/form-data", b"no boundary"),
    ("multipart/form-data; boundary=" + "z" * 71, b"a boundary too long"),
    ("multipart/form-data; boundary=zz", b"--zz\r\nbroken"),
    ("multipart/form-data; boundary=zz", _part("Content-Disposition: form-data")),
    ("multipart/form-data; boundary=zz", _part('Content-Disposition: form-data; name="status"\r\n'
                                              "Content-Type: multipart/mixed; boundary=yy", "--yy\r\n\r\nx\r\n--yy--")),
    ("multipart/form-data; boundary=zz", _part('Content-Disposition: form-data; name="status"\r\n'
                                              "Content-Type: text/plain; charset=no-such-charset")),
    ("multipart/form-data; boundary=zz", _part('Content-Disposition: form-data; name="status"\r\n'
                                              "Content-Transfer-Encoding: no-such-encoding")),
], ids=["json charset", "form charset", "form not UTF-8", "multipart without boundary", "boundary too long",
        "broken part", "part without name", "nested multipart", "part charset", "part transfer encoding"])
async def test_a_report_body_that_cannot_be_read_is_refused_and_changes_nothing(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint, content_type, body):
    """Bodies aiohttp cannot decode raised out of the endpoint (LookupError, ValueError, RuntimeError,
    BadHttpMessage): a 500."""
    admin, _, sms, url = await _send_sms(server, tenant, service_stubs, smtp_sink, provider_sink, settings,
                                         "vonage")
    async with httpx.AsyncClient() as client:
        answer = await client.post(url, content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 400, answer.text
    assert answer.text.startswith("cannot read the body")
    assert (await _state(admin, sms)).state == pb.SENT
    await admin.close()


async def test_a_report_that_comes_before_its_send_is_recorded_applies_once_it_is(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint):
    """A fast provider reports delivery while the worker still waits on its answer (or on the other
    sends of its batch): the report names a message not recorded as sent yet. It is kept, and the
    worker's sweep applies it once the message is recorded."""
    admin = server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa"))
    bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                 provider_base_url=provider_sink.base_url, sms_provider="vonage")
    await add_customer(service_stubs, bank.app, email="", push_token="")
    provider_sink.report_before_answering("vonage", "delivered")
    sent = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
        event=bank.notice_event, customer_id="lisa-customer", data={"note": "hello"}))
    sms = next(d for d in sent.deliveries if d.channel == pb.CHANNEL_SMS)
    await run_worker(settings)  # sends; the report comes before the answer
    assert provider_sink.early_report_answers == [204]
    await run_worker(settings)  # its sweep runs at start, as every 15 s
    delivered = await _state(admin, sms)
    assert (delivered.state, delivered.provider_message_id) == (pb.DELIVERED,
                                                               provider_sink.received("vonage")[0].response_id)
    await admin.close()


async def test_a_kept_report_that_names_no_message_is_dropped_after_an_hour(
        server, services, settings, tenant, service_stubs, smtp_sink, provider_sink, receipts_endpoint):
    admin, _, sms, url = await _send_sms(server, tenant, service_stubs, smtp_sink, provider_sink, settings,
                                         "vonage")
    async with httpx.AsyncClient() as client:
        for message_id in ("never-sent", "x" * 201, "bad\x00id"):
            report = {"messageId": message_id, "status": "delivered", "err-code": "0"}
            assert (await client.post(url, json=report)).status_code == 204
    assert await kept_reports(services) == 1  # the others could never name a message

    def sweep_at(moment):
        return EngagementService(services.database, services.secret_box, services.publisher,  # type: ignore[arg-type]
                                 clock=lambda: moment)

    now = dt.datetime.now(dt.UTC)
    assert await sweep_at(now).apply_early_receipts() == 0
    assert await kept_reports(services) == 1
    await sweep_at(now + EARLY_RECEIPT_KEPT + dt.timedelta(minutes=1)).apply_early_receipts()
    assert await kept_reports(services) == 0
    assert (await _state(admin, sms)).state == pb.SENT
    await admin.close()


async def kept_reports(services) -> int:
    async with services.database.sessions() as session:
        return (await session.execute(select(func.count()).select_from(EarlyReceiptRow))).scalar_one()
