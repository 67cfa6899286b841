"""The Yes Bank set-up as an operator types it: engagectl apps/event-types/channels/templates/events/
contacts/campaigns/deliveries/otp against the real server, and the worker sending what it recorded."""

import json

from server.domain.auth import Role
from tests.integration.test_insight_batches import run_worker
from tests.support.yes_bank import add_customer


async def test_yes_bank_through_engagectl(engagectl, server, settings, tenant, service_stubs, smtp_sink,
                                          provider_sink):
    lisa = server.token(tenant, Role.BANK_ADMIN, "lisa")

    async def ok(*args: str, token: str = lisa):
        result = await engagectl("--json", *args, token=token)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout) if result.stdout.strip().startswith(("{", "[")) else result.stdout

    app = await ok("apps", "create", "--name", "Yes Bank", "--category", "BANKING", "--platform", "ANDROID",
                   "--platform", "WEB")
    assert app["state"] == "UNPUBLISHED" and app["application_id"]
    assert (await ok("apps", "publish", app["application_id"]))["state"] == "PUBLISHED"
    kind = await ok("event-types", "create", "--name", "Yes Bank")
    mail = await ok("channels", "create", "--channel", "EMAIL", "--provider", "smtp", "--setting",
                    f"host={smtp_sink.host}", "--setting", f"port={smtp_sink.port}", "--setting", "security=NONE",
                    "--setting", "from_address=alerts@yesbank.example", "--secret", "password=s3cr3t-value")
    shown = await engagectl("--json", "channels", "get", mail["name"], token=lisa)
    assert "s3cr3t-value" not in shown.stdout and json.loads(shown.stdout)["secret_keys"] == ["password"]
    sms = await ok("templates", "create", "--channel", "SMS", "--name", "ATM SMS", "--text",
                   "Withdrawal of {{ data.amount }} at {{ data.place }}")
    assert (sms["content"]["sms"]["encoding"], sms["content"]["sms"]["segments"]) == ("GSM_7", 1)
    email = await ok("templates", "create", "--channel", "EMAIL", "--name", "ATM email", "--subject",
                     "Withdrawal of {{ data.amount }}", "--text", "At {{ data.place }}.")
    event = await ok("events", "create", "--name", "ATM withdrawal", "--description", "Cash at an ATM",
                     "--event-type", kind["name"], "--app", app["application_id"],
                     "--message", f"EMAIL={email['name']}", "--message", f"SMS={sms['name']}",
                     "--sms-text", "Yes Bank: {{ data.amount }} withdrawn at {{ data.place }}")
    assert [m["content"].get("sms", {}).get("text") for m in event["messages"]][1] == \
        "Yes Bank: {{ data.amount }} withdrawn at {{ data.place }}"
    await add_customer(service_stubs, app["name"], push_token="", phone="+420601234567")
    alert = await ok("events", "alert", event["event_id"], "--operation", "ATM_WITHDRAWAL", "--min-amount", "100")
    assert alert["operation"] == "ATM_WITHDRAWAL"

    triggered = await ok("events", "trigger", event["event_id"], "--customer", "lisa-customer", "--data",
                         "amount=2,500 CZK", "--data", "place=Prague 1", "--request-id", "r1")
    assert sorted(d["state"] for d in triggered) == ["QUEUED", "SKIPPED"]  # no SMS provider configured yet
    await run_worker(settings)
    [received] = await smtp_sink.wait_for(1)
    assert received["Subject"] == "Withdrawal of 2,500 CZK"
    listed = await ok("deliveries", "list", "--customer", "lisa-customer")
    assert sorted((d["channel"], d["state"]) for d in listed) == [("EMAIL", "SENT"), ("SMS", "SKIPPED")]

    campaign = await ok("campaigns", "create", "--name", "Savings offer", "--event", event["event_id"],
                        "--customer", "lisa-customer", "--offer")
    assert campaign["state"] == "PENDING_APPROVAL"
    refused = await engagectl("campaigns", "approve", campaign["name"], token=lisa)
    assert refused.exit_code != 0 and refused.stderr.strip().startswith("error: PERMISSION_DENIED "
                                                                          "CAMPAIGN_SELF_APPROVAL")
    raj = server.token(tenant, Role.BANK_ADMIN, "raj")
    assert (await ok("campaigns", "approve", campaign["name"], token=raj))["state"] == "SCHEDULED"

    missing = await engagectl("events", "create", "--description", "d", "--event-type", kind["name"], "--app",
                              app["application_id"], token=lisa)
    assert missing.exit_code != 0 and "EVENT_NAME_REQUIRED" in missing.stderr
    unknown = await engagectl("apps", "get", "nope", token=lisa)
    assert unknown.exit_code != 0 and "NOT_FOUND" in unknown.stderr
    service = server.token(tenant, Role.SERVICE, "bank-core")
    no_address = await engagectl("otp", "send", "--customer", "lisa-customer", "--purpose", "login", "--channel",
                                 "PUSH", token=service)
    assert no_address.exit_code != 0 and "OTP_NO_ADDRESS" in no_address.stderr
