from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.store.models import IngestEventRow


@dataclass(frozen=True)
class IngestEvent:
    event_id: int
    tenant_id: str
    transaction_ids: list[str]


class IngestEventsRepository:
    """The outbox of ingestion events. Relaying spans tenants, so the sweep reads across them;
    each event it hands on carries its own tenant."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, tenant_id: str, transaction_ids: list[str], now: dt.datetime) -> int:
        # Core, not the ORM's unit of work: one per ingested batch.
        event_id = await self.session.scalar(insert(IngestEventRow).values(
            tenant_id=tenant_id, transaction_ids=transaction_ids, created_at=now, attempts=0,
        ).returning(IngestEventRow.event_id))
        assert event_id is not None
        return int(event_id)

    async def get(self, event_id: int) -> IngestEvent | None:
        row = await self.session.get(IngestEventRow, event_id)
        if row is None or row.processed_at is not None:
            return None
        return IngestEvent(row.event_id, row.tenant_id, list(row.transaction_ids))

    async def mark_enqueued(self, event_ids: list[int], now: dt.datetime) -> None:
        await self.session.execute(update(IngestEventRow).where(IngestEventRow.event_id.in_(event_ids))
                                   .values(enqueued_at=now, attempts=IngestEventRow.attempts + 1))

    async def mark_processed(self, event_id: int, now: dt.datetime) -> None:
        await self.session.execute(update(IngestEventRow).where(IngestEventRow.event_id == event_id)
                                   .values(processed_at=now))

    async def unprocessed_ids(self, cutoff: dt.datetime, limit: int) -> list[int]:
        """Unprocessed events created, and last re-sent, before the cutoff: their jobs were lost."""
        rows = await self.session.scalars(
            select(IngestEventRow.event_id)
            .where(IngestEventRow.processed_at.is_(None), IngestEventRow.created_at < cutoff)
            .where((IngestEventRow.enqueued_at.is_(None)) | (IngestEventRow.enqueued_at < cutoff))
            .order_by(IngestEventRow.event_id).limit(limit))
        return list(rows)

    async def never_resent_ids(self, cutoff: dt.datetime, limit: int) -> list[int]:
        """Unprocessed events created before the cutoff and announced only by their own commit."""
        rows = await self.session.scalars(
            select(IngestEventRow.event_id)
            .where(IngestEventRow.processed_at.is_(None), IngestEventRow.created_at < cutoff,
                   IngestEventRow.attempts == 0)
            .order_by(IngestEventRow.event_id).limit(limit))
        return list(rows)
