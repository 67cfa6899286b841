"""engagectl for transaction statuses and balances: `events alert --status/--balance-below/--baseline`
and `events send-balance`, against the real server, with the worker sending what was recorded."""

import json

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.ingest.v1 import ingest_service_pb2 as ingest
from server.domain.auth import Role
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import stream, transaction
from tests.support.yes_bank import add_customer, set_up_yes_bank


async def test_alerts_on_statuses_and_the_balance_on_request_through_engagectl(
        engagectl, server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    lisa = server.token(tenant, Role.BANK_ADMIN, "lisa")

    async def ok(*args: str):
        result = await engagectl("--json", *args, token=lisa)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    async with server.stubs(lisa) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
    await add_customer(service_stubs, bank.app, push_token="")
    event_id = bank.event.removeprefix("events/")
    declined = await ok("events", "alert", event_id, "--direction", "DEBIT", "--status", "declined")
    assert declined["statuses"] == ["DECLINED"]
    unusual = await ok("events", "alert", event_id, "--operation", "ATM_WITHDRAWAL", "--baseline",
                       "--baseline-days", "30", "--min-amount", "20000")
    assert unusual["baseline"] == {"percentile": "99", "days": 30, "min_history": 10}
    low = await ok("events", "alert", event_id, "--account-type", "GIFT_CARD", "--balance-below", "20")
    assert (low["account_types"], low["balance_below"]) == (["GIFT_CARD"], "20")
    listed = await engagectl("events", "alerts", token=lisa)
    assert "DECLINED" in listed.stdout and "GIFT_CARD" in listed.stdout
    refused = await engagectl("events", "alert", event_id, "--status", "SETTLED", token=lisa)
    assert refused.exit_code != 0 and "TRANSACTION_ALERT_INVALID" in refused.stdout + refused.stderr
    refused = await engagectl("events", "alert", event_id, "--baseline-days", "30", token=lisa)
    assert refused.exit_code != 0 and "--baseline" in refused.stderr

    await service_stubs.ingest.IngestTransactions(stream([
        transaction("t1", "lisa-customer-chk", "800.00", "CREDIT", currency="CZK"),
        transaction("t2", "lisa-customer-chk", "99.00", "DEBIT", currency="CZK",
                    status=ingest.TRANSACTION_STATUS_DECLINED)]))
    declined_rows = await ok("transactions", "list", "--account", "lisa-customer-chk", "--status", "DECLINED")
    assert [(t["transaction_id"], t["status"]) for t in declined_rows] == [("t2", "DECLINED")]
    table = await engagectl("transactions", "list", "--account", "lisa-customer-chk", token=lisa)
    assert "t1" in table.stdout and "t2" not in table.stdout
    async with server.stubs(lisa) as admin:
        balance_event = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Balance", description="On request", event_type=bank.event_type, app=bank.app,
            messages=[pb.EventMessage(channel=pb.CHANNEL_SMS, content=pb.MessageContent(sms=pb.SmsContent(
                text="Balance {{ account.current_balance }} {{ account.currency }}")))])))
    sent = await ok("events", "send-balance", balance_event.event_id, "--account", "lisa-customer-chk",
                    "--request-id", "ask-1")
    assert [d["channel"] for d in sent] == ["SMS"]
    await run_worker(settings)
    bodies = sorted(m.body["Body"] for m in await provider_sink.wait_for("twilio", 2))
    assert bodies == ["Balance 800.00 CZK", f"{tenant}: 99.00 CZK withdrawn at 2024-01-15 12:00 UTC."]
