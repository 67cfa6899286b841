"""Bank notifications: the staff inbox, the bank's webhook, and the webhook's deliveries with every
attempt (server.domain.triggers.notifications). Every key starts with the tenant."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base
from server.store.types import UTCDateTime


class BankNotificationRow(Base):
    __tablename__ = "bank_notifications"
    __table_args__ = (Index("ix_bank_notifications_status", "tenant_id", "status", "created_at"),
                      Index("ix_bank_notifications_created", "tenant_id", "created_at"))

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    notification_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(40))
    rule_version: Mapped[int] = mapped_column(Integer)
    firing_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(500))
    values: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # NEW | ACKNOWLEDGED
    assignee: Mapped[str] = mapped_column(String(200), default="")
    acknowledged_by: Mapped[str] = mapped_column(String(200), default="")
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class NotificationWebhookRow(Base):
    __tablename__ = "notification_webhooks"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Fernet token of {"secret": ...} (server.security.secret_box); only the workers open it.
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class WebhookDeliveryRow(Base):
    """One notification's webhook delivery: the outbox row the workers send from."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_webhook_deliveries_created", "tenant_id", "created_at"),
                      Index("ix_webhook_deliveries_notification", "tenant_id", "notification_id"))

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    notification_id: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(String(2000))
    # The JSON body, made once: every attempt sends the same bytes.
    body: Mapped[str] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=0)  # attempts made so far
    status: Mapped[str] = mapped_column(String(16))  # PENDING | DELIVERED | FAILED
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # of the last attempt
    error: Mapped[str] = mapped_column(String(500), default="")  # of the last attempt
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A worker attempting it holds it until then; past it another may.
    leased_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebhookAttemptRow(Base):
    __tablename__ = "webhook_attempts"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(String(500), default="")
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
