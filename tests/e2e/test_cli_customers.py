"""engagectl customers, accounts get, holdings and balances as their own process against a real server:
the reads the API has always had, and one customer's whole picture on one screen."""

from __future__ import annotations

import datetime as dt
import json

from engage.ingest.v1 import ingest_service_pb2 as ingest
from engage.insights.v1 import insights_service_pb2 as insights
from engage.type.v1 import date_pb2
from server.domain.auth import Role
from tests.e2e.test_insights_savings import seed_reference_customer
from tests.support.builders import stream, transaction


async def _seed(service_stubs) -> None:  # type: ignore[no-untyped-def]
    """u1: four accounts with month-end balances, two transactions and one feed item."""
    await seed_reference_customer(service_stubs)
    await service_stubs.ingest.IngestTransactions(stream([
        transaction("t-old", "u1-chk", "12.50", "DEBIT", day=dt.date(2021, 6, 1), currency="USD",
                    description="Coffee"),
        transaction("t-new", "u1-sav", "300.00", "CREDIT", day=dt.date(2021, 6, 20), currency="USD",
                    description="Transfer")]))
    generated = await service_stubs.insights.TriggerInsights(insights.TriggerInsightsRequest(
        customer_id="u1", as_of=date_pb2.Date(year=2021, month=7, day=1)))
    assert len(generated.generated) == 1


async def test_customers_list_get_and_accounts_get(engagectl, server, tenant, service_stubs):
    await _seed(service_stubs)
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")

    listed = await engagectl("customers", "list", token=admin)
    assert listed.exit_code == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split("\t")[0] == "u1"

    got = json.loads((await engagectl("customers", "get", "u1", "--json", token=admin)).stdout)
    assert (got["name"], got["customer_id"]) == ("customers/u1", "u1")

    account = await engagectl("accounts", "get", "accounts/u1-sav", token=admin)
    assert account.exit_code == 0, account.stderr
    fields = dict(line.split(":\t", 1) for line in account.stdout.splitlines())
    assert (fields["account_id"], fields["customer_id"], fields["type"]) == ("u1-sav", "u1", "SAVINGS")

    missing = await engagectl("accounts", "get", "nope", token=admin)
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: NOT_FOUND")


async def test_balances_list_by_date_range(engagectl, server, tenant, service_stubs):
    await _seed(service_stubs)
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")
    every = json.loads((await engagectl("balances", "list", "--account", "u1-sav", "--json", token=admin)).stdout)
    assert [(b["date"], b["balance"]["amount"]) for b in every] == [
        ({"year": 2021, "month": 4, "day": 30}, "100000.00"), ({"year": 2021, "month": 5, "day": 31}, "100000.00"),
        ({"year": 2021, "month": 6, "day": 30}, "120000.00")]

    may = await engagectl("balances", "list", "--account", "u1-sav", "--from", "2021-05-01", "--to", "2021-05-31",
                          token=admin)
    assert may.stdout.splitlines() == ["account\tdate\tbalance", "u1-sav\t2021-05-31\t100,000.00 USD"]

    paged = await engagectl("balances", "list", "--account", "u1-sav", "--limit", "2", token=admin)
    assert len(paged.stdout.splitlines()) == 3 and "more results" in paged.stderr

    bad = await engagectl("balances", "list", "--account", "u1-sav", "--from", "May", token=admin)
    assert bad.exit_code == 2 and "--from" in bad.stderr


async def test_holdings_upsert_from_options_and_from_a_file(engagectl, server, tenant, service_stubs, tmp_path):
    await _seed(service_stubs)
    service = server.token(tenant, Role.SERVICE, "loader")
    one = await engagectl("holdings", "upsert", "h-loan", "--kind", "loan", "--customer", "u1", "--amount",
                          "250000", "--currency", "USD", "--start-date", "2020-02-01", "--attribute", "rate=3.1",
                          token=service)
    assert one.exit_code == 0, one.stderr
    assert one.stdout.strip() == "upserted:\t1"

    path = tmp_path / "holdings.jsonl"
    path.write_text(json.dumps({"holding_id": "h-card", "kind": "CARD", "customer_id": "u1", "account_id": "u1-cc",
                                "amount": "5000", "currency": "USD"}) + "\n\n"
                    + json.dumps({"holding_id": "h-ins", "kind": "INSURANCE", "customer_id": "u1"}) + "\n"
                    + json.dumps({"holding_id": "h-od", "kind": "overdraft_protection", "customer_id": "u1",
                                  "account_id": "u1-cc"}) + "\n")
    loaded = await engagectl("holdings", "upsert", "--file", str(path), "--json", token=service)
    assert json.loads(loaded.stdout) == {"upserted": 3}

    listed = await engagectl("holdings", "list", "--customer", "u1", token=service)
    assert [line.split("\t")[:6] for line in listed.stdout.splitlines()[1:]] == [
        ["h-card", "u1", "u1-cc", "CARD", "5,000.00 USD", ""],
        ["h-ins", "u1", "", "INSURANCE", "", ""],
        ["h-loan", "u1", "", "LOAN", "250,000.00 USD", "2020-02-01"],
        ["h-od", "u1", "u1-cc", "OVERDRAFT_PROTECTION", "", ""]]

    bad_line = tmp_path / "bad.jsonl"
    bad_line.write_text('{"holding_id": "h-x", "kind": "BOAT"}\n')
    refused = await engagectl("holdings", "upsert", "--file", str(bad_line), token=service)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: bad.jsonl line 1: kind 'BOAT' is none of LOAN, CARD")

    unknown = await engagectl("holdings", "upsert", "h-y", "--kind", "LOAN", "--customer", "ghost", token=service)
    assert unknown.exit_code == 1 and "UNKNOWN_CUSTOMER_OR_ACCOUNT" in unknown.stderr

    neither = await engagectl("holdings", "upsert", token=service)
    assert neither.exit_code == 2


async def test_customers_show_puts_everything_on_one_screen(engagectl, server, tenant, service_stubs):
    await _seed(service_stubs)
    await service_stubs.ingest.BatchUpsertHoldings(ingest.BatchUpsertHoldingsRequest(holdings=[
        ingest.Holding(holding_id="h-loan", kind=ingest.HOLDING_KIND_LOAN, customer_id="u1")]))
    service = server.token(tenant, Role.SERVICE, "loader")

    shown = json.loads((await engagectl("customers", "show", "u1", "--json", token=service)).stdout)
    assert shown["customer"]["customer_id"] == "u1"
    assert sorted(a["account_id"] for a in shown["accounts"]) == ["u1-cc", "u1-chk", "u1-oth", "u1-sav"]
    assert [h["holding_id"] for h in shown["holdings"]] == ["h-loan"]
    assert [t["transaction_id"] for t in shown["recent_transactions"]] == ["t-new", "t-old"]
    assert [i["insight_name"] for i in shown["feed"]] == ["SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE"]
    assert "LARGE_DEPOSIT" in {s["insight_name"] for s in shown["subscriptions"]}
    assert (shown["deliveries"], shown["unavailable"]) == ([], {})

    one = json.loads((await engagectl("customers", "show", "u1", "--count", "1", "--json", token=service)).stdout)
    assert [t["transaction_id"] for t in one["recent_transactions"]] == ["t-new"]

    # A bank_admin may not read a user's subscriptions: that section says so, the rest is shown.
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")
    screen = await engagectl("customers", "show", "u1", token=admin, terminal_columns=160)
    assert screen.exit_code == 0, screen.stdout
    for heading in ("customer u1", "accounts", "holdings", "recent transactions", "feed", "deliveries: none",
                    "u1-sav", "t-new", "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE",
                    "subscriptions: not shown: PERMISSION_DENIED"):
        assert heading in screen.stdout, heading

    piped = await engagectl("customers", "show", "u1", token=admin)
    assert "# recent transactions" in piped.stdout and "t-new\t" in piped.stdout
    assert "subscriptions: not shown: PERMISSION_DENIED" in piped.stderr

    missing = await engagectl("customers", "show", "ghost", token=admin)
    assert missing.exit_code == 1 and missing.stderr.startswith("error: NOT_FOUND")
