"""The wire contract as seen by a client no one here wrote: Node's grpc-js with the .proto files
loaded at run time (tests/contract/node/client.js). It runs as its own process against the real
server and reports every response and status code as JSON."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from typing import Any

import pytest

from server.domain.auth import Role
from tests.conftest import REPO_ROOT

NODE_CLIENT_DIR = REPO_ROOT / "tests" / "contract" / "node"
NODE_PACKAGES = ("@grpc/grpc-js", "@grpc/proto-loader")
# 2024-01-15T12:00:00Z, as a Timestamp with int64 seconds written the way proto-loader wants them.
POST_TIME = {"seconds": "1705320000", "nanos": 0}


def _node_or_fail() -> str:
    """CI has node: a missing one or missing packages is a broken setup, never a reason to skip."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: run `make node-deps` (it installs nodejs and npm, then the packages)")
    missing = [p for p in NODE_PACKAGES if not (NODE_CLIENT_DIR / "node_modules" / p / "package.json").exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing under {NODE_CLIENT_DIR}/node_modules: run `make node-deps`")
    return node


def _money(units: str, nanos: int = 0, currency: str = "EUR") -> dict[str, Any]:
    return {"currency_code": currency, "units": units, "nanos": nanos}


def _txn(transaction_id: str, account_id: str, money: dict[str, Any], direction: str) -> dict[str, Any]:
    return {"transaction_id": transaction_id, "account_id": account_id, "amount": money,
            "direction": f"DIRECTION_{direction}", "post_time": POST_TIME}


def _account(account_id: str, **fields: Any) -> dict[str, Any]:
    return {"account_id": account_id, "customer_id": "c1", "currency_code": "EUR", "type": "ACCOUNT_TYPE_CHECKING",
            "container": "CONTAINER_BANK", **fields}


def _script() -> dict[str, Any]:
    return {"steps": [
        {"name": "customer", "call": "UpsertCustomer",
         "request": {"customer": {"customer_id": "c1", "attributes": {"segment": "retail"}}}},
        {"name": "account a1", "call": "UpsertAccount", "request": {"account": _account("a1")}},
        {"name": "account a2", "call": "UpsertAccount",
         "request": {"account": _account("a2", type="ACCOUNT_TYPE_SAVINGS", current_balance=_money("10"))}},
        {"name": "ingest", "call": "IngestTransactions", "requests": [
            {"transactions": [_txn("t1", "a1", _money("100"), "CREDIT"),
                              _txn("t2", "a1", _money("30", 250_000_000), "DEBIT")]},
            # t1 again is a duplicate; "nope" is no account of the bank's.
            {"transactions": [_txn("t1", "a1", _money("100"), "CREDIT"),
                              _txn("t3", "nope", _money("1"), "CREDIT"),
                              _txn("t4", "a2", _money("15", 500_000_000), "DEBIT")]},
        ]},
        {"name": "get a1", "call": "GetAccount", "request": {"name": "accounts/a1"}},
        {"name": "get a2", "call": "GetAccount", "request": {"name": "accounts/a2"}},
        {"name": "list", "call": "ListAccounts", "request": {"customer_id": "c1", "page_size": 1}},
        {"name": "bad name", "call": "GetAccount", "request": {"name": "a1"}, "expect": "INVALID_ARGUMENT"},
        {"name": "no token", "call": "GetAccount", "request": {"name": "accounts/a1"}, "auth": False,
         "expect": "UNAUTHENTICATED"},
    ]}


async def _run_node_client(address: str, token: str, script: dict[str, Any], timeout: float = 120,
                           tokens: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """`tokens`: more tokens by environment variable name, for steps that name one (`token_env`)."""
    node = _node_or_fail()
    # The token travels in the environment rather than argv, which other processes can read.
    environment = {**os.environ, **(tokens or {}), "ENGAGE_TOKEN": token}
    # A subprocess awaited on the loop: the server under test serves from this same loop.
    process = await asyncio.create_subprocess_exec(
        node, str(NODE_CLIENT_DIR / "client.js"), "--address", address, json.dumps(script),
        cwd=REPO_ROOT, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    stderr = err.decode()
    assert out, f"the node client printed nothing (exit {process.returncode}): {stderr}"
    return process.returncode or 0, json.loads(out), stderr


async def test_node_grpc_js_client_speaks_the_contract(server, tenant):
    exit_code, report, stderr = await _run_node_client(server.address, server.token(tenant, Role.SERVICE), _script())
    results = {r["name"]: r for r in report["results"]}
    unexpected = {name: (r["status"], r["details"]) for name, r in results.items() if not r["as_expected"]}
    assert exit_code == 0 and report["ok"], f"unexpected outcomes {unexpected}; stderr: {stderr}"

    customer = results["customer"]["response"]
    assert (customer["name"], customer["attributes"]) == ("customers/c1", {"segment": "retail"})
    assert results["account a2"]["response"]["current_balance"] == {"currency_code": "EUR", "units": "10", "nanos": 0}

    # int64 counts arrive as decimal strings (longs: String); rejections carry stream-wide indexes.
    ingest = results["ingest"]["response"]
    assert (ingest["accepted_count"], ingest["duplicate_count"], ingest["rejected_count"]) == ("3", "1", "1")
    assert [(r["index"], r["transaction_id"], r["reason"]) for r in ingest["rejected"]] == [
        ("3", "t3", "UNKNOWN_ACCOUNT")]

    # 100 - 30.25 = 69.75 and 10 - 15.50 = -5.50: units a string, nanos an int32 with the same sign.
    a1 = results["get a1"]["response"]
    assert (a1["name"], a1["type"], a1["container"]) == ("accounts/a1", "ACCOUNT_TYPE_CHECKING", "CONTAINER_BANK")
    assert a1["current_balance"] == {"currency_code": "EUR", "units": "69", "nanos": 750_000_000}
    assert a1["available_balance"] == a1["current_balance"]
    a2 = results["get a2"]["response"]
    assert a2["current_balance"] == {"currency_code": "EUR", "units": "-5", "nanos": -500_000_000}
    assert a2["type"] == "ACCOUNT_TYPE_SAVINGS"

    listed = results["list"]["response"]
    assert [a["account_id"] for a in listed["accounts"]] == ["a1"]
    assert listed["next_page_token"], "a page of 1 out of 2 accounts must point to the next page"

    assert results["bad name"]["code"] == 3  # INVALID_ARGUMENT
    assert results["no token"]["code"] == 16  # UNAUTHENTICATED
    assert "Bearer" in results["no token"]["details"]


def _services_in_protos() -> set[str]:
    """engage.<area>.v1.<Service> for every service declared under protos/engage."""
    found = set()
    for proto in (REPO_ROOT / "protos" / "engage").rglob("*_service.proto"):
        text = proto.read_text()
        package = re.search(r"^package ([\w.]+);", text, re.MULTILINE).group(1)
        found.update(f"{package}.{name}" for name in re.findall(r"^service (\w+)", text, re.MULTILINE))
    return found


ADMIN = "ENGAGE_ADMIN_TOKEN"
USER = "ENGAGE_USER_TOKEN"


def _every_service_script() -> dict[str, Any]:
    """One call of each service, as the role that may make it."""
    def step(service: str, call: str, request: dict[str, Any], token_env: str | None = None) -> dict[str, Any]:
        return {"name": service.rsplit(".", 1)[1], "service": service, "call": call, "request": request,
                **({"token_env": token_env} if token_env else {})}

    return {"steps": [
        step("engage.ingest.v1.IngestService", "UpsertCustomer",
             {"customer": {"customer_id": "c1", "attributes": {"segment": "retail"}}}),
        step("engage.engagement.v1.EngagementService", "CreateApp",
             {"app": {"display_name": "Yes Bank", "category": "BANKING", "platforms": ["PLATFORM_ANDROID"]}}, ADMIN),
        step("engage.insights.v1.InsightsService", "ListInsightDefinitions", {}),
        step("engage.subscriptions.v1.SubscriptionsService", "GetBankSubscriptions",
             {"insight_names": ["LARGE_DEPOSIT"]}, ADMIN),
        {"name": "account", "call": "UpsertAccount",
         "request": {"account": _account("a1", type="ACCOUNT_TYPE_SAVINGS")}},
        step("engage.goals.v1.GoalsService", "EnrollInGoals", {"parent": "customers/c1", "account_id": "a1"}),
        step("engage.personas.v1.PersonasService", "ListAttributeDefinitions", {}, ADMIN),
        step("engage.products.v1.ProductsService", "ListProducts", {}, ADMIN),
        step("engage.journeys.v1.JourneysService", "ListJourneys", {}, ADMIN),
        step("engage.operations.v1.OperationsService", "GetStatus", {}, ADMIN),
        step("engage.triggers.v1.TriggerRulesService", "ListTriggerRules", {}, ADMIN),
        step("engage.triggers.v1.BankNotificationsService", "ListBankNotifications", {}, ADMIN),
        step("engage.triggers.v1.BannersService", "ListBanners", {"parent": "customers/c1"}, USER),
        step("engage.triggers.v1.OffersService", "ListOfferRecommendations", {}, ADMIN),
        step("engage.reporting.v1.ReportingService", "ListEventHistory",
             {"kinds": ["EVENT_KIND_DELIVERY"], "order_by": "occur_time desc"}, ADMIN),
    ]}


async def test_node_client_calls_each_service(server, tenant):
    script = _every_service_script()
    assert {s.get("service", "engage.ingest.v1.IngestService") for s in script["steps"]} == _services_in_protos(), \
        "a service without a call here"
    exit_code, report, stderr = await _run_node_client(
        server.address, server.token(tenant, Role.SERVICE), script,
        tokens={ADMIN: server.token(tenant, Role.BANK_ADMIN, "ops"), USER: server.token(tenant, Role.USER, "c1")})
    results = {r["name"]: r for r in report["results"]}
    unexpected = {name: (r["status"], r["details"]) for name, r in results.items() if not r["as_expected"]}
    assert exit_code == 0 and report["ok"], f"unexpected outcomes {unexpected}; stderr: {stderr}"

    app = results["EngagementService"]["response"]
    assert (app["display_name"], app["state"], app["platforms"]) == ("Yes Bank", "UNPUBLISHED", ["PLATFORM_ANDROID"])
    assert app["name"] == f"apps/{app['application_id']}"
    definitions = {d["insight_name"]: d for d in results["InsightsService"]["response"]["insight_definitions"]}
    savings = definitions["SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE"]
    assert (savings["insight_type"], savings["frequency"]) == ("INSIGHT_TYPE_AGGREGATE", "FREQUENCY_MONTHLY")
    assert savings["thresholds"][0]["default_value"] == "10.00"
    [subscription] = results["SubscriptionsService"]["response"]["customer_subscription"]
    assert (subscription["insight_name"], subscription["customer_configuration"][0]["is_subscribed"]) == (
        "LARGE_DEPOSIT", True)
    enrolment = results["GoalsService"]["response"]
    assert (enrolment["name"], enrolment["account_id"], enrolment["state"]) == (
        "customers/c1/goalsEnrolment", "a1", "ENROLMENT_STATE_ACTIVE")
    assert enrolment["settings"] == {"tracker_insights": True, "milestone_insights": True, "at_risk_insights": True}
    assert results["BannersService"]["response"]["banners"] == []
    assert results["ReportingService"]["response"]["rows"] == []
    status = results["OperationsService"]["response"]
    assert status["serving"] is True and status["queue"]["queue_name"] == server.settings.queue_name
