"""SQLAlchemy models. Every row carries its tenant, and every key starts with it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.store.types import ScaledAmount, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every model here maps a Table (SQLAlchemy types __table__ as any FromClause).
    __table__: ClassVar[Table]


class TenantRow(Base):
    __tablename__ = "tenants"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Set by an operator (engagectl tenants disable): its tokens are refused and its scheduled work and
    # sends wait; its rows are kept.
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CustomerRow(Base):
    __tablename__ = "customers"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    attributes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AccountRow(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.customer_id"]),
        Index("ix_accounts_tenant_customer", "tenant_id", "customer_id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    authorized_customer_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    account_type: Mapped[str] = mapped_column(String(16))
    container: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    provider_name: Mapped[str] = mapped_column(String(512), default="")
    account_name: Mapped[str] = mapped_column(String(512), default="")
    current_balance: Mapped[Decimal] = mapped_column(ScaledAmount())
    available_balance: Mapped[Decimal] = mapped_column(ScaledAmount())
    open_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    attributes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AccountPartyRow(Base):
    """Customers allowed to use an account besides its owner: lets a user's token see it."""

    __tablename__ = "account_parties"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.account_id"]),
        Index("ix_account_parties_tenant_customer", "tenant_id", "customer_id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class HoldingRow(Base):
    __tablename__ = "holdings"
    # By customer and by account: holds() in a segment expression looks a customer's up both ways.
    __table_args__ = (Index("ix_holdings_tenant_customer", "tenant_id", "customer_id"),
                      Index("ix_holdings_tenant_account", "tenant_id", "account_id"))

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    holding_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    account_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(ScaledAmount(), nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    start_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    attributes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TransactionRow(Base):
    # No foreign key to accounts: ingestion rejects rows of unknown accounts itself and accounts are
    # never deleted; the key cost a fifth of the database's work per ingested row (migration 0004).
    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_tenant_account_posted", "tenant_id", "account_id", "posted_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    # Signed: credits positive, debits negative, so balances are plain sums.
    signed_amount: Mapped[Decimal] = mapped_column(ScaledAmount())
    direction: Mapped[str] = mapped_column(String(6))
    currency: Mapped[str] = mapped_column(String(3))
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(128), default="")
    running_balance: Mapped[Decimal | None] = mapped_column(ScaledAmount(), nullable=True)
    ingested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AccountBalanceMonthRow(Base):
    """Of each account and calendar month (UTC, its first day), bounds of every balance value a stored
    posting of that month shows: its running balance after it and the balance before it (running balance
    minus signed amount), whole ten-thousandths as `transactions` stores them. A bound, not the exact range:
    `low` is at most and `high` at least each of those values, and may be wider (rows deleted after they
    were counted are not taken out). `uncovered`: 1 when a posting of the month stored no running balance
    (it counts as 0 in the bounds), so that they say nothing. Written with the transactions in the same unit of work
    (server.store.repositories.balance_months); the backtest's pre-filter reads it
    (docs/triggers.md#backtest)."""

    __tablename__ = "account_balance_months"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    low: Mapped[int] = mapped_column(BigInteger)
    high: Mapped[int] = mapped_column(BigInteger)
    uncovered: Mapped[int] = mapped_column(Integer, default=0)


class TransactionAuthorizationRow(Base):
    """PENDING and DECLINED transactions (docs/services/ingest.md#transaction-status), kept apart from
    `transactions`, which holds only the booked ones that balances, insights, goals and triggers read. A
    PENDING row leaves when its transaction is booked; a DECLINED one stays, and its id stays taken."""

    __tablename__ = "transaction_authorizations"
    __table_args__ = (
        Index("ix_transaction_authorizations_tenant_account_posted", "tenant_id", "account_id", "posted_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # PENDING or DECLINED
    signed_amount: Mapped[Decimal] = mapped_column(ScaledAmount())
    direction: Mapped[str] = mapped_column(String(6))
    currency: Mapped[str] = mapped_column(String(3))
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(128), default="")
    ingested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DailyBalanceRow(Base):
    __tablename__ = "daily_balances"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.account_id"]),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    balance_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    balance: Mapped[Decimal] = mapped_column(ScaledAmount())
    currency: Mapped[str] = mapped_column(String(3))


class DomainEventRow(Base):
    """The outbox of domain events (server.domain.events): written in the same database transaction as
    the change an event describes, then announced to the workers. The database is the source of truth;
    Redis may lose a job, and the relay sweep announces the event again."""

    __tablename__ = "domain_events"
    __table_args__ = (
        Index("ix_domain_events_pending", "processed_at", "created_at"),
        # A tenant's unprocessed events by id: the earlier ones a handler kept in order has to finish first.
        Index("ix_domain_events_unprocessed", "tenant_id", "event_id",
              postgresql_where=text("processed_at IS NULL"), sqlite_where=text("processed_at IS NULL")),
    )

    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                          autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # every handler done
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The bus job that took the event to handle it with others (its first event's id), and until when:
    # meanwhile other jobs leave it alone (server.services.bus).
    taken_by: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), nullable=True)
    taken_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DomainEventHandlingRow(Base):
    """One handler finished one event: written in the handler's own transaction, so that a handler
    that failed is retried alone and one that finished never runs again for that event."""

    __tablename__ = "domain_event_handlings"

    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    handler: Mapped[str] = mapped_column(String(128), primary_key=True)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SubscriptionSettingsRow(Base):
    """One level's settings for one insight: the bank default (customer_id '') or a user override.
    Unset values are absent, so a bank change reaches every user who did not override that value."""

    __tablename__ = "subscription_settings"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # '' = the bank level
    insight_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    settings: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SubscriptionChangeRow(Base):
    __tablename__ = "subscription_changes"
    __table_args__ = (Index("ix_subscription_changes_tenant_customer", "tenant_id", "customer_id", "change_id"),)

    change_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                           autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))  # '' = the bank level
    insight_name: Mapped[str] = mapped_column(String(100))
    changed_by: Mapped[str] = mapped_column(String(128))
    changed_by_role: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    before: Mapped[dict[str, object]] = mapped_column(JSON)
    after: Mapped[dict[str, object]] = mapped_column(JSON)


class FeedItemRow(Base):
    """A generated insight. The unique period key is the duplicate check: at most one item per user,
    insight and frequency period, whoever generates it (batch, retry, on-demand trigger, event)."""

    __tablename__ = "feed_items"
    __table_args__ = (
        # Insight and period before the customer: the items written together (a day's warnings, a month's
        # batch) share them, so their keys land on a few adjacent index pages, not one random page each
        # (migration 0033). Readers of one customer's items use ix_feed_items_tenant_customer_created.
        UniqueConstraint("tenant_id", "insight_name", "period", "customer_id", name="uq_feed_items_period"),
        Index("ix_feed_items_tenant_customer_created", "tenant_id", "customer_id", "created_at"),
        # The insight history: the tenant's items in time order.
        Index("ix_feed_items_tenant_created", "tenant_id", "created_at", "feed_item_id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    feed_item_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    insight_name: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    last_interaction: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # server.domain.insights.feed.Origin; NULL: generated before origins were recorded (0025).
    origin: Mapped[str | None] = mapped_column(String(12), nullable=True)


class FeedInteractionRow(Base):
    __tablename__ = "feed_interactions"
    __table_args__ = (Index("ix_feed_interactions_item", "tenant_id", "feed_item_id"),)

    interaction_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                                autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    feed_item_id: Mapped[str] = mapped_column(String(32))
    interaction: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class InsightBatchRow(Base):
    __tablename__ = "insight_batches"
    __table_args__ = (UniqueConstraint("tenant_id", "as_of", name="uq_insight_batches_as_of"),)

    batch_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[dt.date] = mapped_column(Date)
    total_chunks: Mapped[int] = mapped_column(Integer)
    done_chunks: Mapped[int] = mapped_column(Integer, default=0)
    users_evaluated: Mapped[int] = mapped_column(BigInteger, default=0)
    items_generated: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class InsightBatchChunkRow(Base):
    """A range of customers (first..last inclusive, by id) that one job evaluates."""

    __tablename__ = "insight_batch_chunks"

    batch_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    chunk_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_customer_id: Mapped[str] = mapped_column(String(64))
    last_customer_id: Mapped[str] = mapped_column(String(64))
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
