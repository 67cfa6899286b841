"""engagectl ingest FILE as its own process against a real server: counts, reasons, and the data stored."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from engage.ingest.v1 import ingest_service_pb2 as pb
from server.domain.money import units_nanos_to_decimal

# Also on SQLite: this path goes through SQLite's own store code (tests/conftest.py).
pytestmark = pytest.mark.sqlite_too

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "records"


def _amount(money) -> Decimal:  # type: ignore[no-untyped-def]
    return units_nanos_to_decimal(money.units, money.nanos)


def _txn(transaction_id: str, account_id: str, amount: str, **fields: str) -> str:
    return json.dumps({"kind": "transaction", "transaction_id": transaction_id, "account_id": account_id,
                       "amount": amount, "currency": "EUR", "posted_at": "2026-10-01T09:00:00Z", **fields})


MIXED_LINES = [
    '{"kind": "transaction", "transaction_id": "t1", "account_id": "a1", "amount": 100.00, "currency": "EUR", '
    '"direction": "CREDIT", "posted_at": "2026-10-01"}',                                        # 1
    _txn("t2", "a1", "-30.25", category="GROCERIES"),                                           # 2
    '{"kind": "customer", "customer_id": "c1", "segment": "retail"}',                           # 3
    '{"kind": "customer", "customer_id": "c2", "segment": "old"}',                              # 4
    '{"kind": "customer", "customer_id": "c2", "segment": "family"}',                           # 5 replaces 4
    '{"kind": "account", "account_id": "a1", "customer_id": "c1", "type": "CHECKING", "currency": "EUR"}',  # 6
    '{"kind": "account", "account_id": "a2", "customer_id": "c2", "type": "SAVINGS", "currency": "EUR"}',   # 7
    '{"kind": "account", "account_id": "a3", "customer_id": "ghost", "type": "CHECKING", "currency": "EUR"}',  # 8
    _txn("t3", "a2", "10.00", direction="CREDIT"),                                              # 9
    _txn("t4", "a1", "12,00", direction="DEBIT"),                                               # 10 bad decimal
    _txn("t5", "a9", "1.00", direction="DEBIT"),                                                # 11 unknown account
    _txn("t6", "a1", "1.00", direction="DEBIT", currency="USD"),                                # 12 wrong currency
    _txn("t1", "a1", "100.00", direction="CREDIT"),                                             # 13 duplicate
    '{"kind": "balance", "account_id": "a1", "date": "2026-10-01", "balance": "69.75", "currency": "EUR"}',  # 14
    '{"kind": "balance", "account_id": "a1", "date": "2026-10-32", "balance": "1", "currency": "EUR"}',  # 15
    '{"kind": "balance", "account_id": "a9", "date": "2026-10-01", "balance": "1", "currency": "EUR"}',  # 16
    '{"kind": "customer", "customer_id": "c3",',                                                # 17 bad JSON
]


async def test_json_lines_load_in_dependency_order_and_report_bad_lines(server, tenant, engagectl, tmp_path):
    token = server.token(tenant, "service", "loader")
    path = tmp_path / "bank.jsonl"
    path.write_text("\n".join(MIXED_LINES) + "\n")

    result = await engagectl("--json", "ingest", str(path), token=token)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["customers"] == {"accepted": 2, "duplicate": 1, "rejected": 0}
    assert report["accounts"] == {"accepted": 2, "duplicate": 0, "rejected": 1}
    assert report["transactions"] == {"accepted": 3, "duplicate": 1, "rejected": 3}
    assert report["balances"] == {"accepted": 1, "duplicate": 0, "rejected": 2}
    assert report["unreadable"] == 1
    assert [(r["line"], r["id"], r["reason"]) for r in report["rejected"]] == [
        (8, "a3", "UNKNOWN_CUSTOMER"), (10, "t4", "INVALID_AMOUNT"), (11, "t5", "UNKNOWN_ACCOUNT"),
        (12, "t6", "CURRENCY_MISMATCH"), (15, "a1@2026-10-32", "INVALID_DATE"),
        (16, "a9@2026-10-01", "UNKNOWN_ACCOUNT"),
        (17, "", "INVALID_JSON")]
    assert all(r["message"] for r in report["rejected"])

    async with server.stubs(token) as stubs:
        accounts = (await stubs.ingest.ListAccounts(pb.ListAccountsRequest())).accounts
        assert {a.account_id: _amount(a.current_balance) for a in accounts} == {"a1": Decimal("69.75"),
                                                                               "a2": Decimal("10")}
        listed = await stubs.ingest.ListTransactions(pb.ListTransactionsRequest(parent="accounts/a1"))
        assert sorted(t.transaction_id for t in listed.transactions) == ["t1", "t2"]
        c2 = await stubs.ingest.GetCustomer(pb.GetCustomerRequest(name="customers/c2"))
        assert c2.attributes["segment"] == "family"  # the later line wins


async def test_csv_files_with_bad_rows_load_the_good_ones(server, tenant, engagectl, tmp_path):
    token = server.token(tenant, "service", "loader")
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,segment\nc1,retail\n")
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,customer_id,type,currency,account_name\na1,c1,CHECKING,EUR,Main\n"
                        "a2,c1,CHEQUE,EUR,Typo\n")
    transactions = tmp_path / "transactions.csv"
    transactions.write_text(
        "transaction_id,account_id,amount,currency,direction,posted_at,description,category\n"
        "t1,a1,250.00,EUR,CREDIT,2026-10-01,Salary,SALARY\n"
        "t2,a1,ten,EUR,DEBIT,2026-10-02T08:00:00Z,Bad amount,\n"
        "t3,a1,20.10,EUR,DEBIT,2026-10-02T08:00:00,No offset,\n"
        "t4,a1,40.00,EUR,DEBIT\n"
        "t5,a1,-12.40,EUR,,2026-10-03T18:30:00+02:00,\"Lidl, Vienna\",GROCERIES\n")

    for path in (customers, accounts):
        loaded = await engagectl("ingest", str(path), token=token)
        assert loaded.exit_code == 0, loaded.stderr
    assert "INVALID_ENUM" in loaded.stdout and "CHEQUE" in loaded.stdout  # the accounts table names the bad row

    result = await engagectl("--json", "ingest", str(transactions), "--kind", "transactions", token=token)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["transactions"] == {"accepted": 2, "duplicate": 0, "rejected": 3}
    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [
        (3, "INVALID_AMOUNT"), (4, "INVALID_TIMESTAMP"), (5, "WRONG_CELL_COUNT")]

    again = await engagectl("--json", "ingest", str(transactions), token=token)
    assert json.loads(again.stdout)["transactions"] == {"accepted": 0, "duplicate": 2, "rejected": 3}

    async with server.stubs(token) as stubs:
        (account,) = (await stubs.ingest.ListAccounts(pb.ListAccountsRequest(customer_id="c1"))).accounts
        assert (account.account_id, _amount(account.current_balance)) == ("a1", Decimal("237.60"))
        listed = (await stubs.ingest.ListTransactions(pb.ListTransactionsRequest(parent="accounts/a1"))).transactions
        assert [(t.transaction_id, t.description, t.direction) for t in listed] == [
            ("t5", "Lidl, Vienna", pb.DIRECTION_DEBIT), ("t1", "Salary", pb.DIRECTION_CREDIT)]


async def test_the_sample_files_load_without_rejections(server, tenant, engagectl):
    token = server.token(tenant, "service", "loader")
    reports = []
    for name in ("customers.csv", "accounts.csv", "transactions.csv", "balances.csv", "mixed.jsonl"):
        result = await engagectl("--json", "ingest", str(SAMPLES / name), token=token)
        assert result.exit_code == 0, result.stderr
        reports.append(json.loads(result.stdout))
    assert [r["totals"]["rejected"] for r in reports] == [0, 0, 0, 0, 0]
    assert reports[-1]["transactions"] == {"accepted": 0, "duplicate": 2, "rejected": 0}
    async with server.stubs(token) as stubs:
        account = await stubs.ingest.GetAccount(pb.GetAccountRequest(name="accounts/a-100-chk"))
        assert _amount(account.current_balance) == Decimal("1900.00")


async def test_a_missing_file_fails_with_one_line(tmp_path, engagectl):
    result = await engagectl("ingest", str(tmp_path / "nope.csv"))
    assert result.exit_code != 0
    assert result.stderr.strip().count("\n") == 0 and "no such file" in result.stderr


async def test_a_csv_of_no_known_kind_fails_before_sending(tmp_path, engagectl):
    path = tmp_path / "what.csv"
    path.write_text("id,name\n1,x\n")
    result = await engagectl("ingest", str(path))
    assert result.exit_code != 0
    assert result.stderr.strip().count("\n") == 0 and "--kind" in result.stderr


async def test_a_line_nested_100000_deep_is_rejected_and_the_rest_loads(server, tenant, engagectl, tmp_path):
    # Python's JSON parser recurses once per level: such a line was `error: RecursionError`, exit 1,
    # and nothing was sent.
    token = server.token(tenant, "service", "loader")
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join([
        '{"kind": "customer", "customer_id": "c1"}',
        "[" * 100_000 + "]" * 100_000,
        '{"kind": "customer", "customer_id": "c2", "x": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}",
        '{"kind": "customer", "customer_id": "c3", "x": ' + "[" * 100_000,  # deep and not even closed
        '{"kind": "account", "account_id": "a1", "customer_id": "c1", "type": "CHECKING", "currency": "EUR"}',
        _txn("t1", "a1", "12.50", direction="CREDIT", description="[" * 200 + "]" * 200),  # brackets in text are text
    ]) + "\n")

    result = await engagectl("--json", "ingest", str(path), token=token)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [(2, "INVALID_JSON"), (3, "INVALID_JSON"),
                                                                      (4, "INVALID_JSON")]
    assert all("nested" in r["message"] for r in report["rejected"])
    assert (report["customers"]["accepted"], report["accounts"]["accepted"], report["transactions"]["accepted"]) \
        == (1, 1, 1)

    # A CSV cell is text, however many brackets it holds: this one is only too long for an attribute.
    csv_path = tmp_path / "deep.csv"
    csv_path.write_text("customer_id,note\nc4," + "[" * 100_000 + "\nc5,plain\n")
    loaded = await engagectl("--json", "ingest", str(csv_path), token=token)
    assert loaded.exit_code == 0, loaded.stderr
    assert json.loads(loaded.stdout)["customers"] == {"accepted": 1, "duplicate": 0, "rejected": 1}
    async with server.stubs(token) as stubs:
        customers = (await stubs.ingest.ListCustomers(pb.ListCustomersRequest())).customers
        assert sorted(c.customer_id for c in customers) == ["c1", "c5"]


async def test_exit_code_1_when_every_line_is_rejected_or_with_strict_when_any_is(server, tenant, engagectl,
                                                                                  tmp_path):
    token = server.token(tenant, "service", "loader")
    nothing_good = tmp_path / "orphans.jsonl"
    nothing_good.write_text("\n".join([_txn("t1", "a9", "1.00", direction="DEBIT"), '{"kind": "customer",']) + "\n")
    refused = await engagectl("--json", "ingest", str(nothing_good), token=token)
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["totals"] == {"accepted": 0, "duplicate": 0, "rejected": 2}  # still reported
    assert refused.stderr.strip() == "error: every line was rejected (2): nothing was loaded"

    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join(MIXED_LINES) + "\n")
    strict = await engagectl("ingest", str(mixed), "--strict", token=token)
    assert strict.exit_code == 1
    assert "INVALID_AMOUNT" in strict.stdout  # the table of rejected lines comes first
    assert strict.stderr.strip().endswith("error: 7 line(s) rejected (--strict); the other 10 loaded")

    # Loaded before: duplicates are not failures, even with --strict.
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,segment\nc1,retail\n")
    for _ in range(2):
        again = await engagectl("ingest", str(customers), "--strict", token=token)
        assert again.exit_code == 0, again.stderr
