"""Reading CSV and JSON Lines record files into engage.ingest.v1 messages (no server)."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clients.records import Kind, LoadReport, ParsedFile, RecordFileError, Rejected, infer_kind, read_records
from clients.records.csv_records import parse_csv
from clients.records.jsonl_records import MAX_DEPTH, parse_jsonl
from engage.ingest.v1 import ingest_service_pb2 as pb
from server.domain.money import MAX_ABS_AMOUNT, units_nanos_to_decimal

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "records"


def _csv(text: str, kind: Kind | None = None) -> ParsedFile:
    return parse_csv(io.StringIO(text, newline=""), kind)


def _jsonl(*lines: str | dict, kind: Kind | None = None) -> ParsedFile:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    return parse_jsonl(io.StringIO(text), kind)


def _decimal(money) -> Decimal:  # type: ignore[no-untyped-def]
    return units_nanos_to_decimal(money.units, money.nanos)


def _reasons(parsed: ParsedFile) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in parsed.rejected]


TXN = {"kind": "transaction", "transaction_id": "t1", "account_id": "a1", "amount": "12.50", "currency": "EUR",
       "direction": "DEBIT", "posted_at": "2026-10-01"}


# -- each kind --------------------------------------------------------------------------------------

def test_customer_fields_other_than_the_id_become_attributes():
    parsed = _jsonl('{"kind": "customer", "customer_id": "c1", "segment": "retail", "birth_year": 1984, '
                    '"vip": true, "score": 0.10, "note": null, "attributes": {"city": "Vienna", "segment": "family"}}')
    (record,) = parsed.records
    assert (record.kind, record.key) == (Kind.CUSTOMER, "c1")
    assert dict(record.message.attributes) == {"segment": "family", "birth_year": "1984", "vip": "true",
                                               "score": "0.10", "city": "Vienna"}


def test_account_with_balances_dates_and_a_default_container():
    parsed = _csv("account_id,customer_id,type,currency,current_balance,open_date,authorized_customer_ids,branch\n"
                  "a1,c1,credit,eur,-120.5,2020-02-29,c2;c3,Graz\n")
    (record,) = parsed.records
    account = record.message
    assert (account.type, account.container) == (pb.ACCOUNT_TYPE_CREDIT, pb.CONTAINER_CREDIT_CARD)
    assert account.currency_code == "EUR" and _decimal(account.current_balance) == Decimal("-120.5")
    assert not account.HasField("available_balance")
    assert (account.open_date.year, account.open_date.month, account.open_date.day) == (2020, 2, 29)
    assert list(account.authorized_customer_ids) == ["c2", "c3"]
    assert dict(account.attributes) == {"branch": "Graz"}


def test_account_without_balances_leaves_them_unset():
    (record,) = _jsonl({"kind": "account", "account_id": "a1", "customer_id": "c1", "type": "ACCOUNT_TYPE_SAVINGS",
                        "container": "bank", "currency": "EUR"}).records
    assert not record.message.HasField("current_balance")
    assert (record.message.type, record.message.container) == (pb.ACCOUNT_TYPE_SAVINGS, pb.CONTAINER_BANK)


def test_transaction_fields():
    (record,) = _jsonl({**TXN, "description": "Lidl", "category": "GROCERIES", "running_balance": "-3.10"}).records
    txn = record.message
    assert (txn.transaction_id, txn.account_id, txn.direction) == ("t1", "a1", pb.DIRECTION_DEBIT)
    assert _decimal(txn.amount) == Decimal("12.50") and txn.amount.currency_code == "EUR"
    assert txn.post_time.ToDatetime(tzinfo=dt.UTC) == dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    assert (txn.description, txn.category, _decimal(txn.running_balance)) == ("Lidl", "GROCERIES", Decimal("-3.10"))


def test_posted_at_with_an_offset_is_converted_to_utc():
    (record,) = _jsonl({**TXN, "posted_at": "2026-10-01T01:30:00+02:00"}).records
    assert record.message.post_time.ToDatetime(tzinfo=dt.UTC) == dt.datetime(2026, 9, 30, 23, 30, tzinfo=dt.UTC)


def test_a_signed_amount_without_direction_gives_the_direction():
    parsed = _jsonl({**TXN, "direction": None, "amount": "-7.25"}, {**TXN, "transaction_id": "t2", "direction": "",
                                                                     "amount": 3})
    assert [(r.message.direction, _decimal(r.message.amount)) for r in parsed.records] == [
        (pb.DIRECTION_DEBIT, Decimal("7.25")), (pb.DIRECTION_CREDIT, Decimal(3))]


def test_balance_fields():
    (record,) = _csv("account_id,date,balance,currency\na1,2026-10-31,-55.01,EUR\n").records
    assert record.key == "a1@2026-10-31"
    assert (record.message.date.year, record.message.date.month, record.message.date.day) == (2026, 10, 31)
    assert _decimal(record.message.balance) == Decimal("-55.01")


# -- bad lines --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "reason", "words"), [
    ({"amount": "12,50"}, "INVALID_AMOUNT", "not a decimal"),
    ({"amount": "1e3"}, "INVALID_AMOUNT", "not a decimal"),
    ({"amount": "1.00001"}, "INVALID_AMOUNT", "more than 4 decimal places"),
    ({"amount": True}, "INVALID_AMOUNT", "boolean"),
    ({"amount": "-1", "direction": "CREDIT"}, "INVALID_AMOUNT", "negative"),
    ({"amount": "0", "direction": None}, "MISSING_FIELD", "direction"),
    ({"amount": None}, "MISSING_FIELD", "amount is required"),
    ({"transaction_id": ""}, "MISSING_FIELD", "transaction_id is required"),
    ({"account_id": "a/1"}, "INVALID_ID", "account_id"),
    ({"currency": "euro"}, "INVALID_CURRENCY", "EURO"),
    ({"direction": "IN"}, "INVALID_ENUM", "CREDIT, DEBIT"),
    ({"posted_at": "2026-10-01T10:00:00"}, "INVALID_TIMESTAMP", "no UTC offset"),
    ({"posted_at": "2026-02-30"}, "INVALID_DATE", "2026-02-30"),
    ({"posted_at": "yesterday"}, "INVALID_TIMESTAMP", "ISO 8601"),
    ({"description": {"a": 1}}, "INVALID_FIELD", "description"),
])
def test_a_bad_transaction_is_rejected_with_a_reason(change, reason, words):
    parsed = _jsonl({**TXN, **change})
    assert parsed.records == []
    (rejected,) = parsed.rejected
    assert (rejected.line, rejected.kind, rejected.reason) == (1, Kind.TRANSACTION, reason)
    assert words in rejected.message


def test_mixed_json_lines_keep_good_lines_and_number_the_bad_ones():
    parsed = _jsonl(
        {"kind": "customer", "customer_id": "c1"},
        "{not json",
        "",
        {**TXN, "amount": "abc"},
        '["a", "list"]',
        {"kind": "holding", "holding_id": "h1"},
        {"customer_id": "no-kind"},
        '{"kind": "balance", "account_id": "a1", "date": "2026-10-01", "balance": NaN, "currency": "EUR"}',
        {"kind": "Accounts", "account_id": "a1", "customer_id": "c1", "type": "CHEQUE", "currency": "EUR"},
        {**TXN, "transaction_id": "t2"},
    )
    assert [(r.line, r.kind, r.key) for r in parsed.records] == [(1, Kind.CUSTOMER, "c1"),
                                                                 (10, Kind.TRANSACTION, "t2")]
    assert _reasons(parsed) == [(2, "INVALID_JSON"), (4, "INVALID_AMOUNT"), (5, "INVALID_JSON"), (6, "UNKNOWN_KIND"),
                                (7, "MISSING_KIND"), (8, "INVALID_JSON"), (9, "INVALID_ENUM")]
    assert parsed.rejected[1].record_id == "t1" and parsed.rejected[1].kind is Kind.TRANSACTION


def test_lines_nested_past_the_limit_are_rejected_and_the_others_kept():
    deep = 100_000
    parsed = _jsonl(
        {"kind": "customer", "customer_id": "c1"},
        "[" * deep + "]" * deep,
        '{"kind": "customer", "customer_id": "c2", "x": ' + '{"a": ' * deep + "1" + "}" * deep + "}",
        "[" * deep,  # not even closed: too deep before it is seen to be unfinished
        _nested_customer("c3", MAX_DEPTH + 1),
        {"kind": "account", "account_id": "a1", "customer_id": "c1", "type": "CHECKING", "currency": "EUR",
         "authorized_customer_ids": ["c2"], "attributes": {"branch": "Graz"}},
    )
    assert [r.key for r in parsed.records] == ["c1", "a1"]
    assert _reasons(parsed) == [(2, "INVALID_JSON"), (3, "INVALID_JSON"), (4, "INVALID_JSON"), (5, "INVALID_JSON")]
    assert all("nested more than 16 levels" in r.message for r in parsed.rejected)


def _nested_customer(customer_id: str, depth: int) -> str:
    """A customer line whose field "x" makes the line `depth` levels deep, in lists and objects by turns."""
    value = "1"
    for level in range(depth - 1):
        value = f"[{value}]" if level % 2 else f'{{"a": {value}}}'
    return f'{{"kind": "customer", "customer_id": "{customer_id}", "x": {value}}}'


@given(st.integers(min_value=1, max_value=3000))
def test_any_depth_is_read_or_rejected_with_a_reason(depth):
    parsed = _jsonl(_nested_customer("c1", depth), {"kind": "customer", "customer_id": "c2"})
    assert parsed.records[-1].key == "c2"
    if depth == 1:
        assert [r.key for r in parsed.records] == ["c1", "c2"]
    else:  # a list or object is no attribute value; past the limit the line is not read at all
        [rejected] = parsed.rejected
        assert (rejected.line, rejected.reason) == (1, "INVALID_JSON" if depth > MAX_DEPTH else "INVALID_ATTRIBUTES")


def test_kind_option_fills_in_for_json_lines_without_one():
    parsed = _jsonl({"customer_id": "c1"}, {"kind": "customer", "customer_id": "c2"}, kind=Kind.CUSTOMER)
    assert [r.key for r in parsed.records] == ["c1", "c2"]


def test_unknown_transaction_fields_are_ignored_with_a_warning():
    parsed = _jsonl({**TXN, "ammount": "1.00", "memo": "x"})
    assert len(parsed.records) == 1
    assert parsed.warnings() == ["transactions: ignored unknown fields ammount, memo"]


def test_bad_attributes_are_rejected():
    parsed = _jsonl({"kind": "customer", "customer_id": "c1", "tags": ["a"]},
                    {"kind": "customer", "customer_id": "c2", "attributes": "segment=x"},
                    {"kind": "customer", "customer_id": "c3", "note": "x" * 1025})
    assert _reasons(parsed) == [(1, "INVALID_ATTRIBUTES"), (2, "INVALID_ATTRIBUTES"), (3, "INVALID_ATTRIBUTES")]


def test_csv_bad_rows_are_rejected_with_their_line_numbers():
    parsed = _csv(
        "transaction_id,account_id,amount,currency,direction,posted_at,description\n"
        "t1,a1,10.00,EUR,CREDIT,2026-10-01,\"Salary,\nOctober\"\n"  # a quoted cell over two lines
        "t2,a1,ten,EUR,DEBIT,2026-10-02,x\n"
        "t3,a1,1.00,EUR,DEBIT\n"
        "\n"
        ",a1,1.00,EUR,DEBIT,2026-10-02,x\n"
        "t4,a1,1.00,EUR,SIDEWAYS,2026-10-02,x\n"
        "t5,a1,2.00,EUR,DEBIT,2026-10-02T12:00:00Z,fine\n")
    assert [(r.line, r.key) for r in parsed.records] == [(2, "t1"), (9, "t5")]
    assert parsed.records[0].message.description == "Salary,\nOctober"
    assert _reasons(parsed) == [(4, "INVALID_AMOUNT"), (5, "WRONG_CELL_COUNT"), (7, "MISSING_FIELD"),
                                (8, "INVALID_ENUM")]


# -- CSV kinds --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "kind"), [
    ("transaction_id,account_id,amount", Kind.TRANSACTION),
    ("account_id,date,balance,currency", Kind.BALANCE),
    ("account_id,customer_id,type,currency", Kind.ACCOUNT),
    ("customer_id,segment", Kind.CUSTOMER),
    ("Customer_ID , City", Kind.CUSTOMER),
    ("account_id,customer_id", None),
    ("name,value", None),
])
def test_csv_kind_is_inferred_from_the_header(header, kind):
    columns = [c.strip().lower() for c in header.split(",")]
    assert infer_kind(columns) is kind


def test_csv_without_a_known_header_needs_the_kind_option():
    with pytest.raises(RecordFileError, match="--kind"):
        _csv("id,segment\nc1,x\n")
    (record,) = _csv("customer_id,account_id\nc1,a-note\n", Kind.CUSTOMER).records
    assert dict(record.message.attributes) == {"account_id": "a-note"}


def test_csv_header_names_are_case_insensitive_and_repeats_are_refused():
    (record,) = _csv("Customer_ID,Segment,\nc1,retail,\n").records
    assert dict(record.message.attributes) == {"segment": "retail"}
    with pytest.raises(RecordFileError, match="repeats"):
        _csv("customer_id,segment,SEGMENT\nc1,a,b\n")


def test_an_empty_file_loads_nothing():
    assert _csv("").records == [] and _jsonl("").records == []


# -- files ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kind", "count"), [
    ("customers.csv", Kind.CUSTOMER, 2), ("accounts.csv", Kind.ACCOUNT, 3), ("transactions.csv", Kind.TRANSACTION, 4),
    ("balances.csv", Kind.BALANCE, 3)])
def test_sample_csv_files_read_without_rejections(name, kind, count):
    parsed = read_records(SAMPLES / name)
    assert parsed.rejected == [] and parsed.warnings() == []
    assert {r.kind for r in parsed.records} == {kind} and len(parsed.records) == count


def test_sample_json_lines_file_mixes_kinds():
    parsed = read_records(SAMPLES / "mixed.jsonl")
    assert parsed.rejected == []
    assert [r.kind for r in parsed.records] == [Kind.TRANSACTION, Kind.BALANCE, Kind.ACCOUNT, Kind.CUSTOMER,
                                                Kind.TRANSACTION]


def test_file_type_comes_from_the_extension(tmp_path):
    (tmp_path / "x.NDJSON").write_text('{"kind": "customer", "customer_id": "c1"}\n')
    assert read_records(tmp_path / "x.NDJSON").format == "jsonl"
    (tmp_path / "bom.csv").write_bytes("\ufeffcustomer_id\nc1\n".encode())
    assert [r.key for r in read_records(tmp_path / "bom.csv").records] == ["c1"]
    (tmp_path / "x.txt").write_text("customer_id\nc1\n")
    with pytest.raises(RecordFileError, match="unknown file type"):
        read_records(tmp_path / "x.txt")
    with pytest.raises(RecordFileError, match="no such file"):
        read_records(tmp_path / "missing.csv")
    (tmp_path / "latin1.csv").write_bytes("customer_id,city\nc1,Wien\nc2,K\xf6ln\n".encode("latin-1"))
    with pytest.raises(RecordFileError, match="not UTF-8"):
        read_records(tmp_path / "latin1.csv")


def test_kind_names_parse_in_singular_and_plural():
    assert [Kind.parse(t) for t in ("customer", "Accounts", " transactions ", "BALANCE")] == list(Kind)
    with pytest.raises(ValueError):
        Kind.parse("holding")


def test_load_report_counts_rejections_by_kind():
    report = LoadReport("f.jsonl", "jsonl")
    report.reject(Rejected(3, Kind.TRANSACTION, "t1", "INVALID_AMOUNT", "x"))
    report.reject(Rejected(1, None, "", "INVALID_JSON", "y"))
    report.counts[Kind.CUSTOMER].accepted = 2
    summary = report.as_dict()
    assert summary["transactions"] == {"accepted": 0, "duplicate": 0, "rejected": 1}
    assert summary["totals"] == {"accepted": 2, "duplicate": 0, "rejected": 2}
    assert [r["line"] for r in summary["rejected"]] == [1, 3]  # type: ignore[index]


# -- decimals ---------------------------------------------------------------------------------------

storable = st.decimals(min_value=-MAX_ABS_AMOUNT, max_value=MAX_ABS_AMOUNT, places=4, allow_nan=False,
                       allow_infinity=False)


@given(storable)
def test_decimal_text_and_json_numbers_arrive_exactly(amount: Decimal) -> None:
    text = format(amount, "f")
    as_text = _csv(f"account_id,date,balance,currency\na1,2026-01-01,{text},EUR\n").records[0]
    as_number = _jsonl(f'{{"kind": "balance", "account_id": "a1", "date": "2026-01-01", "balance": {text}, '
                       f'"currency": "EUR"}}').records[0]
    assert _decimal(as_text.message.balance) == amount
    assert _decimal(as_number.message.balance) == amount


@given(st.decimals(min_value=-10**6, max_value=10**6, places=8, allow_nan=False, allow_infinity=False))
def test_finer_than_four_places_is_rejected_never_rounded(amount: Decimal) -> None:
    parsed = _jsonl(f'{{"kind": "balance", "account_id": "a1", "date": "2026-01-01", "balance": '
                    f'{format(amount, "f")}, "currency": "EUR"}}')
    if amount == amount.quantize(Decimal("0.0001")):
        assert _decimal(parsed.records[0].message.balance) == amount
    else:
        assert _reasons(parsed) == [(1, "INVALID_AMOUNT")]


def test_json_floats_never_pass_through_float():
    (record,) = _jsonl(json.dumps(TXN).replace('"12.50"', "0.1")).records
    assert _decimal(record.message.amount) == Decimal("0.1")
    (big,) = _jsonl('{"kind": "balance", "account_id": "a1", "date": "2026-01-01", "balance": '
                    '12345678901234.1234, "currency": "EUR"}').records
    assert _decimal(big.message.balance) == Decimal("12345678901234.1234")  # beyond float's 15-16 digits
