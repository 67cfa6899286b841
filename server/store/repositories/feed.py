from __future__ import annotations

import datetime as dt

import orjson
from sqlalchemy import and_, or_, select, update

from server.domain.insights.feed import FeedItem, Interaction, Origin
from server.store.array_literals import integer_array, text_array
from server.store.keyset import keyset_page
from server.store.models import FeedInteractionRow, FeedItemRow
from server.store.repositories.base import TenantRepository
from server.store.types import sqlite_datetime_text

# An item's insight name and times are its kind's: $5 to $7 hold each distinct (insight, created, expires)
# once and t.kind numbers it, since asyncpg encodes a timestamp about five times as slowly as an integer. The
# ids, periods and kind numbers are array literals (server.store.array_literals); the names, times and payloads
# lists.
_POSTGRES_INSERT = """
INSERT INTO feed_items (tenant_id, feed_item_id, customer_id, insight_name, period, created_at, expires_at, payload,
                        origin)
SELECT $1, t.feed_item_id, t.customer_id, ($5::text[])[t.kind], t.period, ($6::timestamptz[])[t.kind],
       ($7::timestamptz[])[t.kind], t.payload::json, $9
FROM unnest($2::text::text[], $3::text::text[], $4::text::text[], $8::text[], $10::text::int[])
     AS t(feed_item_id, customer_id, period, payload, kind)
ON CONFLICT (tenant_id, insight_name, period, customer_id) DO NOTHING
RETURNING feed_item_id
"""

_SQLITE_INSERT = """
INSERT INTO feed_items (tenant_id, feed_item_id, customer_id, insight_name, period, created_at, expires_at, payload,
                        origin)
SELECT ?, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value -> 6, ?
FROM json_each(?) AS j WHERE true
ON CONFLICT (tenant_id, insight_name, period, customer_id) DO NOTHING
RETURNING feed_item_id
"""


def _to_domain(row: FeedItemRow) -> FeedItem:
    return FeedItem(row.feed_item_id, row.customer_id, row.insight_name, row.period, row.created_at,
                    row.expires_at, dict(row.payload), Interaction(row.last_interaction) if row.last_interaction
                    else None)


class FeedRepository(TenantRepository):
    async def insert_new(self, items: list[FeedItem], origin: Origin) -> set[str]:
        """Inserts the items whose (customer, insight, period) has none yet: the duplicate check.
        Returns the ids inserted. `origin`: what generated them, kept for the insight history."""
        if not items:
            return set()
        connection = await self.session.connection()  # Core: no ORM bookkeeping for a bulk insert
        if connection.dialect.name == "postgresql":
            # Arrays: the same prepared statement whatever the number of items (a batch chunk writes
            # hundreds). Items of one call share a few kinds (numbered from 1, as PostgreSQL's arrays are).
            kinds: dict[tuple[str, dt.datetime, dt.datetime], int] = {}
            kind = [kinds.setdefault((i.insight_name, i.created_at, i.expires_at), len(kinds) + 1) for i in items]
            result = await connection.exec_driver_sql(_POSTGRES_INSERT, (
                self.tenant_id, text_array([i.feed_item_id for i in items]), text_array([i.customer_id for i in items]),
                text_array([i.period for i in items]), [name for name, _, _ in kinds],
                [created for _, created, _ in kinds], [expires for _, _, expires in kinds],
                [orjson.dumps(i.payload).decode() for i in items], origin.value, integer_array(kind)))
            return {row[0] for row in result}
        # SQLite: the rows as one JSON parameter, so that the statement's text (and the prepared statement
        # sqlite3 caches for it) is the same whatever the number of items. Each payload is a JSON value
        # inside it, taken out as JSON text by `->` (not encoded twice, as a string of JSON).
        # Items of one call share a few times: each is written as text once.
        texts: dict[dt.datetime, str] = {}
        for i in items:
            for at in (i.created_at, i.expires_at):
                if at not in texts:
                    texts[at] = sqlite_datetime_text(at)
        result = await connection.exec_driver_sql(_SQLITE_INSERT, (self.tenant_id, origin.value, orjson.dumps([
            [i.feed_item_id, i.customer_id, i.insight_name, i.period, texts[i.created_at], texts[i.expires_at],
             i.payload] for i in items]).decode()))
        return {row[0] for row in result}

    async def in_periods(self, customer_id: str, keys: list[tuple[str, str]]) -> list[FeedItem]:
        """The customer's items for these (insight, period) pairs, valid or not."""
        if not keys:
            return []
        rows = await self.session.scalars(select(FeedItemRow).where(
            FeedItemRow.tenant_id == self.tenant_id, FeedItemRow.customer_id == customer_id,
            or_(*[and_(FeedItemRow.insight_name == name, FeedItemRow.period == period) for name, period in keys])))
        return [_to_domain(r) for r in rows]

    async def get_many(self, feed_item_ids: list[str]) -> list[FeedItem]:
        if not feed_item_ids:
            return []
        rows = await self.session.scalars(select(FeedItemRow).where(
            FeedItemRow.tenant_id == self.tenant_id, self.one_of(FeedItemRow.feed_item_id, feed_item_ids)))
        return [_to_domain(r) for r in rows]

    async def get(self, customer_id: str, feed_item_id: str) -> FeedItem | None:
        row = await self.session.get(FeedItemRow, (self.tenant_id, feed_item_id))
        return None if row is None or row.customer_id != customer_id else _to_domain(row)

    async def valid_newest_first(self, customer_id: str, *, names: list[str], since: dt.datetime | None,
                                 until: dt.datetime | None, before: tuple[dt.datetime, str] | None,
                                 now: dt.datetime, limit: int) -> list[FeedItem]:
        query = select(FeedItemRow).where(
            FeedItemRow.tenant_id == self.tenant_id, FeedItemRow.customer_id == customer_id,
            FeedItemRow.expires_at > now,
            or_(FeedItemRow.last_interaction.is_(None), FeedItemRow.last_interaction != Interaction.DISMISSED.value))
        if names:
            query = query.where(FeedItemRow.insight_name.in_(names))
        if since is not None:
            query = query.where(FeedItemRow.created_at >= since)
        if until is not None:
            query = query.where(FeedItemRow.created_at < until)
        rows = await self.session.scalars(keyset_page(
            query, [FeedItemRow.created_at, FeedItemRow.feed_item_id], before, limit, descending=True))
        return [_to_domain(r) for r in rows]

    async def record_interaction(self, feed_item_id: str, interaction: Interaction, subject: str,
                                 now: dt.datetime) -> None:
        self.session.add(FeedInteractionRow(tenant_id=self.tenant_id, feed_item_id=feed_item_id,
                                            interaction=interaction.value, subject=subject, created_at=now))
        await self.session.execute(update(FeedItemRow).where(
            FeedItemRow.tenant_id == self.tenant_id, FeedItemRow.feed_item_id == feed_item_id)
            .values(last_interaction=interaction.value))
