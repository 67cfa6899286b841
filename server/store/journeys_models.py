"""Journeys tables: every saved version of a journey's definition, the instances customers run (each on
its version), and the routes they took. Every key starts with the tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base
from server.store.types import UTCDateTime


class JourneyVersionRow(Base):
    """One saved definition; a journey's latest version is its highest. Never changed once written:
    the instances started on it read it until they end."""

    __tablename__ = "journey_versions"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # fields and steps as server.store.repositories.journeys writes them (expressions in canonical text).
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class JourneyInstanceRow(Base):
    __tablename__ = "journey_instances"
    __table_args__ = (Index("ix_journey_instances_customer", "tenant_id", "customer_id"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    journey_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    current_step: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16))
    # {name: value_to_text(value)}, read back with the version's field and attribute types.
    captured: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    handed_to: Mapped[str | None] = mapped_column(String(40), nullable=True)
    route_count: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class JourneyRouteRow(Base):
    """A route an instance took, numbered from 1 per instance (reporting reads these)."""

    __tablename__ = "journey_routes"
    # The event history: the tenant's routes in time order.
    __table_args__ = (Index("ix_journey_routes_tenant_taken", "tenant_id", "taken_at", "instance_id", "sequence"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    from_step: Mapped[str] = mapped_column(String(40))
    rule_index: Mapped[int | None] = mapped_column(Integer, nullable=True)  # NULL: the default route
    rule_expression: Mapped[str] = mapped_column(Text, default="")
    to_step: Mapped[str | None] = mapped_column(String(40), nullable=True)
    to_journey: Mapped[str | None] = mapped_column(String(40), nullable=True)
    handed_to: Mapped[str | None] = mapped_column(String(40), nullable=True)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
