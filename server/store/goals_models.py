"""Goals tables: enrolments, goals, what moved their money, the customer history, funding programmes and
their transfers. Every row carries its tenant and every key starts with it. Amounts are ScaledAmount
(exact ten-thousandths) with the currency beside them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, PrimaryKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base
from server.store.types import ScaledAmount, UTCDateTime


class GoalEnrolmentRow(Base):
    """A customer's place in the goals programme (at most one), and its target account."""

    __tablename__ = "goal_enrolments"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # ACTIVE, PAUSED, CANCELLED
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Milestones across all the customer's goals already announced (milestone keys).
    milestones: Mapped[list[str]] = mapped_column(JSON, default=list)
    request_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# The goals of one account, in allocation order, are read after every posting of a target account.
class GoalRow(Base):
    __tablename__ = "goals"
    __table_args__ = (
        Index("ix_goals_tenant_account", "tenant_id", "account_id"),
        Index("ix_goals_tenant_customer", "tenant_id", "customer_id"),
        UniqueConstraint("tenant_id", "customer_id", "request_id", name="uq_goals_request"),
        # Room for the recalculation's heap-only updates (migration 0037).
        {"postgresql_with": {"fillfactor": 70}},
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    goal_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(16))
    target: Mapped[Decimal] = mapped_column(ScaledAmount())
    currency: Mapped[str] = mapped_column(String(3))
    target_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # ACTIVE, ACHIEVED, PAUSED, ARCHIVED
    saved: Mapped[Decimal] = mapped_column(ScaledAmount())
    # Milestone keys already announced for this goal (server.domain.goals.milestones).
    milestones: Mapped[list[str]] = mapped_column(JSON, default=list)
    request_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    achieved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class GoalMilestoneRow(Base):
    """A milestone a goal reached, and when Engage recorded it (the goals summary counts them by month);
    the goal's `milestones` keeps their order."""

    __tablename__ = "goal_milestones"
    __table_args__ = (Index("ix_goal_milestones_tenant_reached", "tenant_id", "reached_at"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    goal_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    milestone: Mapped[str] = mapped_column(String(64), primary_key=True)
    reached_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class GoalCashFlowRow(Base):
    """One change of a goal's saved amount and the posting that caused it. Keyed by goal, posting time and
    transaction (a transaction has one posting time): recalculating a posting again writes nothing new,
    and the key alone serves a goal's entries of a period."""

    __tablename__ = "goal_cash_flows"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "goal_id", "posted_at", "transaction_id"),)

    tenant_id: Mapped[str] = mapped_column(String(64))
    goal_id: Mapped[str] = mapped_column(String(40))
    transaction_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(ScaledAmount())  # signed: negative when money left the goal
    currency: Mapped[str] = mapped_column(String(3))
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class GoalHistoryRow(Base):
    """The customer history: every enrolment and management event, programme event and transfer change,
    with who, when and what (the changed fields before and after, as text)."""

    __tablename__ = "goal_history"
    __table_args__ = (
        Index("ix_goal_history_customer_time", "tenant_id", "customer_id", "at"),
        Index("ix_goal_history_tenant_time", "tenant_id", "at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(16))  # CUSTOMER, BANK_ADMIN, SERVICE
    actor_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    goal_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    resource: Mapped[str] = mapped_column(String(256), default="")  # the resource name that changed
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FundingProgrammeRow(Base):
    """Moves money into a goal on a schedule or per rule (server.domain.goals.funding)."""

    __tablename__ = "funding_programmes"
    __table_args__ = (
        Index("ix_funding_programmes_goal", "tenant_id", "customer_id", "goal_id"),
        UniqueConstraint("tenant_id", "customer_id", "request_id", name="uq_funding_programmes_request"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    programme_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    goal_id: Mapped[str] = mapped_column(String(40))
    source_account_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # ACTIVE, PAUSED, CANCELLED
    # {"kind": "FIXED_SCHEDULE"|"ROUND_UP"|"SALARY_PERCENTAGE", ...its parameters as strings}
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # Scheduled programmes: due dates up to this one have their transfers.
    planned_through: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class GoalTransferRow(Base):
    """A transfer instruction for the bank's payment system: one per programme and period (a schedule's
    period key, or the triggering transaction id for a rule)."""

    __tablename__ = "goal_transfers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "programme_id", "period_key", name="uq_goal_transfers_period"),
        Index("ix_goal_transfers_customer", "tenant_id", "customer_id", "created_at"),
        Index("ix_goal_transfers_unpublished", "published_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transfer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    programme_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(String(64))
    goal_id: Mapped[str] = mapped_column(String(40))
    period_key: Mapped[str] = mapped_column(String(80))
    amount: Mapped[Decimal] = mapped_column(ScaledAmount())
    currency: Mapped[str] = mapped_column(String(3))
    source_account_id: Mapped[str] = mapped_column(String(64))
    target_account_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # REQUESTED, EXECUTED, FAILED, CANCELLED
    failure_reason: Mapped[str] = mapped_column(String(256), default="")
    transaction_id: Mapped[str] = mapped_column(String(64), default="")  # the bank's posting, once executed
    due_date: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # When it went onto the Redis Stream (None: not yet; the relay publishes it).
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
