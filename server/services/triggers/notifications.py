"""Bank notifications (docs/triggers.md, "Bank notifications"): the inbox bank admins work through, the
webhook they configure, and `notify`, through which the trigger runtime creates items.

`notify` writes in the caller's unit of work (the firing, its banner and its notification commit
together): the inbox items, and for a tenant with a webhook one delivery row each, the outbox the
workers send from. After its commit the caller hands the deliveries to the queue (`hand_over`); when
Redis loses them, the relay sweep (server.services.triggers.webhooks) finds them in the database.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from server.domain.auth import Caller, Role
from server.domain.engagement.egress import EgressPolicy
from server.domain.errors import NotFound, not_found
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.reasons import Reason
from server.domain.triggers.notifications import (
    BankNotification,
    NewBankNotification,
    NotificationStatus,
    WebhookDeliveryStatus,
    acknowledged,
    assigned,
    check_secret,
    host_refusal,
    new_notification,
    parse_webhook_url,
    webhook_body,
)
from server.security.secret_box import SecretBox
from server.services.clock import Clock, utc_now
from server.services.events import WebhookQueue
from server.services.events import hand_over as hand_over_to_queue
from server.services.provider_hosts import resolve_addresses
from server.store.db import Database
from server.store.repositories.bank_notifications import StoredWebhook, WebhookDelivery
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

ADMINS = (Role.BANK_ADMIN,)
NOTIFICATIONS_LIST = "bank-notifications"
DELIVERIES_LIST = "webhook-deliveries"


@dataclass(frozen=True)
class Notified:
    """What `notify` wrote: the inbox items, and the webhook deliveries to hand to the queue once the
    caller committed."""

    tenant_id: str
    notifications: tuple[BankNotification, ...]
    delivery_ids: tuple[str, ...]


def _new_id() -> str:
    return uuid.uuid4().hex


class BankNotificationsService:
    def __init__(self, database: Database, box: SecretBox, queue: WebhookQueue, egress: EgressPolicy,
                 clock: Clock = utc_now, new_id: Callable[[], str] = _new_id) -> None:
        self._database = database
        self._box = box
        self._queue = queue
        self._egress = egress
        self._clock = clock
        self._new_id = new_id

    # -- for the trigger runtime ---------------------------------------------------------------------

    async def notify(self, uow: UnitOfWork, items: Sequence[NewBankNotification]) -> Notified:
        """Creates the inbox items (and webhook deliveries) in the caller's unit of work; the caller
        commits, then calls `hand_over(notified)`."""
        return await self.add(uow, self.new(items))

    def new(self, items: Sequence[NewBankNotification]) -> tuple[BankNotification, ...]:
        """The inbox items, their ids chosen, nothing written yet (`add` writes them)."""
        now = self._clock()
        return tuple(new_notification(self._new_id(), item, now) for item in items)

    async def add(self, uow: UnitOfWork, notifications: Sequence[BankNotification]) -> Notified:
        """Writes items made by `new` (and their webhook deliveries), as `notify` does."""
        if not notifications:
            return Notified(uow.tenant_id, (), ())
        await uow.bank_notifications.add_all(notifications)
        webhook = await uow.bank_notifications.webhook()
        deliveries: list[WebhookDelivery] = []
        if webhook is not None:
            now = self._clock()
            deliveries = [WebhookDelivery(self._new_id(), n.notification_id, webhook.url, webhook_body(n), 0,
                                          WebhookDeliveryStatus.PENDING, now, now, None) for n in notifications]
            await uow.bank_notifications.add_deliveries(deliveries)
        return Notified(uow.tenant_id, tuple(notifications), tuple(d.delivery_id for d in deliveries))

    async def hand_over(self, notified: Notified) -> None:
        """After the commit that wrote them: the deliveries to the queue; a failure is logged, not raised
        (the relay sweep sends them)."""
        if notified.delivery_ids:
            await hand_over_to_queue(
                self._queue.enqueue_webhook_deliveries(notified.tenant_id, list(notified.delivery_ids)),
                "webhook_deliveries_not_enqueued", tenant_id=notified.tenant_id, count=len(notified.delivery_ids))

    # -- the inbox -----------------------------------------------------------------------------------

    async def list_notifications(self, caller: Caller, status: NotificationStatus | None,
                                 page: PageRequest) -> Page[BankNotification]:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.bank_notifications.list_newest(status, _after(page.after), page.size + 1)
        return paginate(found, page, NOTIFICATIONS_LIST, lambda n: [n.created_at.isoformat(), n.notification_id])

    async def acknowledge(self, caller: Caller, notification_id: str) -> BankNotification:
        caller.require_role(*ADMINS)
        return await self._change(caller.tenant_id, notification_id,
                                  lambda n: acknowledged(n, caller.subject, self._clock()))

    async def assign(self, caller: Caller, notification_id: str, assignee: str) -> BankNotification:
        caller.require_role(*ADMINS)
        return await self._change(caller.tenant_id, notification_id, lambda n: assigned(n, assignee))

    async def _change(self, tenant_id: str, notification_id: str,
                      change: Callable[[BankNotification], BankNotification]) -> BankNotification:
        async with UnitOfWork(self._database, tenant_id) as uow:
            current = await uow.bank_notifications.hold(notification_id)
            if current is None:
                raise not_found("bank_notification", notification_id)
            changed = change(current)
            if changed != current:
                await uow.bank_notifications.save(changed)
                await uow.commit()
        return changed

    # -- the webhook ---------------------------------------------------------------------------------

    async def set_webhook(self, caller: Caller, url: str, secret: str) -> tuple[StoredWebhook | None, str]:
        """The webhook set (None when `url` is empty: removed) and the secret in effect ("" if removed)."""
        caller.require_role(*ADMINS)
        if not url:
            async with UnitOfWork(self._database, caller.tenant_id) as uow:
                await uow.bank_notifications.remove_webhook()
                await uow.commit()
            return None, ""
        target = parse_webhook_url(url)
        secret = check_secret(secret) if secret else secrets.token_urlsafe(32)
        addresses = await resolve_addresses(target.host)
        if addresses is None:
            log.warning("webhook_host_unresolved", host=target.host,
                        note="saved unchecked: the workers check the addresses they connect to")
        else:
            refused = host_refusal(self._egress, target, addresses)
            if refused is not None:
                raise refused
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await uow.bank_notifications.set_webhook(url, self._box.seal({"secret": secret}), now)
            await uow.commit()
        return StoredWebhook(url, b"", now), secret

    async def get_webhook(self, caller: Caller) -> StoredWebhook:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            webhook = await uow.bank_notifications.webhook()
        if webhook is None:
            raise NotFound(Reason.NOTIFICATION_WEBHOOK_NOT_FOUND, "the bank set no notification webhook")
        return StoredWebhook(webhook.url, b"", webhook.updated_at)  # never the (sealed) secret

    async def list_deliveries(self, caller: Caller, notification_id: str | None,
                              page: PageRequest) -> Page[WebhookDelivery]:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if notification_id is not None and await uow.bank_notifications.get(notification_id) is None:
                raise not_found("bank_notification", notification_id)
            found = await uow.bank_notifications.list_newest_deliveries(notification_id, _after(page.after),
                                                                       page.size + 1)
        return paginate(found, page, DELIVERIES_LIST, lambda d: [d.created_at.isoformat(), d.delivery_id])


def _after(key: Any) -> tuple[dt.datetime, str] | None:
    """A page token's key ([instant, id], checked by pagination.instant_and_text_key) as the keyset's."""
    return None if key is None else (dt.datetime.fromisoformat(key[0]), key[1])
