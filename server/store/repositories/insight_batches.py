"""The insight batches of one tenant and their chunks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from server.domain.insights.batches import Batch, Chunk
from server.store.driver import rowcount
from server.store.keyset import keyset_page
from server.store.models import CustomerRow, InsightBatchChunkRow, InsightBatchRow
from server.store.repositories.base import TenantRepository


def _batch(row: InsightBatchRow) -> Batch:
    return Batch(row.batch_id, row.tenant_id, row.as_of, row.total_chunks, row.done_chunks, row.users_evaluated,
                 row.items_generated, row.created_at, row.finished_at)


class InsightBatchesRepository(TenantRepository):
    async def customer_ranges(self, chunk_size: int) -> list[tuple[str, str]]:
        """The tenant's customers split into ranges of chunk_size ids (first, last inclusive)."""
        ids = list(await self.session.scalars(select(CustomerRow.customer_id).where(
            CustomerRow.tenant_id == self.tenant_id).order_by(CustomerRow.customer_id)))
        return [(ids[i], ids[min(i + chunk_size, len(ids)) - 1]) for i in range(0, len(ids), chunk_size)]

    async def add(self, batch_id: str, as_of: dt.date, ranges: list[tuple[str, str]], now: dt.datetime) -> None:
        self.session.add(InsightBatchRow(batch_id=batch_id, tenant_id=self.tenant_id, as_of=as_of,
                                         total_chunks=len(ranges), done_chunks=0, users_evaluated=0,
                                         items_generated=0, created_at=now,
                                         finished_at=None if ranges else now))
        self.session.add_all([InsightBatchChunkRow(batch_id=batch_id, chunk_number=n, first_customer_id=first,
                                                   last_customer_id=last, attempts=0)
                              for n, (first, last) in enumerate(ranges)])
        await self.session.flush()

    async def get(self, batch_id: str) -> Batch | None:
        row = await self.session.get(InsightBatchRow, batch_id)
        return None if row is None or row.tenant_id != self.tenant_id else _batch(row)

    async def list_before(self, before: dt.date | None, limit: int) -> list[Batch]:
        """The batches as of dates before `before` (None: all), the latest first: one per date."""
        rows = await self.session.scalars(keyset_page(
            select(InsightBatchRow).where(InsightBatchRow.tenant_id == self.tenant_id), [InsightBatchRow.as_of],
            None if before is None else (before,), limit, descending=True))
        return [_batch(row) for row in rows]

    async def by_as_of(self, as_of: dt.date) -> Batch | None:
        row = await self.session.scalar(select(InsightBatchRow).where(
            InsightBatchRow.tenant_id == self.tenant_id, InsightBatchRow.as_of == as_of))
        return None if row is None else _batch(row)

    async def chunks(self, batch_id: str, only_pending: bool = False) -> list[Chunk]:
        query = select(InsightBatchChunkRow).where(InsightBatchChunkRow.batch_id == batch_id)
        if only_pending:
            query = query.where(InsightBatchChunkRow.done_at.is_(None))
        rows = await self.session.scalars(query.order_by(InsightBatchChunkRow.chunk_number))
        return [Chunk(r.batch_id, r.chunk_number, r.first_customer_id, r.last_customer_id, r.done_at is not None)
                for r in rows]

    async def chunk(self, batch_id: str, chunk_number: int) -> Chunk | None:
        row = await self.session.get(InsightBatchChunkRow, (batch_id, chunk_number))
        return None if row is None else Chunk(row.batch_id, row.chunk_number, row.first_customer_id,
                                               row.last_customer_id, row.done_at is not None)

    async def count_attempt(self, batch_id: str, chunk_number: int) -> None:
        await self.session.execute(update(InsightBatchChunkRow).where(
            InsightBatchChunkRow.batch_id == batch_id, InsightBatchChunkRow.chunk_number == chunk_number)
            .values(attempts=InsightBatchChunkRow.attempts + 1))

    async def complete_chunk(self, batch_id: str, chunk_number: int, users: int, items: int,
                             now: dt.datetime) -> bool:
        """Marks the chunk done and adds its figures to the batch, once: False if it was done already."""
        marked = await self.session.execute(update(InsightBatchChunkRow).where(
            InsightBatchChunkRow.batch_id == batch_id, InsightBatchChunkRow.chunk_number == chunk_number,
            InsightBatchChunkRow.done_at.is_(None)).values(done_at=now))
        if rowcount(marked) != 1:
            return False
        await self.session.execute(update(InsightBatchRow).where(
            InsightBatchRow.batch_id == batch_id, InsightBatchRow.tenant_id == self.tenant_id).values(
            done_chunks=InsightBatchRow.done_chunks + 1, users_evaluated=InsightBatchRow.users_evaluated + users,
            items_generated=InsightBatchRow.items_generated + items))
        await self.session.execute(update(InsightBatchRow).where(
            InsightBatchRow.batch_id == batch_id, InsightBatchRow.done_chunks == InsightBatchRow.total_chunks,
            InsightBatchRow.finished_at.is_(None)).values(finished_at=now))
        return True

    async def unfinished(self, started_before: dt.datetime) -> list[Batch]:
        rows = await self.session.scalars(select(InsightBatchRow).where(
            InsightBatchRow.tenant_id == self.tenant_id, InsightBatchRow.finished_at.is_(None),
            InsightBatchRow.created_at < started_before))
        return [_batch(r) for r in rows]
