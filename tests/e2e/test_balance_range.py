"""Balances are stored as whole ten-thousandths in a 64-bit column: a row that would take an account's
balance past the largest storable amount is rejected alone (BALANCE_OUT_OF_RANGE) and the rest of its
batch lands (ten maximum credits were an INTERNAL error, and every later batch crediting that account
failed whole)."""

from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.type.v1 import date_pb2, money_pb2
from server.domain.money import MAX_ABS_AMOUNT
from tests.support.builders import account, seed_accounts, stream, transaction

MAX = str(MAX_ABS_AMOUNT)  # 99999999999999.9999


def stored(value) -> str:
    """A google.type.Money with the four places Engage stores."""
    sign = "-" if value.units < 0 or value.nanos < 0 else ""
    return f"{sign}{abs(value.units)}.{abs(value.nanos) // 100_000:04d}"


async def balances(stubs, account_id: str) -> tuple[str, str]:
    got = await stubs.ingest.GetAccount(pb.GetAccountRequest(name=f"accounts/{account_id}"))
    return stored(got.current_balance), stored(got.available_balance)


async def current(stubs, account_id: str) -> str:
    """The current balance, when the available one moved with it."""
    now, available = await balances(stubs, account_id)
    assert now == available
    return now


async def test_credits_past_the_largest_balance_are_rejected_alone(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1", "a2")
    credits = [transaction(f"max-{i}", "a1", MAX) for i in range(10)]
    response = await service_stubs.ingest.IngestTransactions(stream(
        [transaction("other", "a2", "5.00"), *credits[:5]], [*credits[5:], transaction("debit", "a1", "0.0001",
                                                                                       "DEBIT")]))
    # The first credit fits; the next nine would pass it; the debit after them lands.
    assert (response.accepted_count, response.rejected_count) == (3, 9)
    assert [(r.index, r.transaction_id, r.reason) for r in response.rejected] == [
        (i + 2, f"max-{i + 1}", "BALANCE_OUT_OF_RANGE") for i in range(9)]
    assert all("99,999,999,999,999.9999" in r.message for r in response.rejected)
    assert await current(service_stubs, "a1") == "99999999999999.9998"
    assert await current(service_stubs, "a2") == "5.0000"
    listed = await service_stubs.ingest.ListTransactions(pb.ListTransactionsRequest(parent="accounts/a1"))
    assert sorted(t.transaction_id for t in listed.transactions) == ["debit", "max-0"]

    # Later batches crediting the account work: what fits lands, what does not is rejected again.
    later = await service_stubs.ingest.IngestTransactions(stream(
        [transaction("fits", "a1", "0.0001"), transaction("max-1", "a1", MAX), transaction("a2-again", "a2", "1")]))
    assert (later.accepted_count, [(r.transaction_id, r.reason) for r in later.rejected]) == (
        2, [("max-1", "BALANCE_OUT_OF_RANGE")])
    assert await current(service_stubs, "a1") == "99999999999999.9999"
    # Debits the other way: the lowest balance is the negative of the largest.
    down = await service_stubs.ingest.IngestTransactions(stream(
        [transaction(f"down-{i}", "a1", MAX, "DEBIT") for i in range(4)]))
    assert (down.accepted_count, [r.transaction_id for r in down.rejected]) == (2, ["down-2", "down-3"])
    assert await current(service_stubs, "a1") == "-99999999999999.9999"


async def test_an_account_upserted_at_the_largest_balance_takes_no_further_credit(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.UpsertAccount(pb.UpsertAccountRequest(account=account(
        "a1", "c1", current_balance=money("1.00", "EUR"), available_balance=money(MAX, "EUR"))))
    # The available balance is at the top: a credit would take it past, though the current one has room.
    response = await service_stubs.ingest.IngestTransactions(stream(
        [transaction("credit", "a1", "1.00"), transaction("debit", "a1", "1.00", "DEBIT")]))
    assert [(r.transaction_id, r.reason) for r in response.rejected] == [("credit", "BALANCE_OUT_OF_RANGE")]
    assert await balances(service_stubs, "a1") == ("0.0000", "99999999999998.9999")


async def test_balance_feeds_take_the_largest_balance_and_refuse_larger(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")

    def daily(day: int, units: int, nanos: int = 0) -> pb.DailyBalance:
        return pb.DailyBalance(account_id="a1", date=date_pb2.Date(year=2024, month=1, day=day),
                               balance=money_pb2.Money(currency_code="EUR", units=units, nanos=nanos))

    largest = 99_999_999_999_999
    response = await service_stubs.ingest.RecordBalances(pb.RecordBalancesRequest(balances=[
        daily(1, largest, 999_900_000), daily(2, -largest, -999_900_000), daily(3, largest + 1),
        daily(4, 2**63 - 1, 999_999_999), daily(5, -(2**63), -999_999_999)]))
    assert (response.recorded_count, [(r.index, r.reason) for r in response.rejected]) == (
        2, [(2, "INVALID_AMOUNT"), (3, "INVALID_AMOUNT"), (4, "INVALID_AMOUNT")])
    listed = await service_stubs.ingest.ListBalances(pb.ListBalancesRequest(parent="accounts/a1"))
    assert [(b.date.day, b.balance.units, b.balance.nanos) for b in listed.balances] == [
        (1, largest, 999_900_000), (2, -largest, -999_900_000)]
