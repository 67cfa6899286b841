"""engagectl import berka against a real server, checked through gRPC against the raw files.

The first import is the one that built the run's Berka template (tests/support/berka_template.py: the
same `engagectl --json import berka` into a fresh tenant, on a real server): what it printed is checked
here, and what it stored, in this test's clone of the template; the second import runs here.
The expectations are computed here straight from the .asc files, independently of clients.berka."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.type.v1 import date_pb2
from server.domain.money import units_nanos_to_decimal
from tests.support.berka_template import BERKA, BERKA_TENANT

ROUNDING = Decimal("0.10")

pytestmark = pytest.mark.skipif(not (BERKA / "trans.asc").is_file(),
                                reason=f"the Berka data set is not at {BERKA}")


@pytest.fixture
def database_url(berka_database_url: str) -> str:
    """PostgreSQL, with the Berka data set imported once (tenant BERKA_TENANT)."""
    return berka_database_url


@pytest.fixture
def tenant() -> str:
    return BERKA_TENANT


def table(name: str) -> tuple[list[list[str]], list[int]]:
    """Whole rows (quotes stripped) and the line numbers of rows with missing fields."""
    lines = (BERKA / name).read_text().splitlines()
    width = len(lines[0].split(";"))
    whole, cut = [], []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(";")
        if len(fields) == width:
            whole.append([f.strip('"') for f in fields])
        else:
            cut.append(number)
    return whole, cut


def yymmdd(text: str) -> dt.date:
    return dt.date(1900 + int(text[:2]), int(text[2:4]), int(text[4:6]))


def as_decimal(money: object) -> Decimal:
    return units_nanos_to_decimal(money.units, money.nanos)  # type: ignore[attr-defined]


def signed(row: list[str]) -> Decimal:
    return Decimal(row[5]) if row[3] == "PRIJEM" else -Decimal(row[5])


def day_end(rows: list[list[str]]) -> list[str] | None:
    """The row no other row of the day continues from (its balance is nobody's opening), when unique."""
    ends = [row for row in rows
            if not any(other is not row and abs(Decimal(other[6]) - signed(other) - Decimal(row[6])) <= ROUNDING
                       for other in rows)]
    return ends[0] if len(ends) == 1 else None


async def list_all(call, request, field: str) -> list:  # type: ignore[no-untyped-def,type-arg]
    found: list = []  # type: ignore[type-arg]
    while True:
        page = await call(request)
        found.extend(getattr(page, field))
        if not page.next_page_token:
            return found
        request.page_token = page.next_page_token


def as_date(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


async def test_import_berka_loads_everything_once(server, tenant, engagectl, berka_template):
    token = server.token(tenant, "service", "loader")
    summary = berka_template.import_report

    clients, _ = table("client.asc")
    dispositions, _ = table("disp.asc")
    accounts, _ = table("account.asc")
    loans, _ = table("loan.asc")
    cards, _ = table("card.asc")
    transactions, cut_lines = table("trans.asc")
    by_day: dict[tuple[str, dt.date], list[list[str]]] = defaultdict(list)
    for row in transactions:
        by_day[(row[1], yymmdd(row[2]))].append(row)

    assert (len(clients), len(accounts), len(transactions), cut_lines) == (5369, 4500, 49102, [49104])
    assert summary["customers"] == len(clients)
    assert summary["accounts"] == len(accounts)
    assert summary["holdings"] == len(loans) + len(cards)
    assert summary["transactions_accepted"] == len(transactions)
    assert summary["transactions_rejected"] == 1
    assert [(r["code"], r["line"]) for r in summary["rejected_rows"]] == [("TRUNCATED_ROW", 49104)]
    assert summary["balances_recorded"] == len(by_day)
    # Only the last day can fail the check: the cut took some of its rows.
    assert all("1994-03-31" in failure for failure in summary["balance_check_failed_days"])

    async with server.stubs(token) as stubs:
        ingest = stubs.ingest
        assert len(await list_all(ingest.ListCustomers, pb.ListCustomersRequest(page_size=1000), "customers")) \
            == len(clients)
        assert len(await list_all(ingest.ListAccounts, pb.ListAccountsRequest(page_size=1000), "accounts")) \
            == len(accounts)
        holdings = await list_all(ingest.ListHoldings, pb.ListHoldingsRequest(page_size=1000), "holdings")
        assert sorted(h.holding_id for h in holdings) == sorted(
            [f"loan-{row[0]}" for row in loans] + [f"card-{row[0]}" for row in cards])

        # A woman's birth number has 50 added to the month.
        client_id, birth_number, _ = next(row for row in clients if int(row[1][2:4]) > 50)
        customer = await ingest.GetCustomer(pb.GetCustomerRequest(name=f"customers/{client_id}"))
        born = yymmdd(f"{birth_number[:2]}{int(birth_number[2:4]) - 50:02d}{birth_number[4:]}")
        assert (customer.attributes["gender"], customer.attributes["birth_date"]) == ("female", born.isoformat())

        # An account with a disponent: owner and authorized customer come from the dispositions.
        shared = next(row[2] for row in dispositions if row[3] == "DISPONENT")
        account = await ingest.GetAccount(pb.GetAccountRequest(name=f"accounts/{shared}"))
        parties = {(row[3], row[1]) for row in dispositions if row[2] == shared}
        assert {("OWNER", account.customer_id), *(("DISPONENT", c) for c in account.authorized_customer_ids)} \
            == parties
        assert (account.type, account.currency_code, account.account_name) == (
            pb.ACCOUNT_TYPE_CHECKING, "CZK", f"Account {shared}")

        # Days with several rows whose end is not the row with the highest trans_id.
        tricky = [(key, end) for key, rows in sorted(by_day.items(), key=lambda item: item[0][1])
                  if len(rows) > 1 and (end := day_end(rows)) is not None
                  and end is not max(rows, key=lambda row: int(row[0]))]
        assert len(tricky) > 100
        for (account_id, day), end in tricky[:3] + tricky[-3:]:
            balances = await ingest.ListBalances(pb.ListBalancesRequest(
                parent=f"accounts/{account_id}", date_range={"start_date": as_date(day), "end_date": as_date(day)}))
            assert [as_decimal(b.balance) for b in balances.balances] == [Decimal(end[6])], (account_id, day)

        checked_accounts = sorted({key[0] for key, _ in tricky[:2] + tricky[-2:]})
        for account_id in checked_accounts:
            raw = {(row[0], Decimal(row[5]), row[3] == "PRIJEM", yymmdd(row[2]), Decimal(row[6]))
                   for row in transactions if row[1] == account_id}
            stored = await list_all(ingest.ListTransactions, pb.ListTransactionsRequest(
                parent=f"accounts/{account_id}", page_size=1000), "transactions")
            assert {(t.transaction_id, as_decimal(t.amount), t.direction == pb.DIRECTION_CREDIT,
                     t.post_time.ToDatetime().date(), as_decimal(t.running_balance)) for t in stored} == raw
            interest = {row[0] for row in transactions if row[1] == account_id and row[7] == "UROK"}
            assert interest and {(t.category, t.description) for t in stored if t.transaction_id in interest} \
                == {("INTEREST", "Interest credited")}

            last_day = max(day for (owner, day) in by_day if owner == account_id)
            last = day_end(by_day[(account_id, last_day)])
            assert last is not None
            account = await ingest.GetAccount(pb.GetAccountRequest(name=f"accounts/{account_id}"))
            assert as_decimal(account.current_balance) == as_decimal(account.available_balance) == Decimal(last[6])

        again = await engagectl("--json", "import", "berka", str(BERKA), token=token)
        assert again.exit_code == 0, again.stderr
        repeat = json.loads(again.stdout)
        assert (repeat["transactions_accepted"], repeat["transactions_duplicate"], repeat["transactions_rejected"]) \
            == (0, len(transactions), 1)
        assert (repeat["customers"], repeat["accounts"], repeat["balances_recorded"]) == (
            len(clients), len(accounts), len(by_day))
        for account_id in checked_accounts:
            after = await ingest.GetAccount(pb.GetAccountRequest(name=f"accounts/{account_id}"))
            last_day = max(day for (owner, day) in by_day if owner == account_id)
            assert as_decimal(after.current_balance) == Decimal(day_end(by_day[(account_id, last_day)])[6])
        (account_id, day), end = tricky[0]
        balances = await ingest.ListBalances(pb.ListBalancesRequest(parent=f"accounts/{account_id}", page_size=1000))
        assert [as_decimal(b.balance) for b in balances.balances if b.date == as_date(day)] == [Decimal(end[6])]


async def test_import_berka_needs_every_file(engagectl, server, tenant, tmp_path: Path):
    (tmp_path / "client.asc").write_text((BERKA / "client.asc").read_text())
    result = await engagectl("import", "berka", str(tmp_path), token=server.token(tenant, "service", "loader"))
    assert result.exit_code != 0
    assert "has no" in result.stderr and len(result.stderr.strip().splitlines()) == 1
