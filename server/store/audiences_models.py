"""Audiences: personas and other audiences combined (server.domain.personas.audiences). Every key starts
with the tenant."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base
from server.store.types import UTCDateTime


class AudienceRow(Base):
    __tablename__ = "audiences"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    audience_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    # {"include": ["personas/a", "audiences/b"], "mode": "ALL" | "ANY", "exclude": [...]}
    definition: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
