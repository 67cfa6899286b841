"""Products tables: products and their versions, a version's terms one JSON column in the form of
server.domain.products.codec. Every key starts with the tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base
from server.store.types import UTCDateTime


class ProductRow(Base):
    __tablename__ = "products"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    # The highest version number given so far: the next version is this + 1.
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    # The conversion match (server.domain.products.catalog.ConversionMatch): NULL parts match anything,
    # all three NULL when the product has none.
    conversion_category: Mapped[str | None] = mapped_column(String(128), nullable=True)
    conversion_description: Mapped[str | None] = mapped_column(String(200), nullable=True)
    conversion_direction: Mapped[str | None] = mapped_column(String(6), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ProductVersionRow(Base):
    """One version: DRAFT rows are rewritten by edits, APPROVED and RETIRED ones only change status
    (server.domain.products.versions; the service refuses every other write)."""

    __tablename__ = "product_versions"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(8))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)  # codec.terms_to_json
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)  # subjects, sorted
    based_on: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approver: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
