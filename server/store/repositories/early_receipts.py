"""Delivery reports kept until their message is recorded as sent: kept per tenant by the receipt
endpoint, found and purged across tenants by the relay sweep."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import and_, delete, select

from server.domain.engagement.receipts import DeliveryReceipt, EarlyReceipt
from server.store.engagement_models import DeliveryRow, EarlyReceiptRow
from server.store.repositories.base import TenantRepository, storable


class EarlyReceiptsRepository(TenantRepository):
    async def keep(self, receipt: DeliveryReceipt, now: dt.datetime) -> None:
        self.session.add(EarlyReceiptRow(
            tenant_id=self.tenant_id, receipt_id=uuid.uuid4().hex, provider=receipt.provider,
            provider_message_id=receipt.provider_message_id, state=receipt.status,
            error_code=storable(receipt.error_code, 64), error_message=storable(receipt.error_message, 2000),
            received_at=now))

    async def forget(self, receipt_ids: list[str]) -> None:
        await self.session.execute(delete(EarlyReceiptRow).where(
            EarlyReceiptRow.tenant_id == self.tenant_id, EarlyReceiptRow.receipt_id.in_(receipt_ids)))


class EarlyReceiptsSweep:
    """The relay's cross-tenant view of kept reports."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def with_their_message(self, limit: int) -> list[EarlyReceipt]:
        """Kept reports whose message is now recorded (with the provider's id), oldest first."""
        rows = await self.session.execute(select(EarlyReceiptRow).join(DeliveryRow, and_(
            DeliveryRow.tenant_id == EarlyReceiptRow.tenant_id, DeliveryRow.provider == EarlyReceiptRow.provider,
            DeliveryRow.provider_message_id == EarlyReceiptRow.provider_message_id,
        )).order_by(EarlyReceiptRow.received_at).limit(limit))
        return [EarlyReceipt(row.tenant_id, row.receipt_id, DeliveryReceipt(
            row.provider, row.provider_message_id, row.state, row.error_code, row.error_message), row.received_at)
            for row in rows.scalars()]

    async def purge(self, received_before: dt.datetime) -> int:
        result = await self.session.execute(delete(EarlyReceiptRow).where(
            EarlyReceiptRow.received_at < received_before))
        return int(result.rowcount or 0)
