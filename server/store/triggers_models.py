"""Real-time trigger tables (docs/triggers.md): rules and their versions, the per-account day series
the conditions read, the "true since" state of state conditions, firings, and the banners firings
made. Every key starts with the tenant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base
from server.store.types import ScaledAmount, UTCDateTime


class TriggerRuleRow(Base):
    """A rule's current version; every version's snapshot is also in trigger_rule_versions."""

    __tablename__ = "trigger_rules"
    # The runtime reads the tenant's ACTIVE rules on every posting batch.
    __table_args__ = (Index("ix_trigger_rules_status", "tenant_id", "status"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)  # server.domain.triggers.rules.audience_to_json
    condition: Mapped[str] = mapped_column(Text)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # rules.actions_to_json
    active_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    active_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cooldown_seconds: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(200))
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    latest_backtest: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TriggerRuleVersionRow(Base):
    """One version as it was saved (rules.rule_to_json): a firing names its version, and ExplainFiring
    shows that version's condition."""

    __tablename__ = "trigger_rule_versions"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TriggerAccountDayRow(Base):
    """One account's day as conditions read it (server.domain.triggers.series.AccountDay)."""

    __tablename__ = "trigger_account_days"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    closing_balance: Mapped[Decimal | None] = mapped_column(ScaledAmount(), nullable=True)
    fed_balance: Mapped[Decimal | None] = mapped_column(ScaledAmount(), nullable=True)
    min_balance: Mapped[Decimal | None] = mapped_column(ScaledAmount(), nullable=True)
    postings: Mapped[int] = mapped_column(Integer, default=0)
    posting_total: Mapped[Decimal] = mapped_column(ScaledAmount(), default=Decimal(0))
    overdraft_began: Mapped[bool] = mapped_column(Boolean, default=False)


class TriggerRuleStateRow(Base):
    """Present while a state condition of a rule version holds for an account: the next evaluation
    that finds it true does not fire again (it fires on the crossing)."""

    __tablename__ = "trigger_rule_states"
    # An evaluation's accounts' states, account by account (the key leads with the rule).
    __table_args__ = (Index("ix_trigger_rule_states_account", "tenant_id", "account_id"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    true_since: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TriggerFiringRow(Base):
    __tablename__ = "trigger_firings"
    __table_args__ = (
        # One firing per posting (or per day for a daily re-check) of a rule and account, however
        # often the handler runs.
        UniqueConstraint("tenant_id", "rule_id", "account_id", "dedupe_key", name="uq_trigger_firings_dedupe"),
        # Cool-down: the customer's last firing of the rule.
        Index("ix_trigger_firings_cooldown", "tenant_id", "rule_id", "customer_id", "fired_at"),
        # ListFirings: a rule's firings, newest first (ids sort by time).
        Index("ix_trigger_firings_rule", "tenant_id", "rule_id", "firing_id"),
        # The event history: the tenant's firings in time order, and one customer's.
        Index("ix_trigger_firings_tenant_fired", "tenant_id", "fired_at", "firing_id"),
        Index("ix_trigger_firings_tenant_customer", "tenant_id", "customer_id", "fired_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    firing_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(64))
    fired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    dedupe_key: Mapped[str] = mapped_column(String(80))  # the transaction id, or `day:YYYY-MM-DD`
    values: Mapped[dict[str, str]] = mapped_column(JSON)
    # What each action did: [{"kind": "banner", "resource": "customers/c/banners/b", "outcome": "done"}]
    actions: Mapped[list[dict[str, str]]] = mapped_column(JSON)


class BannerRow(Base):
    __tablename__ = "banners"
    __table_args__ = (Index("ix_banners_customer", "tenant_id", "customer_id", "expires_at"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    banner_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    # The rule version and firing that made it, or the approved offer suggestion.
    rule_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    firing_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    suggestion_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(String(500))
    cta_label: Mapped[str] = mapped_column(String(40))
    cta_url: Mapped[str] = mapped_column(String(2000))
    product_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    first_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_clicked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class BannerEventRow(Base):
    """One impression or click of a banner (the counters above sum them), written with the count."""

    __tablename__ = "banner_events"
    __table_args__ = (
        # The event history: each kind in time order, and one customer's.
        Index("ix_banner_events_tenant_kind_occurred", "tenant_id", "kind", "occurred_at", "event_id"),
        Index("ix_banner_events_tenant_customer", "tenant_id", "customer_id", "occurred_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # IMPRESSION or CLICK
    banner_id: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str] = mapped_column(String(64))
    # The banner's rule version and firing, copied: the history filters on the rule.
    rule_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    firing_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
