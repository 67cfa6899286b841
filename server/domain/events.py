"""Domain events: one plain fact per state change that a rule can react to. Each is written to the outbox
in the database transaction that makes the change, and handed to the handlers registered for its type
(server.bootstrap.EVENT_HANDLERS) after the commit.

An event carries the state as committed (a posting's balance right after it, an attribute's old and
new value), so that a handler derives what it needs from the event alone: handlers do not rely on the
order in which events reach them, and they read the same facts however late they run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from server.domain.ingest.model import Account, AccountHolder, Direction, IncomingTransaction
from server.domain.money import from_scaled


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Posting:
    """One transaction as committed, which is also what every rule reads of it (EVENT insights,
    transaction alerts, and the goals and triggers to come): its signed amount, its account's kind,
    and the account's balance right after it."""

    transaction_id: str
    account_id: str
    customer_id: str  # the account's owner when the posting was committed
    account_type: str  # CHECKING, SAVINGS, ... (server.domain.ingest.model.AccountType)
    account_container: str  # BANK, CREDIT_CARD, ... (server.domain.ingest.model.Container)
    amount: Money  # signed: negative for money out
    balance_after: Money  # the account's current balance right after this posting, as committed
    posted_at: dt.datetime
    direction: Direction
    category: str = ""
    description: str = ""
    # BOOKED for every posting of TransactionsPosted; PENDING or DECLINED in AuthorizationsRecorded, whose
    # balance_after is the account's balance as it stands (a not-booked transaction moves none).
    status: str = "BOOKED"

    @property
    def magnitude(self) -> Decimal:
        """The amount without its sign (direction gives it)."""
        return abs(self.amount.amount)

    @property
    def currency(self) -> str:
        return self.amount.currency

    @property
    def booking_date(self) -> dt.date:
        """The UTC date of posted_at."""
        return self.posted_at.astimezone(dt.UTC).date()


@dataclass(frozen=True, slots=True)
class TransactionsPosted:
    """The postings one ingested batch committed, in the order they moved their accounts' balances.
    A batch's live postings and its backfill ones are two events: `live` False for history loaded as
    backfill, which moves balances (and so goal allocations) but is no news: handlers that tell a
    customer something return at once for it."""

    postings: tuple[Posting, ...]
    live: bool = True


@dataclass(frozen=True, slots=True)
class AuthorizationsRecorded:
    """PENDING and DECLINED transactions one ingested batch kept (new ones, and PENDING ones now
    DECLINED), each as a Posting with its status (docs/services/ingest.md#transaction-status). They move no
    balance, so nothing that reads balances or booked money handles this event: only transaction alerts
    that ask for these statuses. History (backfill) is not announced."""

    postings: tuple[Posting, ...]


@dataclass(frozen=True, slots=True)
class RecordedBalance:
    account_id: str
    date: dt.date
    balance: Money


@dataclass(frozen=True, slots=True)
class BalancesRecorded:
    """End-of-day balances the bank fed (a later feed of the same day replaces the earlier one)."""

    balances: tuple[RecordedBalance, ...]


@dataclass(frozen=True, slots=True)
class AccountChange:
    account_id: str
    customer_id: str
    created: bool  # new to Engage, or an update of a known account
    changed_fields: tuple[str, ...] = ()  # the fields whose stored value changed (all for a new one)
    former_customer_id: str | None = None  # the owner before, when the upsert gave the account to another


@dataclass(frozen=True, slots=True)
class AccountsChanged:
    accounts: tuple[AccountChange, ...]


@dataclass(frozen=True, slots=True)
class AttributeChange:
    customer_id: str
    old: Mapping[str, str] = field(default_factory=dict)  # the changed attributes' values before ("" absent)
    new: Mapping[str, str] = field(default_factory=dict)  # and after ("" removed)


@dataclass(frozen=True, slots=True)
class CustomerAttributesChanged:
    """Customers whose attributes changed: old and new values of the changed attributes only. A new
    customer's attributes all change (from absent); a new customer without any is named too, with none."""

    changes: tuple[AttributeChange, ...]


@dataclass(frozen=True, slots=True)
class HoldingChange:
    holding_id: str
    customer_id: str | None
    account_id: str | None
    created: bool


@dataclass(frozen=True, slots=True)
class HoldingsChanged:
    holdings: tuple[HoldingChange, ...]


@dataclass(frozen=True, slots=True)
class CreatedFeedItem:
    feed_item_id: str
    customer_id: str
    insight_name: str
    period: str


@dataclass(frozen=True, slots=True)
class FeedItemsCreated:
    """New items in customers' insight feeds (each (customer, insight, period) at most once)."""

    items: tuple[CreatedFeedItem, ...]


@dataclass(frozen=True, slots=True)
class MembershipChange:
    persona_id: str
    customer_id: str
    member: bool  # True: joined the persona; False: left it


@dataclass(frozen=True, slots=True)
class PersonaMembershipChanged:
    """Customers who joined or left personas (docs/personas.md#membership-events)."""

    changes: tuple[MembershipChange, ...]


@dataclass(frozen=True, slots=True)
class PersonaEvaluationRequested:
    """A persona's kept members are to be recomputed for the whole tenant: its expression, or the
    default of an attribute it names, changed to make `revision` (docs/personas.md#kept-memberships)."""

    persona_id: str
    revision: int


@dataclass(frozen=True, slots=True)
class DerivedAttributesRefreshRequested:
    """Time alone moved the built-in derived attributes: the tenant's customers after `after` (in id order;
    None: from the first) are to be refreshed as of `as_of`, a chunk per event, each chunk's handler
    requesting the next (docs/personas.md#built-in-attributes)."""

    as_of: dt.date
    after: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduledPaymentChange:
    payment_id: str
    account_id: str
    customer_id: str  # the account's owner when the change was stored
    state: str  # SCHEDULED, PROCESSED, FAILED, CANCELLED (server.domain.ingest.statements.PaymentState)
    amount: Money
    scheduled_date: dt.date


@dataclass(frozen=True, slots=True)
class ScheduledPaymentsChanged:
    """Scheduled payments that are new or changed state (docs/services/ingest.md#scheduled-payments)."""

    changes: tuple[ScheduledPaymentChange, ...]


DomainEvent = (TransactionsPosted | BalancesRecorded | AccountsChanged | CustomerAttributesChanged
               | HoldingsChanged | FeedItemsCreated | PersonaMembershipChanged | PersonaEvaluationRequested
               | AuthorizationsRecorded | ScheduledPaymentsChanged | DerivedAttributesRefreshRequested)

EVENT_TYPES: tuple[type[DomainEvent], ...] = (
    TransactionsPosted, BalancesRecorded, AccountsChanged, CustomerAttributesChanged, HoldingsChanged,
    FeedItemsCreated, PersonaMembershipChanged, PersonaEvaluationRequested, AuthorizationsRecorded,
    ScheduledPaymentsChanged, DerivedAttributesRefreshRequested)


def kind_of(event_type: type[DomainEvent]) -> str:
    """The stable name an event type is stored and registered under."""
    return event_type.__name__


def attribute_changes(customer_id: str, before: Mapping[str, str] | None, after: Mapping[str, str]
                      ) -> AttributeChange | None:
    """The attributes that differ between before (None: a new customer) and after; None when none do and
    the customer is not new. A new customer is always a change, even without attributes: the personas
    their attribute defaults satisfy take them in (docs/personas.md#kept-memberships)."""
    known = before or {}
    names = sorted(name for name in known.keys() | after.keys() if known.get(name, "") != after.get(name, ""))
    if not names and before is not None:
        return None
    return AttributeChange(customer_id, {n: known.get(n, "") for n in names}, {n: after.get(n, "") for n in names})


_ACCOUNT_FIELDS = ("customer_id", "type", "container", "currency", "provider_name", "account_name", "open_date",
                   "authorized_customer_ids", "attributes")


def account_change(before: Account | None, incoming: Account) -> AccountChange | None:
    """What an upsert of `incoming` changes of the stored account (None: a new one); None when nothing.
    Balances count only when the upsert gives them (an upsert without balances keeps the stored ones);
    one balance given stands for the other too, as the store applies it."""
    if before is None:
        return AccountChange(incoming.account_id, incoming.customer_id, True,
                             (*_ACCOUNT_FIELDS, "current_balance", "available_balance"))
    changed = [name for name in _ACCOUNT_FIELDS if getattr(before, name) != getattr(incoming, name)]
    if incoming.current_balance is not None or incoming.available_balance is not None:
        current = incoming.current_balance if incoming.current_balance is not None else incoming.available_balance
        available = incoming.available_balance if incoming.available_balance is not None else current
        changed += [name for name, value, stored in (("current_balance", current, before.current_balance),
                                                     ("available_balance", available, before.available_balance))
                    if value != stored]
    if not changed:
        return None
    former = before.customer_id if before.customer_id != incoming.customer_id else None
    return AccountChange(incoming.account_id, incoming.customer_id, False, tuple(changed), former)


def unbooked_posting(txn: IncomingTransaction, holder: AccountHolder, current_balance: int) -> Posting:
    """A PENDING or DECLINED transaction as AuthorizationsRecorded carries it: `current_balance` (whole
    ten-thousandths) is its account's balance as it stands, which the transaction did not move."""
    assert txn.amount is not None and txn.direction is not None and txn.posted_at is not None
    return Posting(txn.transaction_id, txn.account_id, holder.customer_id, holder.type, holder.container,
                   Money(from_scaled(txn.signed_amount), txn.currency),
                   Money(from_scaled(current_balance), txn.currency), txn.posted_at, txn.direction, txn.category,
                   txn.description, txn.status.value)
