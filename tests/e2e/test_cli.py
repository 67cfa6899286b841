"""engagectl as an operator runs it: its own process, against the real server."""

import json
import uuid

from server.security.tokens import TokenVerifier
from tests.support.builders import seed_accounts, stream, transaction


async def test_tenants_create_and_list(engagectl):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = await engagectl("tenants", "create", name, "--display-name", "CLI Bank", "--time-zone", "Europe/Prague")
    assert created.exit_code == 0, created.stderr
    listed = await engagectl("--json", "tenants", "list")
    assert {"tenant_id": name, "display_name": "CLI Bank", "time_zone": "Europe/Prague", "state": "enabled",
            "disabled_at": None} in json.loads(listed.stdout)
    again = await engagectl("tenants", "create", name)
    assert again.exit_code != 0
    assert again.stderr.strip() == f"error: TENANT_EXISTS: tenant '{name}' exists already"
    bad = await engagectl("tenants", "create", "Bad Name!")
    assert bad.exit_code != 0 and "INVALID_TENANT" in bad.stderr


async def test_token_mint_gives_a_token_the_server_accepts(engagectl, server, tenant, service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    minted = await engagectl("token", "mint", "--tenant", tenant, "--role", "user", "--sub", "c1")
    assert minted.exit_code == 0, minted.stderr
    token = minted.stdout.strip()
    caller = TokenVerifier.from_settings(server.settings).verify(token)
    assert (caller.tenant_id, caller.subject, caller.role.value) == (tenant, "c1", "user")
    listed = await engagectl("--json", "accounts", "list", token=token)
    assert [a["account_id"] for a in json.loads(listed.stdout)] == ["a1"]


async def test_accounts_and_transactions_lists(engagectl, server, tenant, service_stubs):
    await seed_accounts(service_stubs, "c1", "a1", "a2")
    await service_stubs.ingest.IngestTransactions(stream(
        [transaction("t1", "a1", "100.00", description="Salary"), transaction("t2", "a1", "25.50", "DEBIT")]))
    token = server.token(tenant, "bank_admin", "ops")
    table = await engagectl("accounts", "list", token=token)
    assert table.exit_code == 0, table.stderr
    assert "a1" in table.stdout and "74.50 EUR" in table.stdout
    as_json = json.loads((await engagectl("--json", "transactions", "list", "--account", "a1", token=token)).stdout)
    assert [t["transaction_id"] for t in as_json] == ["t2", "t1"] or [t["transaction_id"] for t in as_json] == [
        "t1", "t2"]
    assert {t["transaction_id"]: t["amount"] for t in as_json} == {
        "t1": {"amount": "100.00", "currency_code": "EUR"}, "t2": {"amount": "25.50", "currency_code": "EUR"}}
    table = await engagectl("transactions", "list", "--account", "a1", "--from", "2024-01-01", token=token)
    assert "Salary" in table.stdout


async def test_errors_are_one_clear_line_and_a_non_zero_exit(engagectl, server, tenant):
    missing = await engagectl("transactions", "list", "--account", "nope", token=server.token(tenant))
    assert missing.exit_code != 0
    assert missing.stderr.strip() == "error: NOT_FOUND ACCOUNT_NOT_FOUND: account 'nope' was not found"
    unauthenticated = await engagectl("accounts", "list")
    assert unauthenticated.exit_code != 0
    assert unauthenticated.stderr.strip().startswith("error: UNAUTHENTICATED TOKEN_MISSING")
    bad_date = await engagectl("transactions", "list", "--account", "a1", "--from", "yesterday",
                               token=server.token(tenant))
    assert bad_date.exit_code != 0 and "not a date" in bad_date.stderr
    unreachable = await engagectl("--address", "127.0.0.1:1", "health")
    assert unreachable.exit_code != 0 and unreachable.stderr.strip().startswith("error: UNAVAILABLE")


async def test_health_and_db_upgrade(engagectl):
    health = await engagectl("health")
    assert health.exit_code == 0 and "SERVING" in health.stdout
    upgraded = await engagectl("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.stderr
