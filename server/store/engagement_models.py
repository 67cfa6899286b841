"""Engagement tables: set-up objects, the delivery outbox, campaigns and one-time passwords. Every row
carries its tenant and every key starts with it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base
from server.store.types import ScaledAmount, UTCDateTime


class AppRow(Base):
    __tablename__ = "apps"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    platforms: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class EventTypeRow(Base):
    __tablename__ = "event_types"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # {"steps": [{"channel": "PUSH", "wait_seconds": 600}, ...]}; NULL: no fallback, every channel at once.
    fallback: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)


class ContactRow(Base):
    __tablename__ = "contacts"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    devices: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    passes: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    preferences: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ChannelConfigRow(Base):
    __tablename__ = "channel_configs"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    config_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(8))
    provider: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, str]] = mapped_column(JSON)
    # Fernet token of the JSON secrets; only workers open it.
    sealed_secrets: Mapped[bytes] = mapped_column(LargeBinary)
    secret_keys: Mapped[list[str]] = mapped_column(JSON)
    rate_limit_per_second: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Push only: the app whose pushes this configuration sends; "" = the tenant-wide one.
    app_id: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # What the bank pays its provider per message sent (the metrics' cost); NULL when not configured.
    cost_per_message: Mapped[Decimal | None] = mapped_column(ScaledAmount(), nullable=True)
    cost_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)


class TemplateRow(Base):
    __tablename__ = "templates"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(8))
    content: Mapped[dict[str, str]] = mapped_column(JSON)
    # [{"persona": persona id, "content": {...}}], the first that the customer belongs to wins
    variants: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class EventRow(Base):
    __tablename__ = "events"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(128))
    event_type_id: Mapped[str] = mapped_column(String(40))
    app_id: Mapped[str] = mapped_column(String(40))
    message_class: Mapped[str] = mapped_column(String(8))
    # [{"channel": "SMS", "template_id": "...", "content": {...}}]
    messages: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TriggerRow(Base):
    """One row per fan-out (a TriggerEvent request id, a transaction alert hit, an insight item, a
    campaign recipient, an OTP): its key makes every repeated trigger a no-op."""

    __tablename__ = "event_triggers"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    trigger_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DeliveryRow(Base):
    """The outbox: a message to one address through one channel, and its delivery status."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "trigger_key", "channel", "address", name="uq_deliveries_trigger_address"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        Index("ix_deliveries_tenant_customer", "tenant_id", "customer_id", "created_at"),
        Index("ix_deliveries_tenant_due", "tenant_id", "state", "next_attempt_at"),
        Index("ix_deliveries_provider_message", "provider", "provider_message_id"),
        Index("ix_deliveries_fallback_deadline", "fallback_deadline"),
        # The event history: the tenant's deliveries in time order.
        Index("ix_deliveries_tenant_created", "tenant_id", "created_at", "delivery_id"),
    )

    delivery_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    trigger_key: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[str] = mapped_column(String(40), default="")
    customer_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))
    provider: Mapped[str] = mapped_column(String(16), default="")
    config_id: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(4096))
    message_class: Mapped[str] = mapped_column(String(8))
    # The rendered message; sealed (encrypted) instead when it carries a one-time password, and
    # wiped once the delivery is final.
    content: Mapped[dict[str, str]] = mapped_column(JSON)
    sealed_content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    state: Mapped[str] = mapped_column(String(12))
    skip_reason: Mapped[str] = mapped_column(String(40), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    provider_message_id: Mapped[str] = mapped_column(String(200), default="")
    error_code: Mapped[str] = mapped_column(String(64), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Its place in a fallback chain (server.domain.engagement.fallback): step 0 = not in one. Only the
    # current step of a running chain has a deadline, which the sweep looks for.
    fallback_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fallback_state: Mapped[str] = mapped_column(String(12), default="", server_default="")
    fallback_wait_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fallback_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fallback_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fallback_ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class TransactionAlertRow(Base):
    __tablename__ = "transaction_alerts"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40))
    condition: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class InsightNotificationRow(Base):
    __tablename__ = "insight_notifications"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    notification_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    insight_name: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CampaignRow(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_state_send_at", "state", "send_at"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(40))
    audience: Mapped[dict[str, object]] = mapped_column(JSON)
    send_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    is_offer: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(20))
    creator: Mapped[str] = mapped_column(String(128))
    approver: Mapped[str] = mapped_column(String(128), default="")
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    # The last customer id fanned out: a re-run job carries on after it.
    cursor: Mapped[str] = mapped_column(String(64), default="")
    customers_targeted: Mapped[int] = mapped_column(Integer, default=0)
    deliveries_created: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CampaignStepRow(Base):
    """A campaign entering a state (the event history's campaign steps), written with the change."""

    __tablename__ = "campaign_steps"
    __table_args__ = (
        Index("ix_campaign_steps_tenant_occurred", "tenant_id", "occurred_at", "step_id"),
        # One campaign's steps in the event history's order (its campaign filter, by time and step id).
        Index("ix_campaign_steps_tenant_campaign", "tenant_id", "campaign_id", "occurred_at", "step_id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    step_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))
    previous_state: Mapped[str] = mapped_column(String(20), default="")  # "" for the creation
    actor: Mapped[str] = mapped_column(String(128), default="")  # "" for the worker's run
    reason: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class OtpRow(Base):
    __tablename__ = "otps"
    # The codes sent to a customer lately (the limit on sends).
    __table_args__ = (Index("ix_otps_tenant_customer_created", "tenant_id", "customer_id", "created_at"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    otp_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    consumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class EarlyReceiptRow(Base):
    """A provider's delivery report that came before its message was recorded as sent (a fast provider
    reports while the worker still waits on other sends of its batch): kept until the relay sweep finds
    the message, for an hour at most."""

    __tablename__ = "early_receipts"
    __table_args__ = (
        Index("ix_early_receipts_message", "tenant_id", "provider", "provider_message_id"),
        Index("ix_early_receipts_received", "received_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    receipt_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_message_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[str] = mapped_column(String(64), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
