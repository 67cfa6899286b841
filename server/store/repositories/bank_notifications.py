"""Bank notifications, the bank's webhook and its deliveries (server.store.notifications_models)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.triggers.notifications import BankNotification, NotificationStatus, WebhookDeliveryStatus
from server.store.db import json_text
from server.store.driver import dialect_of, rowcount
from server.store.keyset import keyset_page
from server.store.notifications_models import (
    BankNotificationRow,
    NotificationWebhookRow,
    WebhookAttemptRow,
    WebhookDeliveryRow,
)
from server.store.repositories.base import TenantRepository, storable

MAX_ERROR = 500

# PostgreSQL (add_all): the items in one statement of one text whatever their count, one array per column (the
# JSON as text): a statement per item, as the driver's executemany sends them, was planned and run one by one
# (a firing of a notifying rule makes one, some thousands over the triggers bench's stream).
_POSTGRES_ADD_NOTIFICATIONS = """
INSERT INTO bank_notifications (tenant_id, notification_id, rule_id, rule_version, firing_id, customer_id,
                                account_id, note, "values", status, assignee, acknowledged_by, acknowledged_at,
                                created_at)
SELECT $1, t.notification_id, t.rule_id, t.rule_version, t.firing_id, t.customer_id, t.account_id, t.note,
       t.note_values::json, t.status, t.assignee, t.acknowledged_by, t.acknowledged_at, t.created_at
FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
            $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::timestamptz[])
     AS t(notification_id, rule_id, rule_version, firing_id, customer_id, account_id, note, note_values, status,
          assignee, acknowledged_by, acknowledged_at, created_at)
"""


def _utc(at: dt.datetime | None) -> dt.datetime | None:
    return None if at is None else at.astimezone(dt.UTC)


@dataclass(frozen=True)
class StoredWebhook:
    url: str
    sealed_secret: bytes
    updated_at: dt.datetime


@dataclass(frozen=True)
class WebhookAttempt:
    attempt: int
    http_status: int | None
    error: str
    attempted_at: dt.datetime


@dataclass(frozen=True)
class WebhookDelivery:
    delivery_id: str
    notification_id: str
    url: str
    body: str
    attempts_made: int
    status: WebhookDeliveryStatus
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    attempts: tuple[WebhookAttempt, ...] = ()


def _notification(row: BankNotificationRow) -> BankNotification:
    return BankNotification(row.notification_id, row.rule_id, row.rule_version, row.firing_id, row.customer_id,
                            row.account_id, row.note, dict(row.values), NotificationStatus(row.status),
                            row.assignee, row.acknowledged_by, row.acknowledged_at, row.created_at)


def _delivery(row: WebhookDeliveryRow, attempts: tuple[WebhookAttempt, ...] = ()) -> WebhookDelivery:
    return WebhookDelivery(row.delivery_id, row.notification_id, row.url, row.body, row.attempt,
                           WebhookDeliveryStatus(row.status), row.next_attempt_at, row.created_at, row.delivered_at,
                           attempts)


class BankNotificationsRepository(TenantRepository):
    # -- the inbox -----------------------------------------------------------------------------------

    async def add_all(self, notifications: Sequence[BankNotification]) -> None:
        """As rows of one cached INSERT, not ORM objects: written with a firing's banners, on their path."""
        if not notifications:
            return
        if dialect_of(self.session).name == "postgresql":
            connection = await self.session.connection()  # Core: no ORM bookkeeping
            await connection.exec_driver_sql(_POSTGRES_ADD_NOTIFICATIONS, (
                self.tenant_id, [n.notification_id for n in notifications], [n.rule_id for n in notifications],
                [n.rule_version for n in notifications], [n.firing_id for n in notifications],
                [n.customer_id for n in notifications], [n.account_id for n in notifications],
                [n.note for n in notifications], [json_text(dict(n.values)) for n in notifications],
                [n.status.value for n in notifications], [n.assignee for n in notifications],
                [n.acknowledged_by for n in notifications], [_utc(n.acknowledged_at) for n in notifications],
                [_utc(n.created_at) for n in notifications]))
            return
        await self.session.execute(insert(BankNotificationRow.__table__), [dict(
            tenant_id=self.tenant_id, notification_id=n.notification_id, rule_id=n.rule_id,
            rule_version=n.rule_version, firing_id=n.firing_id, customer_id=n.customer_id, account_id=n.account_id,
            note=n.note, values=dict(n.values), status=n.status.value, assignee=n.assignee,
            acknowledged_by=n.acknowledged_by, acknowledged_at=n.acknowledged_at, created_at=n.created_at)
            for n in notifications])

    async def get(self, notification_id: str) -> BankNotification | None:
        row = await self.session.get(BankNotificationRow, (self.tenant_id, notification_id))
        return None if row is None else _notification(row)

    async def save(self, notification: BankNotification) -> None:
        """Writes the item's status, assignee and acknowledgement."""
        await self.session.execute(
            update(BankNotificationRow)
            .where(BankNotificationRow.tenant_id == self.tenant_id,
                   BankNotificationRow.notification_id == notification.notification_id)
            .values(status=notification.status.value, assignee=notification.assignee,
                    acknowledged_by=notification.acknowledged_by, acknowledged_at=notification.acknowledged_at),
            execution_options={"synchronize_session": False})

    async def hold(self, notification_id: str) -> BankNotification | None:
        """The item, its row held until the transaction ends (one change at a time); None when there is none."""
        if not await self.hold_row(BankNotificationRow.notification_id, notification_id):
            return None
        return await self.get(notification_id)

    async def list_newest(self, status: NotificationStatus | None, after: tuple[dt.datetime, str] | None,
                          limit: int) -> list[BankNotification]:
        query = select(BankNotificationRow).where(BankNotificationRow.tenant_id == self.tenant_id)
        if status is not None:
            query = query.where(BankNotificationRow.status == status.value)
        rows = await self.session.scalars(keyset_page(
            query, [BankNotificationRow.created_at, BankNotificationRow.notification_id], after, limit,
            descending=True))
        return [_notification(r) for r in rows]

    # -- the webhook ---------------------------------------------------------------------------------

    async def webhook(self) -> StoredWebhook | None:
        row = await self.session.get(NotificationWebhookRow, self.tenant_id)
        return None if row is None else StoredWebhook(row.url, bytes(row.sealed_secret), row.updated_at)

    async def set_webhook(self, url: str, sealed_secret: bytes, now: dt.datetime) -> None:
        stmt = self.upsert(NotificationWebhookRow).values(tenant_id=self.tenant_id, url=url,
                                                          sealed_secret=sealed_secret, updated_at=now)
        await self.session.execute(stmt.on_conflict_do_update(
            index_elements=["tenant_id"], set_={"url": url, "sealed_secret": sealed_secret, "updated_at": now}))

    async def remove_webhook(self) -> None:
        await self.session.execute(delete(NotificationWebhookRow).where(
            NotificationWebhookRow.tenant_id == self.tenant_id))

    # -- deliveries ----------------------------------------------------------------------------------

    async def add_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> None:
        self.session.add_all([WebhookDeliveryRow(
            tenant_id=self.tenant_id, delivery_id=d.delivery_id, notification_id=d.notification_id, url=d.url,
            body=d.body, attempt=0, status=d.status.value, http_status=None, error="",
            next_attempt_at=d.next_attempt_at, leased_until=None, created_at=d.created_at, delivered_at=None)
            for d in deliveries])
        await self.session.flush()

    async def claim(self, delivery_id: str, now: dt.datetime, lease: dt.timedelta) -> WebhookDelivery | None:
        """The delivery when it is PENDING, due and not held by another worker, held until now + lease;
        None otherwise (done, not yet due, or being attempted)."""
        row = WebhookDeliveryRow
        result = await self.session.execute(
            update(row).where(
                row.tenant_id == self.tenant_id, row.delivery_id == delivery_id,
                row.status == WebhookDeliveryStatus.PENDING.value, row.next_attempt_at <= now,
                or_(row.leased_until.is_(None), row.leased_until <= now))
            .values(leased_until=now + lease), execution_options={"synchronize_session": False})
        if rowcount(result) != 1:
            return None
        found = await self.session.scalar(select(row).where(row.tenant_id == self.tenant_id,
                                                            row.delivery_id == delivery_id))
        return None if found is None else _delivery(found)

    async def record_attempt(self, delivery_id: str, attempt: int, http_status: int | None, error: str,
                             status: WebhookDeliveryStatus, next_attempt_at: dt.datetime | None,
                             now: dt.datetime) -> None:
        error = storable(error, MAX_ERROR)
        self.session.add(WebhookAttemptRow(tenant_id=self.tenant_id, delivery_id=delivery_id, attempt=attempt,
                                           http_status=http_status, error=error, attempted_at=now))
        await self.session.execute(
            update(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.tenant_id == self.tenant_id, WebhookDeliveryRow.delivery_id == delivery_id)
            .values(attempt=attempt, http_status=http_status, error=error, status=status.value,
                    next_attempt_at=next_attempt_at, leased_until=None,
                    delivered_at=now if status is WebhookDeliveryStatus.DELIVERED else None),
            execution_options={"synchronize_session": False})
        await self.session.flush()

    async def list_newest_deliveries(self, notification_id: str | None, after: tuple[dt.datetime, str] | None,
                                     limit: int) -> list[WebhookDelivery]:
        query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.tenant_id == self.tenant_id)
        if notification_id is not None:
            query = query.where(WebhookDeliveryRow.notification_id == notification_id)
        rows = list(await self.session.scalars(keyset_page(
            query, [WebhookDeliveryRow.created_at, WebhookDeliveryRow.delivery_id], after, limit, descending=True)))
        if not rows:
            return []
        attempts: dict[str, list[WebhookAttempt]] = {}
        found = await self.session.scalars(
            select(WebhookAttemptRow)
            .where(WebhookAttemptRow.tenant_id == self.tenant_id,
                   self.one_of(WebhookAttemptRow.delivery_id, [r.delivery_id for r in rows]))
            .order_by(WebhookAttemptRow.delivery_id, WebhookAttemptRow.attempt))
        for a in found:
            attempts.setdefault(a.delivery_id, []).append(
                WebhookAttempt(a.attempt, a.http_status, a.error, a.attempted_at))
        return [_delivery(r, tuple(attempts.get(r.delivery_id, ()))) for r in rows]


class WebhookDeliveriesSweep:
    """Across tenants, for the relay sweep: PENDING deliveries due for a while that no worker holds
    (their job was lost with Redis, or their worker died)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lost(self, now: dt.datetime, grace: dt.timedelta, limit: int) -> list[tuple[str, str, int]]:
        """(tenant, delivery, attempts made) of each lost delivery."""
        row = WebhookDeliveryRow
        found = await self.session.execute(
            select(row.tenant_id, row.delivery_id, row.attempt)
            .where(row.status == WebhookDeliveryStatus.PENDING.value, row.next_attempt_at <= now - grace,
                   or_(row.leased_until.is_(None), row.leased_until <= now))
            .order_by(row.next_attempt_at).limit(limit))
        return [(t, d, a) for t, d, a in found]
