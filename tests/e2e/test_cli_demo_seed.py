"""engagectl demo seed as its own process against a real server, checked through gRPC."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from clients.demo_data import DemoSpec, generate
from engage.ingest.v1 import ingest_service_pb2 as pb
from server.domain.money import units_nanos_to_decimal

# Also on SQLite: this path goes through SQLite's own store code (tests/conftest.py).
pytestmark = pytest.mark.sqlite_too

SEED_ARGS = ("demo", "seed", "--customers", "5", "--months", "3", "--seed", "7", "--until", "2026-10-31")


def _amount(money) -> Decimal:  # type: ignore[no-untyped-def]
    return units_nanos_to_decimal(money.units, money.nanos)


async def _all_pages(call, request, field: str) -> list:  # type: ignore[no-untyped-def]
    found, token = [], ""
    while True:
        request.page_size, request.page_token = 1000, token
        page = await call(request)
        found += getattr(page, field)
        token = page.next_page_token
        if not token:
            return found


async def test_demo_seed_is_consistent_and_idempotent(server, tenant, engagectl):
    token = server.token(tenant, "service", "loader")
    expected = generate(DemoSpec(customers=5, months=3, seed=7, until=dt.date(2026, 10, 31)))

    first = await engagectl("--json", *SEED_ARGS, token=token)
    assert first.exit_code == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["customers"], summary["accounts"]) == (5, len(expected.accounts))
    assert summary["transactions_accepted"] == len(expected.transactions) > 0
    assert (summary["transactions_duplicate"], summary["transactions_rejected"]) == (0, 0)
    assert summary["balances_recorded"] == len(expected.balances)
    assert summary["spec"] == {"customers": 5, "months": 3, "seed": 7, "currency": "EUR", "from": "2026-08-01",
                               "until": "2026-10-31"}

    async with server.stubs(token) as stubs:
        ingest = stubs.ingest
        customers = await _all_pages(ingest.ListCustomers, pb.ListCustomersRequest(), "customers")
        assert [c.customer_id for c in customers] == [f"demo-c000{i}" for i in range(1, 6)]
        assert all(c.attributes["segment"] and c.attributes["birth_year"] for c in customers)
        accounts = await _all_pages(ingest.ListAccounts, pb.ListAccountsRequest(), "accounts")
        assert sorted(a.account_id for a in accounts) == sorted(a.account_id for a in expected.accounts)
        for account in accounts:
            parent = f"accounts/{account.account_id}"
            transactions = await _all_pages(ingest.ListTransactions, pb.ListTransactionsRequest(parent=parent),
                                            "transactions")
            signed = sum((_amount(t.amount) if t.direction == pb.DIRECTION_CREDIT else -_amount(t.amount)
                          for t in transactions), Decimal(0))
            assert _amount(account.current_balance) == signed, account.account_id
            balances = await _all_pages(ingest.ListBalances, pb.ListBalancesRequest(parent=parent), "balances")
            assert (balances[0].date.month, balances[0].date.day) == (8, 1)
            assert (balances[-1].date.month, balances[-1].date.day) == (10, 31)
            assert _amount(balances[-1].balance) == signed, account.account_id

        again = await engagectl("--json", *SEED_ARGS, token=token)
        assert again.exit_code == 0, again.stderr
        repeated = json.loads(again.stdout)
        assert repeated["transactions_accepted"] == 0
        assert repeated["transactions_duplicate"] == len(expected.transactions)
        unchanged = await _all_pages(ingest.ListAccounts, pb.ListAccountsRequest(), "accounts")
        assert [a.current_balance for a in unchanged] == [a.current_balance for a in accounts]


async def test_demo_seed_prints_a_table_and_needs_a_service_token(server, tenant, engagectl):
    shown = await engagectl("demo", "seed", "--customers", "2", "--months", "1", "--seed", "3", "--until", "2026-01-31",
                            token=server.token(tenant, "service", "loader"))
    assert shown.exit_code == 0, shown.stderr
    # Piped: tab-separated rows under a header, no title.
    assert shown.stdout.splitlines()[0].split("\t") == ["what", "accepted", "duplicate", "rejected"]
    assert any(line.startswith("transactions\t") for line in shown.stdout.splitlines())

    denied = await engagectl(*SEED_ARGS, token=server.token(tenant, "bank_admin", "admin"))
    assert denied.exit_code != 0
    assert denied.stderr.strip().startswith("error: PERMISSION_DENIED")


async def test_demo_seed_rejects_a_bad_until_date(engagectl):
    result = await engagectl("demo", "seed", "--until", "31.10.2026")
    assert result.exit_code != 0
    assert "YYYY-MM-DD" in result.stderr
