"""engagectl's updates and deletes (templates update, events update, events unnotify-insight) and feed
interactions (insights interact), as their own process against a real server."""

from __future__ import annotations

import json

from engage.insights.v1 import insights_service_pb2 as insights
from engage.type.v1 import date_pb2
from server.domain.auth import Role
from tests.e2e.test_insights_savings import seed_reference_customer


async def test_templates_and_events_change_only_what_is_given(engagectl, server, tenant):
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")

    async def ok(*args: str):  # type: ignore[no-untyped-def]
        result = await engagectl("--json", *args, token=admin)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    email = await ok("templates", "create", "--channel", "EMAIL", "--name", "ATM email", "--subject",
                     "Withdrawal of {{ data.amount }}", "--text", "At {{ data.place }}.")
    renamed = await ok("templates", "update", email["name"], "--name", "ATM e-mail")
    assert (renamed["display_name"], renamed["content"]["email"]["subject"]) == (
        "ATM e-mail", "Withdrawal of {{ data.amount }}")
    edited = await ok("templates", "update", email["name"].rpartition("/")[2], "--subject", "Cash: {{ data.amount }}")
    assert (edited["display_name"], edited["content"]["email"]["subject"], edited["content"]["email"]["text"]) == (
        "ATM e-mail", "Cash: {{ data.amount }}", "At {{ data.place }}.")

    wrong = await engagectl("templates", "update", email["name"], "--title", "Push title", token=admin)
    assert wrong.exit_code == 2 and "--title: not for this template's channel, EMAIL" in wrong.stderr
    nothing = await engagectl("templates", "update", email["name"], token=admin)
    assert nothing.exit_code == 2 and "nothing to change" in nothing.stderr
    broken = await engagectl("templates", "update", email["name"], "--subject", "{{ data.amount", token=admin)
    assert broken.exit_code == 1 and broken.stderr.startswith("error: INVALID_ARGUMENT")

    app = await ok("apps", "create", "--name", "Yes Bank", "--platform", "WEB")
    kind = await ok("event-types", "create", "--name", "Cards")
    other_kind = await ok("event-types", "create", "--name", "ATM")
    event = await ok("events", "create", "--name", "ATM withdrawal", "--description", "Cash at an ATM",
                     "--event-type", kind["name"], "--app", app["application_id"], "--message",
                     f"EMAIL={email['name']}")
    described = await ok("events", "update", event["event_id"], "--description", "Cash taken out", "--legal",
                         "--event-type", other_kind["name"])
    assert (described["display_name"], described["description"], described["message_class"],
            described["event_type"], [m["channel"] for m in described["messages"]]) == (
        "ATM withdrawal", "Cash taken out", "LEGAL", other_kind["name"], ["EMAIL"])
    messaged = await ok("events", "update", event["event_id"], "--sms-text", "Cash: {{ data.amount }}", "--regular")
    assert [(m["channel"], m["content"]["sms"]["text"]) for m in messaged["messages"]] == [
        ("SMS", "Cash: {{ data.amount }}")]
    assert (messaged["description"], messaged["message_class"]) == ("Cash taken out", "REGULAR")

    notification = await ok("events", "notify-insight", event["event_id"], "--insight", "LOW_BALANCE_WARNING")
    deleted = await engagectl("events", "unnotify-insight", notification["name"], token=admin)
    assert (deleted.exit_code, deleted.stdout.strip()) == (0, f"deleted {notification['name']}")
    assert await ok("events", "insight-notifications") == []
    again = await engagectl("events", "unnotify-insight", notification["name"], token=admin)
    assert again.exit_code == 1 and again.stderr.startswith("error: NOT_FOUND")


async def test_insights_interact_records_what_the_user_did(engagectl, server, tenant, service_stubs):
    await seed_reference_customer(service_stubs)
    [item] = (await service_stubs.insights.TriggerInsights(insights.TriggerInsightsRequest(
        customer_id="u1", as_of=date_pb2.Date(year=2021, month=7, day=1)))).generated
    user = server.token(tenant, Role.USER, "u1")

    viewed = await engagectl("--json", "insights", "interact", item.feed_item_id, "--customer", "u1", "--type",
                             "viewed", token=user)
    assert viewed.exit_code == 0, viewed.stderr
    assert json.loads(viewed.stdout)["type"] == "VIEWED"
    clicked = await engagectl("insights", "interact", item.name, "--type", "CLICKED", token=user)
    assert clicked.exit_code == 0, clicked.stderr
    assert "type:\tCLICKED" in clicked.stdout.splitlines()
    [shown] = json.loads((await engagectl("--json", "insights", "feed", token=user)).stdout)
    assert shown["last_interaction"] == "CLICKED"
    dismissed = await engagectl("insights", "interact", item.name, "--type", "DISMISSED", token=user)
    assert dismissed.exit_code == 0, dismissed.stderr
    assert json.loads((await engagectl("--json", "insights", "feed", token=user)).stdout) == []  # dismissed: gone

    no_customer = await engagectl("insights", "interact", item.feed_item_id, "--type", "VIEWED", token=user)
    assert no_customer.exit_code == 2 and "--customer" in no_customer.stderr
    bad_type = await engagectl("insights", "interact", item.name, "--type", "LIKED", token=user)
    assert bad_type.exit_code == 2 and "VIEWED, CLICKED, DISMISSED, ACTED" in bad_type.stderr
