"""engagectl's output pieces: terminal column fitting never narrows an id, money keeps its amount,
enum values have one spelling, records flatten to key: value."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from clients.engagectl.output import Column, amount_text, as_dict, enum_label, enum_number, fit_columns, record_fields
from engage.engagement.v1 import engagement_service_pb2 as epb
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.type.v1 import money_pb2

text = st.text(alphabet="abcdefghij-0123456789 ", max_size=60)


@given(columns=st.lists(st.tuples(st.booleans(), text), min_size=1, max_size=8),
       rows=st.integers(0, 4), width=st.integers(20, 240), data=st.data())
def test_fitting_gives_ids_their_whole_width_or_folds_them_all(columns, rows, width, data) -> None:
    heads = [Column(header, id=is_id) for is_id, header in columns]
    cells = [[data.draw(text) for _ in heads] for _ in range(rows)]
    kept, widths = fit_columns(heads, cells, width)
    assert all(i in kept for i, c in enumerate(heads) if c.id), "an id column is never dropped"
    if widths is None:  # not even the ids fit: nothing else is left to drop
        assert all(heads[i].id for i in kept)
        return
    assert sum(widths) + 3 * len(kept) + 1 <= width
    for i, shown in zip(kept, widths, strict=True):
        natural = max([len(heads[i].header)] + [len(row[i]) for row in cells])
        assert shown <= natural
        if heads[i].id:
            assert shown == natural
    dropped = [i for i in range(len(heads)) if i not in kept]
    assert dropped == sorted(dropped) and all(not heads[i].id for i in dropped)
    # What is dropped is the least important: the rightmost columns that are not ids.
    others = [i for i in range(len(heads)) if not heads[i].id]
    assert others[len(others) - len(dropped):] == dropped


@given(st.decimals(min_value=Decimal("-99999999999999.9999"), max_value=Decimal("99999999999999.9999"),
                   places=4, allow_nan=False, allow_infinity=False))
def test_an_amount_reads_back_as_itself_with_at_least_two_places(amount: Decimal) -> None:
    shown = amount_text(amount)
    assert Decimal(shown) == amount
    assert len(shown.partition(".")[2]) >= 2


def test_a_zero_balance_keeps_its_amount_and_enums_lose_their_prefix() -> None:
    account = pb.Account(account_id="a1", type=pb.ACCOUNT_TYPE_SAVINGS,
                         current_balance=money_pb2.Money(currency_code="CZK"),
                         available_balance=money_pb2.Money(currency_code="CZK", units=12, nanos=500_000_000))
    shown = as_dict(account)
    assert shown["current_balance"] == {"amount": "0.00", "currency_code": "CZK"}
    assert shown["available_balance"] == {"amount": "12.50", "currency_code": "CZK"}
    assert (shown["type"], shown["container"], shown["customer_id"]) == ("SAVINGS", "UNSPECIFIED", "")
    assert "running_balance" not in as_dict(pb.Transaction())  # a message field not set stays absent
    app = as_dict(epb.App(state=epb.App.PUBLISHED, platforms=[epb.PLATFORM_WEB]))
    assert (app["state"], app["platforms"]) == ("PUBLISHED", ["WEB"])


def test_an_enum_is_read_in_either_spelling() -> None:
    assert enum_number(epb.Channel, "email") == enum_number(epb.Channel, "CHANNEL_EMAIL") == epb.CHANNEL_EMAIL
    assert enum_label(epb.Channel.DESCRIPTOR, "CHANNEL_EMAIL") == "EMAIL"
    try:
        enum_number(epb.Channel, "fax")
    except ValueError as error:
        assert str(error) == "'fax' is none of EMAIL, SMS, PUSH, PASS"
    else:
        raise AssertionError("fax is no channel")


def test_a_record_flattens_to_dotted_keys() -> None:
    record = {"name": "events/e1", "messages": [{"channel": "SMS", "content": {"sms": {"text": "hi"}}}],
              "tags": ["a", "b"], "balance": {"amount": "1234.50", "currency_code": "EUR"}, "done": False,
              "cost": {"amount": "0.0015", "currency_code": "EUR"}}
    assert list(record_fields(record)) == [
        ("name", "events/e1"), ("messages[0].channel", "SMS"), ("messages[0].content.sms.text", "hi"),
        ("tags", "a, b"), ("balance", "1,234.50 EUR"), ("done", "false"), ("cost", "0.0015 EUR")]
