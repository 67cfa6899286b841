"""What makes events fire on their own: transaction alerts and insight notifications."""

from __future__ import annotations

from server.domain.engagement.entities import InsightNotification, TransactionAlert
from server.store.engagement_models import InsightNotificationRow, TransactionAlertRow
from server.store.engagement_policies import condition_from_json, condition_to_json
from server.store.repositories.engagement_base import IdKeyedRepository


class TransactionAlertsRepository(IdKeyedRepository):
    model = TransactionAlertRow
    id_column = "alert_id"

    async def page(self, after: str | None, limit: int) -> list[TransactionAlert]:
        return [_alert(r) for r in await self._page(after, limit)]

    async def all(self) -> list[TransactionAlert]:
        return [_alert(r) for r in await self._page(None, 100_000)]

    async def add(self, alert: TransactionAlert) -> None:
        self.session.add(TransactionAlertRow(tenant_id=self.tenant_id, alert_id=alert.alert_id,
                                             event_id=alert.event_id, condition=condition_to_json(alert.condition),
                                             created_at=alert.created_at))

    async def delete(self, alert_id: str) -> bool:
        return await self._delete(alert_id)


def _alert(row: TransactionAlertRow) -> TransactionAlert:
    return TransactionAlert(row.alert_id, row.event_id, condition_from_json(row.condition), row.created_at)


class InsightNotificationsRepository(IdKeyedRepository):
    model = InsightNotificationRow
    id_column = "notification_id"

    async def page(self, after: str | None, limit: int) -> list[InsightNotification]:
        return [_notification(r) for r in await self._page(after, limit)]

    async def for_insights(self, insight_names: set[str]) -> list[InsightNotification]:
        if not insight_names:
            return []
        return [_notification(r) for r in await self._page(
            None, 100_000, InsightNotificationRow.insight_name.in_(sorted(insight_names)))]

    async def add(self, notification: InsightNotification) -> None:
        self.session.add(InsightNotificationRow(
            tenant_id=self.tenant_id, notification_id=notification.notification_id,
            insight_name=notification.insight_name, event_id=notification.event_id,
            created_at=notification.created_at))

    async def delete(self, notification_id: str) -> bool:
        return await self._delete(notification_id)


def _notification(row: InsightNotificationRow) -> InsightNotification:
    return InsightNotification(row.notification_id, row.insight_name, row.event_id, row.created_at)
