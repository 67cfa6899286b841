"""Domain events to and from the outbox's JSON payload: the only place that knows their stored shape.

Postings are stored as rows under one column list rather than as one object each: a batch of 5,000
is written on the ingestion hot path, and repeating every key per posting doubled the payload. Amounts
are exact: integers of ten-thousandths for postings, decimal strings elsewhere (never floats)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from server.domain.events import (
    AccountChange,
    AccountsChanged,
    AttributeChange,
    AuthorizationsRecorded,
    BalancesRecorded,
    CreatedFeedItem,
    CustomerAttributesChanged,
    DerivedAttributesRefreshRequested,
    DomainEvent,
    FeedItemsCreated,
    HoldingChange,
    HoldingsChanged,
    MembershipChange,
    Money,
    PersonaEvaluationRequested,
    PersonaMembershipChanged,
    Posting,
    RecordedBalance,
    ScheduledPaymentChange,
    ScheduledPaymentsChanged,
    TransactionsPosted,
    kind_of,
)
from server.domain.ingest.model import Direction
from server.domain.money import from_scaled, to_scaled

Payload = dict[str, Any]

# A posting's amounts are whole ten-thousandths (server.domain.money's storage scale): exact integers,
# written without a Decimal per row.
POSTING_COLUMNS = ["transaction_id", "account_id", "customer_id", "account_type", "account_container", "currency",
                   "amount_scaled", "balance_after_scaled", "posted_at", "direction", "category", "description"]


def posting_row(posting: Posting) -> list[Any]:
    return [posting.transaction_id, posting.account_id, posting.customer_id, posting.account_type,
            posting.account_container, posting.amount.currency, to_scaled(posting.amount.amount),
            to_scaled(posting.balance_after.amount), posting.posted_at.isoformat(), posting.direction.value,
            posting.category, posting.description]


_DIRECTIONS = {direction.value: direction for direction in Direction}


def _posting(row: list[Any]) -> Posting:
    (transaction_id, account_id, customer_id, account_type, account_container, currency, amount, balance_after,
     posted_at, direction, category, description) = row
    return Posting(transaction_id, account_id, customer_id, account_type, account_container,
                   Money(from_scaled(amount), currency), Money(from_scaled(balance_after), currency),
                   dt.datetime.fromisoformat(posted_at), _DIRECTIONS[direction], category, description)


def transactions_posted_payload(rows: list[list[Any]], live: bool) -> Payload:
    """The payload of a TransactionsPosted from rows in POSTING_COLUMNS' order (the ingestion hot path
    builds them straight from the stored rows; posted_at may be a datetime, which the store's JSON
    serializer writes in ISO 8601)."""
    return {"live": live, "columns": POSTING_COLUMNS, "rows": rows}


def posting_count(payload: Payload) -> int:
    """How many postings a TransactionsPosted payload holds, without decoding them."""
    return len(payload["rows"])


def _money(money: Money) -> dict[str, str]:
    return {"amount": str(money.amount), "currency": money.currency}


def _from_money(raw: dict[str, str]) -> Money:
    return Money(Decimal(raw["amount"]), raw["currency"])


def encode(event: DomainEvent) -> tuple[str, Payload]:
    """(kind, payload) of an event."""
    payload: Payload
    match event:
        case TransactionsPosted():
            payload = transactions_posted_payload([posting_row(p) for p in event.postings], event.live)
        case BalancesRecorded():
            payload = {"balances": [{"account_id": b.account_id, "date": b.date.isoformat(),
                                     "balance": _money(b.balance)} for b in event.balances]}
        case AccountsChanged():
            payload = {"accounts": [{"account_id": a.account_id, "customer_id": a.customer_id, "created": a.created,
                                     "changed_fields": list(a.changed_fields),
                                     **({"former_customer_id": a.former_customer_id} if a.former_customer_id else {})}
                                    for a in event.accounts]}
        case CustomerAttributesChanged():
            payload = {"changes": [{"customer_id": c.customer_id, "old": dict(c.old), "new": dict(c.new)}
                                   for c in event.changes]}
        case HoldingsChanged():
            payload = {"holdings": [{"holding_id": h.holding_id, "customer_id": h.customer_id,
                                     "account_id": h.account_id, "created": h.created} for h in event.holdings]}
        case FeedItemsCreated():
            payload = {"items": [{"feed_item_id": i.feed_item_id, "customer_id": i.customer_id,
                                  "insight_name": i.insight_name, "period": i.period} for i in event.items]}
        case PersonaMembershipChanged():
            payload = {"changes": [{"persona_id": c.persona_id, "customer_id": c.customer_id, "member": c.member}
                                   for c in event.changes]}
        case PersonaEvaluationRequested():
            payload = {"persona_id": event.persona_id, "revision": event.revision}
        case DerivedAttributesRefreshRequested():
            payload = {"as_of": event.as_of.isoformat(), "after": event.after}
        case ScheduledPaymentsChanged():
            payload = {"changes": [{"payment_id": c.payment_id, "account_id": c.account_id,
                                    "customer_id": c.customer_id, "state": c.state, "amount": _money(c.amount),
                                    "scheduled_date": c.scheduled_date.isoformat()} for c in event.changes]}
        case AuthorizationsRecorded():
            payload = {"columns": [*POSTING_COLUMNS, "status"],
                       "rows": [[*posting_row(p), p.status] for p in event.postings]}
    return kind_of(type(event)), payload


def _transactions_posted(payload: Payload) -> TransactionsPosted:
    if payload["columns"] != POSTING_COLUMNS:  # a later release may add columns: read by name then
        index = {name: payload["columns"].index(name) for name in POSTING_COLUMNS}
        rows = [[row[index[name]] for name in POSTING_COLUMNS] for row in payload["rows"]]
    else:
        rows = payload["rows"]
    return TransactionsPosted(tuple(_posting(row) for row in rows), bool(payload["live"]))


def _authorizations_recorded(payload: Payload) -> AuthorizationsRecorded:
    index = {name: payload["columns"].index(name) for name in [*POSTING_COLUMNS, "status"]}
    return AuthorizationsRecorded(tuple(
        dataclasses.replace(_posting([row[index[name]] for name in POSTING_COLUMNS]), status=row[index["status"]])
        for row in payload["rows"]))


_DECODERS: dict[str, Callable[[Payload], DomainEvent]] = {
    kind_of(TransactionsPosted): _transactions_posted,
    kind_of(BalancesRecorded): lambda p: BalancesRecorded(tuple(
        RecordedBalance(b["account_id"], dt.date.fromisoformat(b["date"]), _from_money(b["balance"]))
        for b in p["balances"])),
    kind_of(AccountsChanged): lambda p: AccountsChanged(tuple(
        AccountChange(a["account_id"], a["customer_id"], bool(a["created"]), tuple(a["changed_fields"]),
                      a.get("former_customer_id"))  # absent in events written before it was kept
        for a in p["accounts"])),
    kind_of(CustomerAttributesChanged): lambda p: CustomerAttributesChanged(tuple(
        AttributeChange(c["customer_id"], dict(c["old"]), dict(c["new"])) for c in p["changes"])),
    kind_of(HoldingsChanged): lambda p: HoldingsChanged(tuple(
        HoldingChange(h["holding_id"], h["customer_id"], h["account_id"], bool(h["created"]))
        for h in p["holdings"])),
    kind_of(FeedItemsCreated): lambda p: FeedItemsCreated(tuple(
        CreatedFeedItem(i["feed_item_id"], i["customer_id"], i["insight_name"], i["period"]) for i in p["items"])),
    kind_of(PersonaMembershipChanged): lambda p: PersonaMembershipChanged(tuple(
        MembershipChange(c["persona_id"], c["customer_id"], bool(c["member"])) for c in p["changes"])),
    kind_of(PersonaEvaluationRequested): lambda p: PersonaEvaluationRequested(p["persona_id"], int(p["revision"])),
    kind_of(DerivedAttributesRefreshRequested): lambda p: DerivedAttributesRefreshRequested(
        dt.date.fromisoformat(p["as_of"]), p["after"]),
    kind_of(ScheduledPaymentsChanged): lambda p: ScheduledPaymentsChanged(tuple(
        ScheduledPaymentChange(c["payment_id"], c["account_id"], c["customer_id"], c["state"],
                               _from_money(c["amount"]), dt.date.fromisoformat(c["scheduled_date"]))
        for c in p["changes"])),
    kind_of(AuthorizationsRecorded): _authorizations_recorded,
}


class UnknownEventKind(ValueError):
    """A stored event of a kind this release does not know (written by a newer one)."""


def decode(kind: str, payload: Payload) -> DomainEvent:
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise UnknownEventKind(kind)
    return decoder(payload)
