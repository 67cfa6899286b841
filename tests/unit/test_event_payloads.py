"""The outbox's JSON shape of domain events: every event survives encode and decode exactly, and postings
stored under another column order (or with columns a later release added) are read by name."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import orjson
from hypothesis import given
from hypothesis import strategies as st

from server.domain.events import (
    AccountChange,
    AccountsChanged,
    AttributeChange,
    BalancesRecorded,
    CreatedFeedItem,
    CustomerAttributesChanged,
    DerivedAttributesRefreshRequested,
    FeedItemsCreated,
    HoldingChange,
    HoldingsChanged,
    MembershipChange,
    Money,
    PersonaEvaluationRequested,
    PersonaMembershipChanged,
    Posting,
    RecordedBalance,
    TransactionsPosted,
)
from server.domain.ingest.model import Direction
from server.store.event_payloads import POSTING_COLUMNS, decode, encode

POSTED = dt.datetime(2024, 3, 31, 23, 30, tzinfo=dt.UTC)

amounts = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=4, allow_nan=False)


def posting(transaction_id: str, amount: Decimal, balance: Decimal) -> Posting:
    direction = Direction.CREDIT if amount >= 0 else Direction.DEBIT
    return Posting(transaction_id, "a1", "c1", "CHECKING", "BANK", Money(amount, "CZK"), Money(balance, "CZK"),
                   POSTED, direction, "SALARY", "payroll \u00e9")


def round_trip(event):  # as the store does: JSON text and back
    kind, payload = encode(event)
    return decode(kind, orjson.loads(orjson.dumps(payload)))


@given(st.lists(st.tuples(amounts, amounts), min_size=1, max_size=20), st.booleans())
def test_postings_survive_the_outbox_exactly(figures, live):
    event = TransactionsPosted(tuple(posting(f"t{n}", a, b) for n, (a, b) in enumerate(figures)), live)
    assert round_trip(event) == event


def test_every_other_kind_survives_the_outbox():
    events = [
        BalancesRecorded((RecordedBalance("a1", dt.date(2024, 2, 29), Money(Decimal("10.50"), "EUR")),)),
        AccountsChanged((AccountChange("a1", "c1", True, ("account_name", "currency")),)),
        AccountsChanged((AccountChange("a1", "c2", False, ("customer_id",), former_customer_id="c1"),)),
        CustomerAttributesChanged((AttributeChange("c1", {"city": ""}, {"city": "Brno"}),)),
        HoldingsChanged((HoldingChange("h1", "c1", None, False),)),
        FeedItemsCreated((CreatedFeedItem("f1", "c1", "LARGE_DEPOSIT", "txn:t1"),)),
        PersonaMembershipChanged((MembershipChange("globetrotter", "c1", True),
                                  MembershipChange("globetrotter", "c2", False))),
        PersonaEvaluationRequested("globetrotter", 3),
        DerivedAttributesRefreshRequested(dt.date(2024, 2, 29)),
        DerivedAttributesRefreshRequested(dt.date(2024, 2, 29), "c0500"),
    ]
    for event in events:
        assert round_trip(event) == event


def test_postings_are_read_by_column_name_when_the_stored_order_differs():
    event = TransactionsPosted((posting("t1", Decimal("-12.5"), Decimal("87.5")),))
    kind, payload = encode(event)
    # A later release stored its columns in another order, with one more column this one does not know.
    columns = [*reversed(POSTING_COLUMNS), "merchant"]
    rows = [[*reversed(row), "ACME"] for row in payload["rows"]]
    assert decode(kind, {"live": True, "columns": columns, "rows": rows}) == event


@given(st.lists(st.tuples(st.sampled_from(["SCHEDULED", "PROCESSED", "FAILED", "CANCELLED"]), amounts,
                          st.dates()), max_size=10))
def test_scheduled_payment_changes_survive_the_outbox_exactly(changes):
    from server.domain.events import ScheduledPaymentChange, ScheduledPaymentsChanged

    event = ScheduledPaymentsChanged(tuple(ScheduledPaymentChange(f"p{n}", "card-1", "c1", state,
                                                                  Money(amount, "CZK"), day)
                                           for n, (state, amount, day) in enumerate(changes)))
    assert round_trip(event) == event
