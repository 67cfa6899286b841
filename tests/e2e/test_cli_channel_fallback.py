"""Channel fallback and per-app push credentials as an operator types them: engagectl event-types
create/update --fallback, channels create/update --app, and the chain read back with deliveries list."""

import json

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from tests.integration.test_insight_batches import run_worker
from tests.support.yes_bank import add_customer


async def test_fallback_and_app_credentials_through_engagectl(engagectl, server, settings, tenant, service_stubs,
                                                              smtp_sink, provider_sink):
    lisa = server.token(tenant, Role.BANK_ADMIN, "lisa")

    async def ok(*args: str):
        result = await engagectl("--json", *args, token=lisa)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    kind = await ok("event-types", "create", "--name", "Card alerts", "--fallback", "PUSH:10m", "--fallback",
                    "SMS:1h", "--fallback", "EMAIL")
    assert [(s["channel"], s.get("wait")) for s in kind["fallback_policy"]["steps"]] == \
        [("PUSH", "600s"), ("SMS", "3600s"), ("EMAIL", None)]
    bad = await engagectl("event-types", "create", "--name", "x", "--fallback", "PUSH", "--fallback", "SMS",
                          token=lisa)
    assert bad.exit_code != 0 and "FALLBACK_POLICY_INVALID" in bad.stderr
    # No mobile number: email straight away.
    kind = await ok("event-types", "update", kind["name"], "--fallback", "SMS:30m", "--fallback", "EMAIL")
    assert [s["channel"] for s in kind["fallback_policy"]["steps"]] == ["SMS", "EMAIL"]

    app = await ok("apps", "create", "--name", "Wallet", "--category", "BANKING", "--platform", "ANDROID")
    await ok("apps", "publish", app["application_id"])
    push = await ok("channels", "create", "--channel", "PUSH", "--provider", "fcm", "--app", app["application_id"],
                    "--setting", f"base_url={provider_sink.base_url}", "--setting", "project_id=wallet",
                    "--secret", "access_token=wallet-token")
    assert push["app"] == app["name"]
    unbound = await ok("channels", "update", push["name"], "--app", "")
    assert unbound["app"] == ""
    rebound = await ok("channels", "update", push["name"], "--app", app["application_id"])
    assert rebound["app"] == app["name"]
    wrong = await engagectl("channels", "create", "--channel", "SMS", "--provider", "vonage", "--app",
                            app["application_id"], "--setting", f"base_url={provider_sink.base_url}", "--setting",
                            "api_key=k", "--setting", "from=Bank", "--secret", "api_secret=s", token=lisa)
    assert wrong.exit_code != 0 and "CHANNEL_CONFIG_APP_NOT_PUSH" in wrong.stderr
    await ok("channels", "create", "--channel", "EMAIL", "--provider", "smtp", "--setting", f"host={smtp_sink.host}",
             "--setting", f"port={smtp_sink.port}", "--setting", "security=NONE",
             "--setting", "from_address=alerts@bank.example")
    event = await ok("events", "create", "--name", "Card blocked", "--description", "d", "--event-type", kind["name"],
                     "--app", app["application_id"], "--sms-text", "Card blocked", "--email-subject", "Card blocked",
                     "--email-text", "Your card was blocked.", "--push-title", "Card", "--push-body", "Blocked")
    await add_customer(service_stubs, app["name"], phone="", push_token="wallet-device")
    await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(event=event["name"],
                                                                       customer_id="lisa-customer"))
    await run_worker(settings)
    assert len(smtp_sink.messages) == 1 and provider_sink.requests["fcm"] == 1
    [request] = provider_sink.received("fcm")
    assert request.path == "/v1/projects/wallet/messages:send"
    listed = await engagectl("deliveries", "list", "--event", event["event_id"], "-o", "wide", token=lisa)
    assert listed.exit_code == 0, listed.stderr
    assert "1 SKIPPED" in listed.stdout and "2 CURRENT" in listed.stdout
