"""Recommended offers (server.domain.triggers.offers): the bank's recommendations and the suggestions
they make. Every key starts with the tenant."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base
from server.store.types import UTCDateTime

# The statuses the unique index below covers (server.domain.triggers.offers.OPEN_STATUSES).
_OPEN = text("status IN ('PENDING', 'APPROVED')")


class OfferRecommendationRow(Base):
    __tablename__ = "offer_recommendations"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recommendation_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[str] = mapped_column(String(40))
    criteria: Mapped[str] = mapped_column(Text)  # canonical text of the segment expression
    target_kind: Mapped[str] = mapped_column(String(8))  # ALL | PERSONA | AUDIENCE
    target_id: Mapped[str] = mapped_column(String(40), default="")
    # {"title", "body", "call_to_action_label", "call_to_action_url", "lifetime_seconds"}
    banner: Mapped[dict[str, object]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OfferSuggestionRow(Base):
    __tablename__ = "offer_suggestions"
    __table_args__ = (
        # At most one PENDING or APPROVED suggestion per (recommendation, customer): a run's INSERT ...
        # SELECT skips the customers who have one by this index's conflicts.
        Index("uq_offer_suggestions_open", "tenant_id", "recommendation_id", "customer_id", unique=True,
              postgresql_where=_OPEN, sqlite_where=_OPEN),
        # A run's look-up of recent rejections, and the listing by recommendation.
        Index("ix_offer_suggestions_recommendation", "tenant_id", "recommendation_id", "customer_id"),
        Index("ix_offer_suggestions_status", "tenant_id", "status", "suggestion_id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    suggestion_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    recommendation_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(40))
    # attribute name -> the customer's value as text, for the attributes the criteria name.
    indicator_values: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rejection_reason: Mapped[str] = mapped_column(String(500), default="")
    banner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
