"""Personas tables: the bank's attribute definitions, customers' typed attribute values and personas.
Every key starts with the tenant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base
from server.store.types import ScaledAmount, UTCDateTime


class AttributeDefinitionRow(Base):
    __tablename__ = "attribute_definitions"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(8))
    enum_values: Mapped[list[str]] = mapped_column(JSON, default=list)
    # value_to_text of the default (value_from_text reads it back), NULL without one.
    default_value: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CustomerAttributeValueRow(Base):
    """One customer's own value of one attribute, in the column of its type (the others NULL), so that
    compiled segment expressions compare typed values on both databases (server/store/segments_sql.py).
    STRING and ENUM values are in text_value."""

    __tablename__ = "customer_attribute_values"
    # No index on (tenant_id, name) (migration 0013 dropped it): compiled expressions read a value by
    # the primary key, and without statistics PostgreSQL preferred that index for them, 1,000 times slower.

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    bool_value: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    int_value: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    decimal_value: Mapped[Decimal | None] = mapped_column(ScaledAmount(), nullable=True)
    text_value: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    date_value: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PersonaRow(Base):
    __tablename__ = "personas"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    persona_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    expression: Mapped[str] = mapped_column(Text)  # canonical text, up to the parser's 10,000 characters
    # Raised by each change of what the members are (the expression, a named attribute's default); the
    # revision persona_members was last recomputed whole for. Equal: the kept rows are current.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    members_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # token name -> value, read by templates as {{ persona.<persona_id>.<token> }}
    tokens: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PersonaMemberRow(Base):
    """A customer in a persona, kept by the bus handlers and by a change of the expression
    (server.services.personas); PersonaMembershipChanged announces each change of these rows."""

    __tablename__ = "persona_members"
    __table_args__ = (Index("ix_persona_members_customer", "tenant_id", "customer_id"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    persona_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class DerivedRefreshDayRow(Base):
    """The last day whose derived-attribute refresh was requested for a tenant, so that the hourly cron
    requests each local day once, and catches up on the first run after the workers missed the hour
    the day began."""

    __tablename__ = "derived_refresh_days"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_requested: Mapped[dt.date] = mapped_column(Date)
