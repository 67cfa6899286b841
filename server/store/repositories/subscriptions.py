from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from server.domain.insights.definition import SubscriptionSettings
from server.domain.insights.settings_json import settings_from_json, settings_to_json
from server.domain.subscriptions.levels import BANK_LEVEL
from server.store.keyset import keyset_page
from server.store.models import SubscriptionChangeRow, SubscriptionSettingsRow
from server.store.repositories.base import TenantRepository


class SubscriptionsRepository(TenantRepository):
    async def settings_of(self, customer_ids: list[str], insight_names: list[str]
                          ) -> dict[tuple[str, str], SubscriptionSettings]:
        """(customer id or BANK_LEVEL, insight) -> settings, for the levels that set anything."""
        if not customer_ids or not insight_names:
            return {}
        rows = await self.session.scalars(select(SubscriptionSettingsRow).where(
            SubscriptionSettingsRow.tenant_id == self.tenant_id,
            self.one_of(SubscriptionSettingsRow.customer_id, customer_ids),
            SubscriptionSettingsRow.insight_name.in_(insight_names)))
        return {(r.customer_id, r.insight_name): settings_from_json(r.settings) for r in rows}

    async def settings_in_range(self, first: str, last: str, insight_names: list[str]
                                ) -> dict[tuple[str, str], SubscriptionSettings]:
        """The user overrides of every customer with an id in first..last (a batch chunk)."""
        rows = await self.session.scalars(select(SubscriptionSettingsRow).where(
            SubscriptionSettingsRow.tenant_id == self.tenant_id,
            SubscriptionSettingsRow.customer_id >= first, SubscriptionSettingsRow.customer_id <= last,
            SubscriptionSettingsRow.customer_id != BANK_LEVEL,
            SubscriptionSettingsRow.insight_name.in_(insight_names)))
        return {(r.customer_id, r.insight_name): settings_from_json(r.settings) for r in rows}

    async def save(self, customer_id: str, insight_name: str, settings: SubscriptionSettings,
                   now: dt.datetime) -> None:
        stmt = self.upsert(SubscriptionSettingsRow)
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "customer_id", "insight_name"],
                                          set_={"settings": stmt.excluded.settings,
                                                "updated_at": stmt.excluded.updated_at})
        await self.session.execute(stmt, [{"tenant_id": self.tenant_id, "customer_id": customer_id,
                                           "insight_name": insight_name, "settings": settings_to_json(settings),
                                           "updated_at": now}])

    async def record_change(self, customer_id: str, insight_name: str, changed_by: str, role: str,
                            before: SubscriptionSettings, after: SubscriptionSettings, now: dt.datetime) -> None:
        self.session.add(SubscriptionChangeRow(
            tenant_id=self.tenant_id, customer_id=customer_id, insight_name=insight_name, changed_by=changed_by,
            changed_by_role=role, changed_at=now, before=settings_to_json(before), after=settings_to_json(after)))

    async def changes(self, customer_id: str | None, before_id: int | None, limit: int) -> list[dict[str, Any]]:
        query = select(SubscriptionChangeRow).where(SubscriptionChangeRow.tenant_id == self.tenant_id)
        if customer_id is not None:
            query = query.where(SubscriptionChangeRow.customer_id == customer_id)
        rows = await self.session.scalars(keyset_page(
            query, [SubscriptionChangeRow.change_id], None if before_id is None else (before_id,), limit,
            descending=True))
        return [{"change_id": r.change_id, "customer_id": r.customer_id, "insight_name": r.insight_name,
                 "changed_by": r.changed_by, "changed_by_role": r.changed_by_role, "changed_at": r.changed_at,
                 "before": r.before, "after": r.after} for r in rows]
