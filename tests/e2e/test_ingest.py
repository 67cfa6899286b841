"""Ingestion through the real server: idempotency, rejections with reasons, balances, pages."""

import asyncio
import datetime as dt

import grpc
import pytest

from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.type.v1 import date_pb2, money_pb2
from tests.support.builders import account, amount_of, customer, failure, seed_accounts, stream, transaction

# Also on SQLite: this path goes through SQLite's own store code (tests/conftest.py).
pytestmark = pytest.mark.sqlite_too


async def balance_of(stubs, account_id: str) -> str:
    return amount_of((await stubs.ingest.GetAccount(pb.GetAccountRequest(name=f"accounts/{account_id}")))
                     .current_balance)


async def test_resending_transactions_is_a_no_op(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    batch = [transaction("t1", "a1", "100.00"), transaction("t2", "a1", "30.25", "DEBIT")]
    first = await service_stubs.ingest.IngestTransactions(stream(batch))
    assert (first.accepted_count, first.duplicate_count, first.rejected_count) == (2, 0, 0)
    again = await service_stubs.ingest.IngestTransactions(stream(batch, [transaction("t1", "a1", "100.00")]))
    assert (again.accepted_count, again.duplicate_count, again.rejected_count) == (0, 3, 0)
    assert await balance_of(service_stubs, "a1") == "69.75"
    listed = await service_stubs.ingest.ListTransactions(pb.ListTransactionsRequest(parent="accounts/a1"))
    assert sorted(t.transaction_id for t in listed.transactions) == ["t1", "t2"]


async def test_repeated_id_inside_one_batch_counts_once(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    response = await service_stubs.ingest.IngestTransactions(
        stream([transaction("t1", "a1", "5.00"), transaction("t1", "a1", "5.00")]))
    assert (response.accepted_count, response.duplicate_count) == (1, 1)
    assert await balance_of(service_stubs, "a1") == "5.00"


async def test_an_id_sent_again_in_a_later_batch_of_the_stream_keeps_the_first(service_stubs):
    # Batches of one stream are stored while the next ones arrive: still in the order sent.
    await seed_accounts(service_stubs, "c1", "a1")
    batches = [[transaction(f"t{b}-{i}", "a1", "1.00") for i in range(50)] + [transaction("same", "a1", f"{b + 1}.00")]
               for b in range(6)]
    response = await service_stubs.ingest.IngestTransactions(stream(*batches))
    assert (response.accepted_count, response.duplicate_count) == (301, 5)
    assert await balance_of(service_stubs, "a1") == "301.00"  # 300 x 1.00 and the first "same": 1.00


async def test_concurrent_streams_on_the_same_accounts_all_land(service_stubs):
    # Each batch moves the balances of accounts the other streams move too, in another order: none waits
    # forever for another (deadlock) and every amount is added once.
    accounts = [f"a{n}" for n in range(20)]
    await seed_accounts(service_stubs, "c1", *accounts)

    def batches(name: str, order: list[str]) -> list[list[pb.Transaction]]:
        return [[transaction(f"{name}-{b}-{a}", a, "1.00") for a in order] for b in range(8)]

    orders = [accounts, accounts[::-1], accounts[7:] + accounts[:7], accounts[::2] + accounts[1::2]]
    responses = await asyncio.gather(*(service_stubs.ingest.IngestTransactions(stream(*batches(f"s{i}", order)))
                                       for i, order in enumerate(orders)))
    assert [r.accepted_count for r in responses] == [160] * 4
    for account_id in accounts:
        assert await balance_of(service_stubs, account_id) == "32.00"


async def test_a_failing_batch_ends_the_stream_after_the_batches_before_it(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    too_large = [transaction(f"big-{i}", "a1", "1.00") for i in range(5001)]
    code, reason, _ = await failure(service_stubs.ingest.IngestTransactions(
        stream([transaction("first", "a1", "2.00")], too_large, [transaction("after", "a1", "4.00")])))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "BATCH_TOO_LARGE")
    assert await balance_of(service_stubs, "a1") == "2.00"


def _bad_rows() -> list[tuple[pb.Transaction, str]]:
    no_amount = transaction("r-no-amount", "a1", "1.00")
    no_amount.ClearField("amount")
    no_time = transaction("r-no-time", "a1", "1.00")
    no_time.ClearField("post_time")
    no_direction = transaction("r-no-direction", "a1", "1.00")
    no_direction.direction = pb.DIRECTION_UNSPECIFIED
    mixed_signs = transaction("r-mixed", "a1", "1.00")
    mixed_signs.amount.CopyFrom(money_pb2.Money(currency_code="EUR", units=1, nanos=-5))
    after_year_9999 = transaction("r-year-10000", "a1", "1.00")
    after_year_9999.post_time.seconds = 253_402_300_800
    negative_nanos = transaction("r-negative-nanos", "a1", "1.00")
    negative_nanos.post_time.nanos = -1
    return [
        (transaction("r-unknown", "nope", "1.00"), "UNKNOWN_ACCOUNT"),
        (transaction("r-currency", "a1", "1.00", currency="USD"), "CURRENCY_MISMATCH"),
        (transaction("r-negative", "a1", "-1.00"), "INVALID_AMOUNT"),
        (transaction("r-fine", "a1", "1.00001"), "INVALID_AMOUNT"),
        (mixed_signs, "INVALID_AMOUNT"),
        (transaction("r-bad-code", "a1", "1.00", currency="euro"), "INVALID_CURRENCY"),
        (transaction("", "a1", "1.00"), "MISSING_TRANSACTION_ID"),
        (transaction("has/slash", "a1", "1.00"), "INVALID_TRANSACTION_ID"),
        (transaction("r-no-account", "", "1.00"), "MISSING_ACCOUNT_ID"),
        (no_amount, "MISSING_AMOUNT"),
        (no_time, "MISSING_POST_TIME"),
        (no_direction, "MISSING_DIRECTION"),
        (after_year_9999, "INVALID_POST_TIME"),
        (negative_nanos, "INVALID_POST_TIME"),
        (transaction("r-nul", "a1", "1.00", description="ATM\x00"), "TEXT_NUL_CHARACTER"),
    ]


async def test_bad_rows_are_rejected_with_reasons_and_the_rest_is_stored(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    bad = _bad_rows()
    rows = [transaction("good-1", "a1", "10.00"), *[row for row, _ in bad], transaction("good-2", "a1", "2.50")]
    response = await service_stubs.ingest.IngestTransactions(stream(rows[:5], rows[5:]))
    assert (response.accepted_count, response.rejected_count) == (2, len(bad))
    assert [(r.index, r.reason) for r in response.rejected] == [(i + 1, reason) for i, (_, reason) in enumerate(bad)]
    assert all(r.message for r in response.rejected)
    assert await balance_of(service_stubs, "a1") == "12.50"
    listed = await service_stubs.ingest.ListTransactions(pb.ListTransactionsRequest(parent="accounts/a1"))
    assert sorted(t.transaction_id for t in listed.transactions) == ["good-1", "good-2"]


async def test_a_rejected_row_can_be_sent_again_once_its_account_exists(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    first = await service_stubs.ingest.IngestTransactions(stream([transaction("late", "a2", "7.00")]))
    assert first.rejected[0].reason == "UNKNOWN_ACCOUNT"
    await service_stubs.ingest.UpsertAccount(pb.UpsertAccountRequest(account=account("a2", "c1")))
    second = await service_stubs.ingest.IngestTransactions(stream([transaction("late", "a2", "7.00")]))
    assert second.accepted_count == 1
    assert await balance_of(service_stubs, "a2") == "7.00"


async def test_transaction_fields_round_trip(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    sent = transaction("t1", "a1", "1234.5678", "DEBIT", dt.date(2024, 2, 29), description="ATM withdrawal",
                       category="CASH", running_balance=money("-20.10", "EUR"))
    await service_stubs.ingest.IngestTransactions(stream([sent]))
    listed = await service_stubs.ingest.ListTransactions(pb.ListTransactionsRequest(parent="accounts/a1"))
    got = listed.transactions[0]
    assert got.name == "accounts/a1/transactions/t1"
    assert (got.amount, got.direction, got.post_time) == (sent.amount, sent.direction, sent.post_time)
    assert (got.description, got.category, got.running_balance) == ("ATM withdrawal", "CASH", sent.running_balance)
    assert got.HasField("ingest_time")
    assert await balance_of(service_stubs, "a1") == "-1234.57"  # 2 places shown; stored exactly


async def test_transactions_pages_newest_first_with_date_filter(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    rows = [transaction(f"t{day:02d}", "a1", "1.00", day=dt.date(2024, 3, day)) for day in range(1, 21)]
    await service_stubs.ingest.IngestTransactions(stream(rows))
    seen, token = [], ""
    while True:
        page = await service_stubs.ingest.ListTransactions(pb.ListTransactionsRequest(
            parent="accounts/a1", page_size=3, page_token=token,
            date_range={"start_date": date_pb2.Date(year=2024, month=3, day=5),
                        "end_date": date_pb2.Date(year=2024, month=3, day=15)}))
        seen += [t.transaction_id for t in page.transactions]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"t{day:02d}" for day in range(15, 4, -1)]
    # A range to the last day a Date can name (its next day, the end bound, was an INTERNAL error).
    to_the_end = await service_stubs.ingest.ListTransactions(pb.ListTransactionsRequest(
        parent="accounts/a1", page_size=100, date_range={"start_date": date_pb2.Date(year=2024, month=3, day=19),
                                                         "end_date": date_pb2.Date(year=9999, month=12, day=31)}))
    assert [t.transaction_id for t in to_the_end.transactions] == ["t20", "t19"]


async def test_a_date_range_that_is_no_calendar_date_is_refused(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    february_30 = date_pb2.Date(year=2024, month=2, day=30)
    for call, request in ((service_stubs.ingest.ListTransactions, pb.ListTransactionsRequest),
                          (service_stubs.ingest.ListBalances, pb.ListBalancesRequest)):
        for end in ("start_date", "end_date"):
            try:
                await call(request(parent="accounts/a1", date_range={end: february_30}))
            except grpc.aio.AioRpcError as error:
                assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                           f"date_range.{end} is not a calendar date")
            else:
                raise AssertionError("February 30 was read as a date")
            assert await failure(call(request(parent="accounts/a1", date_range={end: february_30}))) == (
                grpc.StatusCode.INVALID_ARGUMENT, "INVALID_DATE", [f"date_range.{end}"])


async def test_balances_recorded_replaced_and_listed(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")

    def daily(day: int, amount: str, account_id: str = "a1", currency: str = "EUR") -> pb.DailyBalance:
        return pb.DailyBalance(account_id=account_id, date=date_pb2.Date(year=2024, month=1, day=day),
                               balance=money(amount, currency))

    response = await service_stubs.ingest.RecordBalances(pb.RecordBalancesRequest(balances=[
        daily(1, "10.00"), daily(2, "12.00"), daily(2, "15.00"), daily(3, "1.00", "nope"),
        daily(4, "1.00", currency="USD"),
        pb.DailyBalance(account_id="a1", date=date_pb2.Date(year=2023, month=2, day=30), balance=money("1", "EUR"))]))
    assert (response.recorded_count, response.rejected_count) == (2, 3)
    assert sorted(r.reason for r in response.rejected) == ["CURRENCY_MISMATCH", "MISSING_DATE", "UNKNOWN_ACCOUNT"]
    await service_stubs.ingest.RecordBalances(pb.RecordBalancesRequest(balances=[daily(1, "11.00")]))
    listed = await service_stubs.ingest.ListBalances(pb.ListBalancesRequest(parent="accounts/a1"))
    assert [(b.date.day, amount_of(b.balance)) for b in listed.balances] == [(1, "11.00"), (2, "15.00")]


async def test_account_upsert_keeps_balances_unless_given(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "40.00")]))
    renamed = await service_stubs.ingest.UpsertAccount(pb.UpsertAccountRequest(
        account=account("a1", "c1", account_name="Everyday", provider_name="Bank")))
    assert (renamed.account_name, amount_of(renamed.current_balance)) == ("Everyday", "40.00")
    reset = await service_stubs.ingest.UpsertAccount(pb.UpsertAccountRequest(
        account=account("a1", "c1", current_balance=money("39.90", "EUR"))))
    assert (amount_of(reset.current_balance), amount_of(reset.available_balance)) == ("39.90", "39.90")


@pytest.mark.parametrize(("bad_account", "code", "reason", "field"), [
    (account("", "c1"), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ACCOUNT", "account.account_id"),
    (account("a1", "c1", currency="eu"), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ACCOUNT", "account.currency_code"),
    (account("a1", "c1", type=pb.ACCOUNT_TYPE_UNSPECIFIED), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ENUM",
     "account.type"),
    (account("a1", "c1", container=99), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ENUM", "account.container"),
    (account("a1", "c1", current_balance=money("1", "USD")), grpc.StatusCode.INVALID_ARGUMENT,
     "CURRENCY_MISMATCH", "account.current_balance.currency_code"),
    (account("a1", "ghost"), grpc.StatusCode.FAILED_PRECONDITION, "UNKNOWN_CUSTOMER", None),
])
async def test_account_errors_are_clear_and_store_nothing(service_stubs, bad_account, code, reason, field):
    await service_stubs.ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=customer("c1")))
    got_code, got_reason, fields = await failure(
        service_stubs.ingest.UpsertAccount(pb.UpsertAccountRequest(account=bad_account)))
    assert (got_code, got_reason) == (code, reason)
    if field:
        assert field in fields
    assert not (await service_stubs.ingest.ListAccounts(pb.ListAccountsRequest())).accounts


async def test_a_batch_with_one_bad_account_stores_none_of_them(service_stubs):
    await service_stubs.ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=customer("c1")))
    code, reason, fields = await failure(service_stubs.ingest.BatchUpsertAccounts(pb.BatchUpsertAccountsRequest(
        accounts=[account("a1", "c1"), account("a 2", "c1")])))
    assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ACCOUNT", ["accounts[1].account_id"])
    code, reason, _ = await failure(service_stubs.ingest.BatchUpsertAccounts(pb.BatchUpsertAccountsRequest(
        accounts=[account("a1", "c1"), account("a1", "c1")])))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "REPEATED_ID")
    assert not (await service_stubs.ingest.ListAccounts(pb.ListAccountsRequest())).accounts


async def test_request_errors(service_stubs):
    assert (await failure(service_stubs.ingest.GetAccount(pb.GetAccountRequest(name="a1"))))[1] == \
        "RESOURCE_NAME_INVALID"
    assert (await failure(service_stubs.ingest.ListAccounts(pb.ListAccountsRequest(page_token="garbage"))))[1] == \
        "INVALID_PAGE_TOKEN"
    assert (await failure(service_stubs.ingest.BatchUpsertCustomers(pb.BatchUpsertCustomersRequest())))[1] == \
        "EMPTY_BATCH"
    assert (await failure(service_stubs.ingest.GetCustomer(pb.GetCustomerRequest(name="customers/x"))))[:2] == \
        (grpc.StatusCode.NOT_FOUND, "CUSTOMER_NOT_FOUND")


async def test_customer_pages_cover_everything_once(service_stubs):
    await service_stubs.ingest.BatchUpsertCustomers(pb.BatchUpsertCustomersRequest(
        customers=[customer(f"c{i:03d}", n=str(i)) for i in range(25)]))
    seen, token = [], ""
    while True:
        page = await service_stubs.ingest.ListCustomers(pb.ListCustomersRequest(page_size=7, page_token=token))
        seen += [c.customer_id for c in page.customers]
        if not (token := page.next_page_token):
            break
    assert seen == [f"c{i:03d}" for i in range(25)]


async def test_holdings(service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.BatchUpsertHoldings(pb.BatchUpsertHoldingsRequest(holdings=[
        pb.Holding(holding_id="loan-1", kind=pb.HOLDING_KIND_LOAN, customer_id="c1", account_id="a1",
                   amount=money("96396", "EUR"), attributes={"status": "running"}),
        pb.Holding(holding_id="card-1", kind=pb.HOLDING_KIND_CARD, customer_id="c1")]))
    listed = await service_stubs.ingest.ListHoldings(pb.ListHoldingsRequest(customer_id="c1"))
    assert [(h.holding_id, amount_of(h.amount) if h.HasField("amount") else None) for h in listed.holdings] == \
        [("card-1", None), ("loan-1", "96396.00")]
    code, reason, _ = await failure(service_stubs.ingest.BatchUpsertHoldings(pb.BatchUpsertHoldingsRequest(
        holdings=[pb.Holding(holding_id="loan-2", kind=pb.HOLDING_KIND_LOAN, customer_id="ghost")])))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "UNKNOWN_CUSTOMER_OR_ACCOUNT")


async def test_an_overdraft_protection_holding_is_stored_and_read_back(service_stubs):
    # Its kind's name is 20 characters: longer than the column held before migration 0020.
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.BatchUpsertHoldings(pb.BatchUpsertHoldingsRequest(holdings=[
        pb.Holding(holding_id="od-1", kind=pb.HOLDING_KIND_OVERDRAFT_PROTECTION, customer_id="c1", account_id="a1",
                   amount=money("500", "EUR"))]))
    listed = await service_stubs.ingest.ListHoldings(pb.ListHoldingsRequest(customer_id="c1"))
    assert [(h.holding_id, h.kind, h.account_id, amount_of(h.amount)) for h in listed.holdings] == \
        [("od-1", pb.HOLDING_KIND_OVERDRAFT_PROTECTION, "a1", "500.00")]
