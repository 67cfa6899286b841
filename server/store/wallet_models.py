"""Apple Wallet passes Engage issued and the devices that registered for their updates (Apple's PassKit
web service). Every row carries its tenant and every key starts with it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base
from server.store.types import UTCDateTime


class WalletPassRow(Base):
    __tablename__ = "wallet_passes"
    __table_args__ = (
        Index("ix_wallet_passes_customer", "tenant_id", "customer_id", "pass_type_identifier"),
        Index("uq_wallet_passes_download", "tenant_id", "download_token_hash", unique=True),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pass_type_identifier: Mapped[str] = mapped_column(String(255), primary_key=True)
    serial_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    # The authentication token wallets send (`ApplePass <token>`), sealed with the secrets key: every
    # fetch of the pass signs it into pass.json again, so it is kept, not only its hash.
    sealed_token: Mapped[bytes] = mapped_column(LargeBinary)
    # The pass message's rendered parts: message, organization_name, description.
    parts: Mapped[dict[str, str]] = mapped_column(JSON)
    # SHA-256 (hex) of the token of the pass's download link (SMS), and until when the link works.
    download_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    download_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The pass's lastUpdated: changed with its parts; Last-Modified of its fetch.
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class WalletRegistrationRow(Base):
    __tablename__ = "wallet_registrations"
    __table_args__ = (
        Index("ix_wallet_registrations_pass", "tenant_id", "pass_type_identifier", "serial_number"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_library_identifier: Mapped[str] = mapped_column(String(128), primary_key=True)
    pass_type_identifier: Mapped[str] = mapped_column(String(255), primary_key=True)
    serial_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    push_token: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
