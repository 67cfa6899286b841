"""Card and loan payments (server.domain.ingest.statements, server.domain.engagement.payment_alerts):
ingested statements and scheduled payments, and the bank's payment alerts. Every key starts with the
tenant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base
from server.store.types import ScaledAmount, UTCDateTime


class StatementRow(Base):
    __tablename__ = "statements"
    # The daily reminder run reads a tenant's statements by due date; a list reads an account's.
    __table_args__ = (Index("ix_statements_tenant_due", "tenant_id", "due_date"),
                      Index("ix_statements_tenant_account_due", "tenant_id", "account_id", "due_date"))

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    statement_date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    minimum_due: Mapped[Decimal] = mapped_column(ScaledAmount())
    statement_balance: Mapped[Decimal] = mapped_column(ScaledAmount())
    currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ScheduledPaymentRow(Base):
    __tablename__ = "scheduled_payments"
    __table_args__ = (Index("ix_scheduled_payments_tenant_account", "tenant_id", "account_id", "scheduled_date"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(ScaledAmount())
    currency: Mapped[str] = mapped_column(String(3))
    scheduled_date: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PaymentAlertRow(Base):
    __tablename__ = "payment_alerts"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    days_before_due: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
