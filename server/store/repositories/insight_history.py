"""Read-side query of the insight history view (server.domain.reporting.insight_history): the tenant's
feed items in time order with their interactions, one keyset page at a time. Core rows, no ORM objects:
an export reads millions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import ColumnElement, exists, func, select

from server.domain.goals.reports import Period
from server.domain.reporting.insight_history import InsightHistoryFilter, InsightHistoryLine, InteractionLine
from server.store.keyset import keyset_page
from server.store.models import FeedInteractionRow, FeedItemRow
from server.store.repositories.base import TenantRepository, within

_ITEM_COLUMNS = (FeedItemRow.customer_id, FeedItemRow.feed_item_id, FeedItemRow.insight_name, FeedItemRow.origin,
                 FeedItemRow.period, FeedItemRow.created_at, FeedItemRow.expires_at)


class InsightHistoryRepository(TenantRepository):
    async def page(self, wanted: InsightHistoryFilter, created: Period, after: tuple[dt.datetime, str] | None,
                   limit: int) -> list[InsightHistoryLine]:
        """By creation time (the item id breaks a tie), oldest or newest first; two queries a page."""
        query = select(*_ITEM_COLUMNS).where(*self._wanted(wanted, created))
        connection = await self.session.connection()  # Core rows: no ORM result machinery
        rows = (await connection.execute(keyset_page(
            query, [FeedItemRow.created_at, FeedItemRow.feed_item_id], after, limit,
            descending=wanted.newest_first))).all()
        interactions = await self._interactions([row.feed_item_id for row in rows])
        return [InsightHistoryLine(
            customer_id=row.customer_id, feed_item_id=row.feed_item_id, insight_name=row.insight_name,
            origin=row.origin or "", period=row.period, created_at=row.created_at, expires_at=row.expires_at,
            interactions=tuple(interactions.get(row.feed_item_id, ()))) for row in rows]

    async def count(self, wanted: InsightHistoryFilter, created: Period) -> int:
        """The items `page` reads with these filters: one COUNT over the tenant-and-time index (an interaction
        asked for adds a semi-join on the interactions' item index), for an export's progress."""
        return int(await self.session.scalar(
            select(func.count()).select_from(FeedItemRow).where(*self._wanted(wanted, created))) or 0)

    def _wanted(self, wanted: InsightHistoryFilter, created: Period) -> list[ColumnElement[bool]]:
        """The filters as conditions on the feed items: one set for the pages and their count."""
        conditions = [FeedItemRow.tenant_id == self.tenant_id, *within(FeedItemRow.created_at, created)]
        if wanted.customer_id:
            conditions.append(FeedItemRow.customer_id == wanted.customer_id)
        if wanted.insight_name:
            conditions.append(FeedItemRow.insight_name == wanted.insight_name)
        if wanted.origin:
            conditions.append(FeedItemRow.origin == wanted.origin)
        if wanted.interaction:
            conditions.append(exists().where(
                FeedInteractionRow.tenant_id == self.tenant_id,
                FeedInteractionRow.feed_item_id == FeedItemRow.feed_item_id,
                FeedInteractionRow.interaction == wanted.interaction))
        return conditions

    async def _interactions(self, feed_item_ids: list[str]) -> dict[str, list[InteractionLine]]:
        """Each item's interactions, oldest first (their numbering breaks a tie)."""
        if not feed_item_ids:
            return {}
        connection = await self.session.connection()
        rows = await connection.execute(
            select(FeedInteractionRow.feed_item_id, FeedInteractionRow.interaction, FeedInteractionRow.created_at)
            .where(FeedInteractionRow.tenant_id == self.tenant_id,
                   self.one_of(FeedInteractionRow.feed_item_id, feed_item_ids))
            .order_by(FeedInteractionRow.created_at, FeedInteractionRow.interaction_id))
        found: dict[str, list[InteractionLine]] = defaultdict(list)
        for feed_item_id, interaction, at in rows:
            found[feed_item_id].append(InteractionLine(interaction, at))
        return found
