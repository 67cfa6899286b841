"""Providers' delivery receipts through the receipt endpoint: a signed Twilio status callback turns a
sent SMS into DELIVERED; an unsigned one is refused; unknown endpoints are 404."""

import httpx
from aiohttp import web

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from server.domain.engagement.receipts import parse_receipt, twilio_signature
from server.embedded_redis import free_port
from server.receipts import receipts_app
from tests.integration.test_insight_batches import run_worker
from tests.support.yes_bank import add_customer, set_up_yes_bank


async def test_a_signed_twilio_callback_marks_the_sms_delivered(server, settings, tenant, service_stubs, smtp_sink,
                                                                provider_sink):
    admin = server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa"))
    bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                 provider_base_url=provider_sink.base_url)
    await add_customer(service_stubs, bank.app, email="", push_token="")
    sent = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
        event=bank.notice_event, customer_id="lisa-customer", data={"note": "hello"}))
    await run_worker(settings)
    sms = await admin.engagement.GetDelivery(pb.GetDeliveryRequest(
        name=next(d.name for d in sent.deliveries if d.channel == pb.CHANNEL_SMS)))
    assert sms.state == pb.SENT

    port = free_port()
    base = f"http://127.0.0.1:{port}/receipts"
    server.services.settings.receipts_base_url = base
    runner = web.AppRunner(receipts_app(server.services), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    config_id = bank.sms_config.split("/")[1]
    url = f"{base}/{tenant}/{config_id}"
    form = {"MessageSid": sms.provider_message_id, "MessageStatus": "delivered", "To": "+420601234567"}
    try:
        async with httpx.AsyncClient() as client:
            forged = await client.post(url, data=form, headers={"X-Twilio-Signature": "forged"})
            assert forged.status_code == 403
            signed = await client.post(url, data=form,
                                       headers={"X-Twilio-Signature": twilio_signature("twilio-token", url, form)})
            assert signed.status_code == 204
            unknown = await client.post(f"{base}/{tenant}/nope", data=form)
            assert unknown.status_code == 404
    finally:
        await runner.cleanup()
    delivered = await admin.engagement.GetDelivery(pb.GetDeliveryRequest(name=sms.name))
    assert delivered.state == pb.DELIVERED and delivered.HasField("delivered_time")
    await admin.close()


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
