"""engagectl rules, banners, notifications and offers as bank admins run them, against the real server:
a rule created from options and from a file, refused with the position of a bad condition, approved by a
second admin, edited back into approval, paused, resumed; a firing listed and explained; a customer's
banners; the inbox acknowledged and assigned and the webhook set from an environment variable; offers
recommended, run, suggested and decided."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from engage.ingest.v1 import ingest_service_pb2 as ipb
from server.domain.auth import Role
from server.domain.triggers.notifications import NewBankNotification
from server.domain.triggers.records import Banner, FiringAction, FiringRecord
from server.store.uow import UnitOfWork
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import account, customer, stream, transaction
from tests.support.offers import add_customers, add_product, derive_attributes

CONDITION = "average_collected_balance(30d) < 100 AND balance < 50"
BANNER_OPTIONS = ("--banner-title", "Running low?", "--banner-body", "Overdraft cover from 2 EUR a month",
                  "--banner-cta-label", "See", "--banner-cta-url", "https://bank.example/cover",
                  "--banner-lifetime", "3d")


def _fields(piped: str) -> dict[str, str]:
    """A record as engagectl pipes it: `key:<TAB>value` lines."""
    return dict(line.split(":\t", 1) for line in piped.splitlines())


async def test_a_rule_from_draft_to_approval_edits_and_pause(engagectl, server, tenant):
    ana, ben = server.token(tenant, Role.BANK_ADMIN, "ana"), server.token(tenant, Role.BANK_ADMIN, "ben")
    async with server.stubs(ana) as stubs:
        await add_product(stubs, "products/overdraft-cover")

    bad = await engagectl("rules", "create", "low_balance", "--name", "Low balance", "--audience", "all",
                          "--condition", "average_collected_balance(45x) < 100", "--notify", "call them", token=ana)
    assert bad.exit_code == 1 and bad.stdout == ""
    assert bad.stderr.startswith("error: INVALID_ARGUMENT TRIGGER_CONDITION_INVALID: line 1, column 27:"), bad.stderr
    assert "'45x'" in bad.stderr and bad.stderr.count("\n") == 1
    wrong_audience = await engagectl("rules", "create", "x", "--audience", "everyone", token=ana)
    assert wrong_audience.exit_code == 2 and "--audience" in wrong_audience.stderr

    created = await engagectl("--json", "rules", "create", "low_balance", "--name", "Low balance", "--audience",
                              "all", "--condition", CONDITION, *BANNER_OPTIONS, "--product", "overdraft-cover",
                              "--notify", "call them", "--cooldown", "1d12h", token=ana)
    assert created.exit_code == 0, created.stderr
    rule = json.loads(created.stdout)
    assert (rule["name"], rule["status"], rule["version"], rule["creator"]) == \
        ("triggerRules/low_balance", "DRAFT", 1, "ana")
    assert rule["cooldown"] == "129600s" and rule["audience"] == {"all_customers": True}
    banner, note = rule["actions"]
    assert (banner["banner"]["title"], banner["banner"]["lifetime"], banner["banner"]["product"]) == \
        ("Running low?", "259200s", "products/overdraft-cover")
    assert note == {"bank_notification": {"note": "call them"}}

    submitted = await engagectl("rules", "submit", "low_balance", token=ana)
    assert _fields(submitted.stdout)["status"] == "PENDING_APPROVAL"
    own = await engagectl("rules", "approve", "low_balance", token=ana)
    assert own.exit_code == 1 and "PERMISSION_DENIED TRIGGER_RULE_SELF_APPROVAL" in own.stderr
    approved = await engagectl("rules", "approve", "triggerRules/low_balance", "--version", "1", token=ben)
    assert approved.exit_code == 0, approved.stderr
    assert (_fields(approved.stdout)["status"], _fields(approved.stdout)["approver"]) == ("ACTIVE", "ben")

    listed = await engagectl("rules", "list", token=ana)
    assert listed.exit_code == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split("\t") == ["rule", "status", "version", "name", "condition"]
    assert row.split("\t") == ["low_balance", "ACTIVE", "1", "Low balance", CONDITION]
    narrow = await engagectl("rules", "list", token=ana, terminal_columns=60)
    assert "low_balance" in narrow.stdout and "…" not in narrow.stdout
    assert all(len(line) <= 60 for line in narrow.stdout.splitlines()), narrow.stdout
    wide = await engagectl("rules", "list", "-o", "wide", token=ana)
    assert wide.stdout.splitlines()[1].split("\t")[5:] == \
        ["all", "banner (overdraft-cover), bank_notification", "1d12h", "ana", "ben"]

    # Ben changes only the banner's title: version 2 goes back to approval, the rest of the banner stays.
    edited = await engagectl("--json", "rules", "update", "low_balance", "--banner-title", "Need a hand?",
                             "--drop-action", "notification", token=ben)
    assert edited.exit_code == 0, edited.stderr
    rule = json.loads(edited.stdout)
    assert (rule["status"], rule["version"], rule["last_editor"]) == ("PENDING_APPROVAL", 2, "ben")
    [only] = rule["actions"]
    assert (only["banner"]["title"], only["banner"]["body"], only["banner"]["product"]) == \
        ("Need a hand?", "Overdraft cover from 2 EUR a month", "products/overdraft-cover")
    nothing = await engagectl("rules", "update", "low_balance", token=ben)
    assert nothing.exit_code == 2 and "nothing to change" in nothing.stderr
    rejected = await engagectl("rules", "reject", "low_balance", "--reason", "keep the note", token=ana)
    assert _fields(rejected.stdout)["status"] == "DRAFT"
    assert _fields(rejected.stdout)["rejection_reason"] == "keep the note"
    assert (await engagectl("rules", "update", "low_balance", "--notify", "call them today", token=ben)).exit_code == 0
    assert (await engagectl("rules", "submit", "low_balance", token=ben)).exit_code == 0
    active = await engagectl("rules", "approve", "low_balance", "--version", "3", token=ana)
    assert active.exit_code == 0, active.stderr
    assert _fields(active.stdout)["status"] == "ACTIVE"

    paused = await engagectl("rules", "pause", "low_balance", token=ana)
    assert _fields(paused.stdout)["status"] == "PAUSED"
    again = await engagectl("rules", "pause", "low_balance", token=ana)
    assert again.exit_code == 1 and "FAILED_PRECONDITION TRIGGER_RULE_STATE" in again.stderr
    resumed = await engagectl("rules", "resume", "low_balance", token=ana)
    assert _fields(resumed.stdout)["status"] == "ACTIVE"
    shown = await engagectl("--json", "rules", "show", "low_balance", token=ana)
    rule = json.loads(shown.stdout)
    assert (rule["version"], rule["approver"], [a["bank_notification"]["note"] for a in rule["actions"]
                                                if "bank_notification" in a]) == (3, "ana", ["call them today"])
    archived = await engagectl("rules", "archive", "low_balance", token=ana)
    assert _fields(archived.stdout)["status"] == "ARCHIVED"
    missing = await engagectl("rules", "show", "nope", token=ana)
    assert missing.exit_code == 1 and "NOT_FOUND TRIGGER_RULE_NOT_FOUND" in missing.stderr


async def test_a_rule_from_a_file_and_its_firings_explained(engagectl, server, services, tenant, tmp_path):
    ana = server.token(tenant, Role.BANK_ADMIN, "ana")
    definition = tmp_path / "big_withdrawal.json"
    definition.write_text(json.dumps({
        "displayName": "Big withdrawal", "audience": {"customers": {"customers": ["customers/lisa"]}},
        "condition": "withdrawal > 1000", "actions": [{"bankNotification": {"note": "check it"}}]}))
    created = await engagectl("--json", "rules", "create", "big_withdrawal", "--file", str(definition),
                              "--active-from", "2026-01-01", "--cooldown", "0", token=ana)
    assert created.exit_code == 0, created.stderr
    rule = json.loads(created.stdout)
    assert (rule["display_name"], rule["audience"], rule["cooldown"], rule["active_from"]) == \
        ("Big withdrawal", {"customers": {"customers": ["customers/lisa"]}}, "0s", "2026-01-01T00:00:00Z")
    narrowed = await engagectl("--json", "rules", "update", "big_withdrawal", "--audience", "customers:lisa,tom",
                               "--active-from", "", token=ana)
    assert narrowed.exit_code == 0, narrowed.stderr
    rule = json.loads(narrowed.stdout)
    assert rule["audience"]["customers"]["customers"] == ["customers/lisa", "customers/tom"]
    assert "active_from" not in rule or rule["active_from"] is None
    # What `show --json` printed, edited and sent back: output-only fields are passed over.
    shown = json.loads((await engagectl("--json", "rules", "show", "big_withdrawal", token=ana)).stdout)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(shown | {"condition": "withdrawal > 2000"}))
    updated = await engagectl("--json", "rules", "update", "big_withdrawal", "--file", str(edited), token=ana)
    assert updated.exit_code == 0, updated.stderr
    rule = json.loads(updated.stdout)
    assert (rule["version"], rule["condition"], rule["audience"], rule["status"]) == \
        (3, "withdrawal > 2000", shown["audience"], "DRAFT")
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"conditon": "withdrawal > 1"}))
    refused = await engagectl("rules", "update", "big_withdrawal", "--file", str(typo), token=ana)
    assert refused.exit_code == 2 and "conditon" in refused.stderr
    not_json = tmp_path / "broken.json"
    not_json.write_text("{")
    broken = await engagectl("rules", "create", "broken", "--file", str(not_json), token=ana)
    assert broken.exit_code == 2 and "--file" in broken.stderr

    at = dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)
    firing = FiringRecord("0190000000001a2b3c4d5e6f", "big_withdrawal", 1, "lisa", "lisa-chk", at, "tx-1", "tx-1",
                          {"withdrawal": "1200.00"}, (FiringAction("bank_notification", "bankNotifications/n1"),))
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.trigger_firings.add_firings([firing])
        await uow.commit()
    listed = await engagectl("rules", "firings", "big_withdrawal", "-o", "wide", token=ana)
    assert listed.exit_code == 0, listed.stderr
    row = listed.stdout.splitlines()[1].split("\t")
    assert row[0] == firing.firing_id and row[2:6] == ["lisa", "lisa-chk", "tx-1", "1"]
    assert row[6] == "withdrawal = 1200.00"
    theirs = await engagectl("--json", "rules", "firings", "big_withdrawal", "--customer", "tom", token=ana)
    assert json.loads(theirs.stdout) == []
    explained = await engagectl("rules", "explain", "big_withdrawal", firing.firing_id, token=ana)
    assert explained.exit_code == 0, explained.stderr
    assert "condition:\twithdrawal > 1000" in explained.stdout
    assert "withdrawal\t1200.00" in explained.stdout and "bankNotifications/n1" in explained.stdout
    as_json = await engagectl("--json", "rules", "explain", "x",
                              f"triggerRules/big_withdrawal/firings/{firing.firing_id}", token=ana)
    assert json.loads(as_json.stdout)["values"] == {"withdrawal": "1200.00"}


async def test_a_rule_approved_on_the_command_line_fires_on_a_posting(engagectl, server, settings, tenant,
                                                                      service_stubs):
    await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer("lisa")))
    await service_stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(account=account("lisa-chk", "lisa")))
    ana, ben = server.token(tenant, Role.BANK_ADMIN, "ana"), server.token(tenant, Role.BANK_ADMIN, "ben")
    for args, token in ((("create", "big_withdrawal", "--name", "Big withdrawal", "--audience", "customers:lisa",
                          "--condition", "withdrawal > 1000", *BANNER_OPTIONS, "--notify", "ask about it"), ana),
                        (("submit", "big_withdrawal"), ana), (("approve", "big_withdrawal", "--version", "1"), ben)):
        done = await engagectl("rules", *args, token=token)
        assert done.exit_code == 0, (args, done.stderr)

    today = dt.datetime.now(dt.UTC).date()
    await service_stubs.ingest.IngestTransactions(stream([
        transaction("t1", "lisa-chk", "5000.00", "CREDIT", today),
        transaction("t2", "lisa-chk", "1500.00", "DEBIT", today)]))
    await run_worker(settings)

    listed = await engagectl("--json", "rules", "firings", "big_withdrawal", token=ana)
    assert listed.exit_code == 0, listed.stderr
    [firing] = json.loads(listed.stdout)
    assert (firing["customer"], firing["account_id"], firing["transaction_id"]) == ("customers/lisa", "lisa-chk", "t2")
    explained = await engagectl("rules", "explain", "big_withdrawal", firing["name"].rpartition("/")[2], token=ana)
    assert explained.exit_code == 0, explained.stderr
    assert "condition:\twithdrawal > 1000" in explained.stdout and "withdrawal\t1500" in explained.stdout
    banners = await engagectl("banners", "list", "lisa", token=ana)
    assert [row.split("\t")[1:4] for row in banners.stdout.splitlines()[1:]] == \
        [["Running low?", "", "big_withdrawal v1"]]
    inbox = await engagectl("notifications", "list", "--status", "NEW", "-o", "wide", token=ana)
    [item] = inbox.stdout.splitlines()[1:]
    assert item.split("\t")[2:6] == ["big_withdrawal v1", "lisa", "lisa-chk", "ask about it"]


async def test_a_backtest_through_the_command_line(engagectl, server, tenant, service_stubs):
    await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer("carol")))
    await service_stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(account=account("carol-chk", "carol")))
    january = [dt.date(2024, 1, n) for n in range(1, 32)]

    async def history():  # type: ignore[no-untyped-def]
        # Overdrawn on the 3rd (fires), back on the 5th, overdrawn again on the 12th (after the cool-down: fires).
        yield ipb.IngestTransactionsRequest(backfill=True, transactions=[
            transaction("c01", "carol-chk", "100.00", "CREDIT", january[0]),
            transaction("c03", "carol-chk", "150.00", "DEBIT", january[2]),
            transaction("c05", "carol-chk", "100.00", "CREDIT", january[4]),
            transaction("c12", "carol-chk", "100.00", "DEBIT", january[11])])

    assert (await service_stubs.ingest.IngestTransactions(history())).accepted_count == 4
    ana = server.token(tenant, Role.BANK_ADMIN, "ana")
    created = await engagectl("rules", "create", "overdrawn", "--name", "Overdrawn", "--audience", "all",
                              "--condition", "balance < 0", "--cooldown", "7d", *BANNER_OPTIONS,
                              "--notify", "call them", token=ana)
    assert created.exit_code == 0, created.stderr

    shown = await engagectl("rules", "backtest", "overdrawn", "--from", "2024-01-02", "--to", "2024-01-31",
                            "--unit-cost", "BANNER=0.01", token=ana)
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert {"rule version:\t1", "period:\t2024-01-02 to 2024-01-31", "firings:\t2", "accounts:\t1",
            "customers:\t1"} <= set(lines)
    assert lines[lines.index("day\tfirings") + 1:][:2] == ["2024-01-03\t1", "2024-01-12\t1"]
    samples = [line.split("\t") for line in lines if line.startswith("carol\t")]
    assert [(s[1], s[3]) for s in samples] == [("carol-chk", "c03"), ("carol-chk", "c12")]
    assert "balance = -50" in samples[0][4]
    assert "BANNER\t2\t0.02 EUR" in lines and "BANK_NOTIFICATION\t2\t" in lines

    as_json = json.loads((await engagectl("--json", "rules", "backtest", "overdrawn", "--from", "2024-01-02",
                                          "--to", "2024-01-31", token=ana)).stdout)
    assert (as_json["firing_count"], len(as_json["days"])) == (2, 30)
    assert {e["channel"]: e["messages"] for e in as_json["channel_estimates"]} == \
        {"BANNER": "2", "BANK_NOTIFICATION": "2"}
    kept = json.loads((await engagectl("--json", "rules", "show", "overdrawn", token=ana)).stdout)
    assert kept["latest_backtest"]["firing_count"] == 2
    piped = _fields((await engagectl("rules", "show", "overdrawn", token=ana)).stdout)
    assert (piped["latest_backtest.firings"], piped["latest_backtest.period"]) == ("2", "2024-01-02 to 2024-01-31")
    assert not any(key.startswith("latest_backtest.days") for key in piped)
    wrong = await engagectl("rules", "backtest", "overdrawn", "--from", "2024-01-02", "--to", "2024-01-31",
                            "--unit-cost", "SMS=cheap", token=ana)
    assert wrong.exit_code == 2 and "--unit-cost" in wrong.stderr
    backwards = await engagectl("rules", "backtest", "overdrawn", "--from", "2024-01-31", "--to", "2024-01-02",
                                token=ana)
    assert backwards.exit_code == 1 and "TRIGGER_BACKTEST_INVALID" in backwards.stderr


async def test_a_customers_banners(engagectl, server, services, tenant):
    now = dt.datetime.now(dt.UTC)
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.banners.add_banners([
            Banner("b1", "lisa", "Running low?", "Overdraft cover", "See", "https://bank.example/cover",
                   now - dt.timedelta(hours=1), now + dt.timedelta(days=3), product_id="overdraft-cover",
                   rule_id="low_balance", version=2, firing_id="f1"),
            Banner("b2", "lisa", "Gone", "expired", "See", "https://bank.example/x", now - dt.timedelta(days=4),
                   now - dt.timedelta(days=1), rule_id="low_balance", version=1, firing_id="f0")])
        await uow.commit()
    listed = await engagectl("banners", "list", "lisa", token=server.token(tenant, Role.BANK_ADMIN, "ana"))
    assert listed.exit_code == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split("\t") == ["banner", "title", "product", "rule", "created", "expires", "impressions", "clicks"]
    assert row.split("\t")[:4] == ["b1", "Running low?", "overdraft-cover", "low_balance v2"]
    own = await engagectl("--json", "banners", "list", "customers/lisa", token=server.token(tenant, Role.USER, "lisa"))
    assert [b["name"] for b in json.loads(own.stdout)] == ["customers/lisa/banners/b1"]
    other = await engagectl("banners", "list", "tom", token=server.token(tenant, Role.USER, "lisa"))
    assert other.exit_code == 1 and "PERMISSION_DENIED" in other.stderr


async def test_the_inbox_and_the_webhook(engagectl, server, services, tenant):
    ana = server.token(tenant, Role.BANK_ADMIN, "ana")
    unset = await engagectl("notifications", "webhook", "show", token=ana)
    assert unset.exit_code == 1 and "NOTIFICATION_WEBHOOK_NOT_FOUND" in unset.stderr
    secret = "s" * 16 + uuid.uuid4().hex
    url = "http://127.0.0.1:9/engage/notifications"
    set_ = await engagectl("notifications", "webhook", "set", url, "--secret-env", "WEBHOOK_SECRET", token=ana,
                           env={"WEBHOOK_SECRET": secret})
    assert set_.exit_code == 0, set_.stderr
    assert _fields(set_.stdout)["url"] == url and secret not in set_.stdout
    shown = await engagectl("--json", "notifications", "webhook", "show", token=ana)
    assert json.loads(shown.stdout)["url"] == url and secret not in shown.stdout
    no_variable = await engagectl("notifications", "webhook", "set", url, "--secret-env", "NO_SUCH_VARIABLE_SET",
                                  token=ana)
    assert no_variable.exit_code == 2 and "--secret-env" in no_variable.stderr

    items = [NewBankNotification(rule_id="low_balance", rule_version=2, firing_id=f"f{n}", customer_id="c1",
                                 account_id="c1-chk", note="Call the customer", values={"balance": f"-{n}.00"})
             for n in (1, 2)]
    async with UnitOfWork(services.database, tenant) as uow:
        notified = await services.bank_notifications.notify(uow, items)
        await uow.commit()
    assert len(notified.delivery_ids) == 2  # the webhook is set: a delivery each, not handed to a worker here

    listed = await engagectl("--json", "notifications", "list", "--status", "new", token=ana)
    assert listed.exit_code == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert sorted(n["firing_id"] for n in found) == ["f1", "f2"] and {n["status"] for n in found} == {"NEW"}
    first = next(n for n in found if n["firing_id"] == "f1")
    first_id = first["name"].removeprefix("bankNotifications/")
    acked = await engagectl("notifications", "ack", first_id, token=ana)
    assert acked.exit_code == 0, acked.stderr
    assert (_fields(acked.stdout)["status"], _fields(acked.stdout)["acknowledged_by"]) == ("ACKNOWLEDGED", "ana")
    given = await engagectl("notifications", "assign", first["name"], "Petra (branch 12)", token=ana)
    assert _fields(given.stdout)["assignee"] == "Petra (branch 12)"
    piped = await engagectl("notifications", "list", "--status", "ACKNOWLEDGED", token=ana)
    [row] = piped.stdout.splitlines()[1:]
    assert row.split("\t")[:4] == [first_id, "ACKNOWLEDGED", "low_balance v2", "c1"]
    wrong = await engagectl("notifications", "list", "--status", "DONE", token=ana)
    assert wrong.exit_code == 2 and "NEW, ACKNOWLEDGED" in wrong.stderr

    deliveries = await engagectl("notifications", "deliveries", "--notification", first_id, token=ana)
    assert deliveries.exit_code == 0, deliveries.stderr
    [delivery] = deliveries.stdout.splitlines()[1:]
    assert delivery.split("\t")[1:4] == [first_id, "PENDING", "0"]
    removed = await engagectl("notifications", "webhook", "remove", token=ana)
    assert removed.exit_code == 0, removed.stderr
    assert (await engagectl("notifications", "webhook", "show", token=ana)).exit_code == 1


async def test_offers_recommended_suggested_and_decided(engagectl, server, services, tenant, service_stubs):
    await add_customers(service_stubs)
    await derive_attributes(services, tenant)
    ana, ben = server.token(tenant, Role.BANK_ADMIN, "ana"), server.token(tenant, Role.BANK_ADMIN, "ben")
    async with server.stubs(ana) as stubs:
        await add_product(stubs)

    banner = ("--banner-title", "Earn more on your savings", "--banner-body", "Premium savings pays 3% a year.",
              "--banner-cta-label", "Open now", "--banner-cta-url", "https://bank.example/premium")
    faulty = await engagectl("offers", "recommendations", "create", "rich_savers", "--name", "Savers",
                             "--product", "premium-savings", "--criteria", "avg_collected_balance >=", *banner,
                             token=ana)
    assert faulty.exit_code == 1 and "SEGMENT_EXPRESSION_INVALID" in faulty.stderr
    created = await engagectl(
        "--json", "offers", "recommendations", "create", "rich_savers", "--name", "Savers without a loan",
        "--product", "premium-savings", "--criteria", "avg_collected_balance >= 2500 AND NOT holds('LOAN')",
        *banner, "--banner-lifetime", "14d", token=ana)
    assert created.exit_code == 0, created.stderr
    recommendation = json.loads(created.stdout)
    assert (recommendation["product"], recommendation["banner"]["lifetime"]) == \
        ("products/premium-savings", f"{14 * 86400}s")
    listed = await engagectl("offers", "recommendations", "list", token=ana)
    assert listed.stdout.splitlines()[1].split("\t")[:3] == \
        ["rich_savers", "Savers without a loan", "premium-savings"]
    assert (await engagectl("offers", "recommendations", "show", "rich_savers", token=ana)).exit_code == 0

    run = await engagectl("offers", "run", "--recommendation", "rich_savers", token=ana)
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines()[1:] == ["rich_savers\t2"]
    assert run.stderr == "1 recommendation(s) run, 2 suggestion(s) made\n"
    pending = await engagectl("--json", "offers", "suggested", "--status", "PENDING", token=ana)
    suggestions = {s["customer"]: s for s in json.loads(pending.stdout)}
    assert sorted(suggestions) == ["customers/edge", "customers/rich"]
    assert suggestions["customers/rich"]["indicator_values"] == {"avg_collected_balance": "3000"}

    rich = suggestions["customers/rich"]["name"].removeprefix("suggestedOffers/")
    approved = await engagectl("offers", "approve", rich, token=ben)
    assert approved.exit_code == 0, approved.stderr
    assert (_fields(approved.stdout)["status"], _fields(approved.stdout)["decided_by"]) == ("APPROVED", "ben")
    again = await engagectl("offers", "approve", rich, token=ben)
    assert again.exit_code == 1 and "SUGGESTED_OFFER_DECIDED" in again.stderr
    rejected = await engagectl("offers", "reject", suggestions["customers/edge"]["name"], "--reason",
                               "only just at the line", token=ben)
    assert _fields(rejected.stdout)["rejection_reason"] == "only just at the line"
    decided = await engagectl("offers", "suggested", "--recommendation", "rich_savers", "-o", "wide", token=ana)
    rows = [line.split("\t") for line in decided.stdout.splitlines()[1:]]
    # By customer: the suggestions' ids (the first column) are in no particular order.
    assert sorted((r[1], r[4]) for r in rows) == [("edge", "REJECTED"), ("rich", "APPROVED")]

    banners = await engagectl("--json", "banners", "list", "rich", token=ana)
    [banner] = json.loads(banners.stdout)
    assert (banner["title"], banner["product"]) == ("Earn more on your savings", "products/premium-savings")
    deleted = await engagectl("offers", "recommendations", "delete", "rich_savers", token=ana)
    assert deleted.exit_code == 0 and _fields(deleted.stdout)["name"] == "offerRecommendations/rich_savers"
