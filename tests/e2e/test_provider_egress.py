"""A bank admin cannot use Engage's workers to reach the operator's own network: a channel configuration
pointing at a private address fails its deliveries as EGRESS_DENIED, and the service behind it sees no
request (before, its answer came back in the delivery's error message)."""

import structlog.testing
from aiohttp import web

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from tests.integration.test_insight_batches import run_worker
from tests.support.ports import free_port
from tests.support.yes_bank import add_customer, set_up_yes_bank


async def test_a_channel_pointed_at_an_internal_service_does_not_reach_it(server, settings, tenant, service_stubs,
                                                                          smtp_sink, provider_sink):
    calls: list[str] = []

    async def internal(request: web.Request) -> web.Response:
        calls.append(request.path)
        return web.Response(status=400, text="internal-secret: db password hunter2")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", internal)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "mallory")) as admin:
            bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                         provider_base_url=f"http://127.0.0.1:{port}")
            await add_customer(service_stubs, bank.app, email="", push_token="")
            sent = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
                event=bank.notice_event, customer_id="lisa-customer", data={"note": "hello"}))
            settings.provider_networks_allowed = ""  # the operator allowed no private network
            with structlog.testing.capture_logs() as logs:
                await run_worker(settings)
            [sms] = [d for d in sent.deliveries if d.channel == pb.CHANNEL_SMS]
            failed = await admin.engagement.GetDelivery(pb.GetDeliveryRequest(name=sms.name))
    finally:
        await runner.cleanup()
    assert (failed.state, failed.error_code) == (pb.FAILED, "EGRESS_DENIED")
    # Someone must act on it (the bank's configuration or the operator's allowed networks): a warning.
    assert [entry["log_level"] for entry in logs if entry["event"] == "delivery_dispatched"
            and entry.get("error_code") == "EGRESS_DENIED"] == ["warning"]
    assert "127.0.0.1" in failed.error_message and "hunter2" not in failed.error_message
    assert calls == []
