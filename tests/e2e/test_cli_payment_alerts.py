"""engagectl statements, scheduled-payments and payment-alerts against the real server: a card's
statement and a payment fed as a bank's loader would, a payment alert set up and removed by an admin."""

import json

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.ingest.v1 import ingest_service_pb2 as ipb
from server.domain.auth import Role
from tests.support.builders import account, customer
from tests.support.yes_bank import published_app


async def test_statements_payments_and_payment_alerts_from_the_command_line(engagectl, server, tenant,
                                                                            service_stubs):
    await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer("c1")))
    await service_stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(account=account(
        "card-1", "c1", "CZK", type=ipb.ACCOUNT_TYPE_CREDIT, container=ipb.CONTAINER_CREDIT_CARD)))
    loader, admin_token = server.token(tenant, Role.SERVICE, "loader"), server.token(tenant, Role.BANK_ADMIN, "ana")

    upserted = await engagectl("--json", "statements", "upsert", "st-1", "--account", "card-1", "--statement-date",
                               "2024-03-01", "--due-date", "2024-03-20", "--minimum-due", "500", "--balance", "5000",
                               "--currency", "CZK", token=loader)
    assert upserted.exit_code == 0, upserted.stderr
    assert json.loads(upserted.stdout) == {"upserted": 1}
    listed = await engagectl("statements", "list", "--account", "card-1", token=loader)
    assert listed.exit_code == 0, listed.stderr
    assert "st-1" in listed.stdout and "2024-03-20" in listed.stdout and "500.00 CZK" in listed.stdout
    refused = await engagectl("statements", "upsert", "st-2", "--account", "card-1", "--statement-date",
                              "2024-03-01", "--due-date", "2024-02-20", "--minimum-due", "5", "--balance", "5",
                              "--currency", "CZK", token=loader)
    assert refused.exit_code == 1 and "INVALID_STATEMENT" in refused.stderr

    not_a_number = await engagectl("scheduled-payments", "upsert", "pay-1", "--account", "card-1", "--amount", "NaN",
                                   "--currency", "CZK", "--scheduled-date", "2024-03-18", token=loader)
    assert not_a_number.exit_code == 2 and "--amount" in not_a_number.stderr
    for state, settled in (("SCHEDULED", []), ("PROCESSED", ["--settle-time", "2024-03-16T10:00:00+01:00"])):
        paid = await engagectl("scheduled-payments", "upsert", "pay-1", "--account", "card-1", "--amount", "500",
                               "--currency", "CZK", "--scheduled-date", "2024-03-18", "--state", state, *settled,
                               token=loader)
        assert paid.exit_code == 0, paid.stderr
    payments = await engagectl("--json", "scheduled-payments", "list", "--account", "card-1", token=loader)
    assert payments.exit_code == 0, payments.stderr
    [stored] = json.loads(payments.stdout)
    assert (stored["payment_id"], stored["state"], stored["settle_time"]) == ("pay-1", "PROCESSED",
                                                                              "2024-03-16T09:00:00Z")
    final = await engagectl("scheduled-payments", "upsert", "pay-1", "--account", "card-1", "--amount", "500",
                            "--currency", "CZK", "--scheduled-date", "2024-03-18", "--state", "CANCELLED",
                            token=loader)
    assert final.exit_code == 1 and "PAYMENT_STATE_FINAL" in final.stderr

    async with server.stubs(admin_token) as admin:
        app, kind = await published_app(admin.engagement, "Bank", [1], "Payments")
        event = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Due", description="Payment due", event_type=kind.name, app=app.name,
            messages=[pb.EventMessage(channel=pb.CHANNEL_SMS, content=pb.MessageContent(sms=pb.SmsContent(
                text="{{ statement.minimum_due }} due {{ statement.due_date }}")))])))
    created = await engagectl("--json", "payment-alerts", "create", event.name, "--kind", "DUE",
                              "--days-before-due", "3", token=admin_token)
    assert created.exit_code == 0, created.stderr
    alert = json.loads(created.stdout)
    assert (alert["kind"], alert["days_before_due"]) == ("DUE", 3)
    shown = await engagectl("payment-alerts", "list", token=admin_token)
    assert shown.exit_code == 0 and alert["name"].removeprefix("paymentAlerts/") in shown.stdout
    assert "DUE" in shown.stdout
    bad = await engagectl("payment-alerts", "create", event.name, "--kind", "OVERDUE", "--days-before-due", "2",
                          token=admin_token)
    assert bad.exit_code == 1 and "PAYMENT_ALERT_INVALID" in bad.stderr
    deleted = await engagectl("payment-alerts", "delete", alert["name"], token=admin_token)
    assert deleted.exit_code == 0 and f"deleted {alert['name']}" in deleted.stdout
    gone = await engagectl("payment-alerts", "delete", alert["name"], token=admin_token)
    assert gone.exit_code == 1 and "PAYMENT_ALERT_NOT_FOUND" in gone.stderr
