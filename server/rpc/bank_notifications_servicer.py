"""engage.triggers.v1.BankNotificationsService: proto <-> domain translation only."""

from __future__ import annotations

import grpc

from engage.triggers.v1 import bank_notifications_service_pb2 as pb
from engage.triggers.v1 import bank_notifications_service_pb2_grpc
from server.domain import resource_names
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.pagination import instant_and_text_key, page_request
from server.domain.reasons import Reason
from server.domain.triggers.notifications import BankNotification, NotificationStatus
from server.rpc.context import current_caller
from server.rpc.convert import timestamp_to_proto
from server.services.triggers.notifications import DELIVERIES_LIST, NOTIFICATIONS_LIST, BankNotificationsService
from server.store.repositories.bank_notifications import StoredWebhook, WebhookDelivery

Context = grpc.aio.ServicerContext

BANK_NOTIFICATION = resource_names.ResourcePattern("bankNotifications/{bank_notification}", max_id_length=40)
WEBHOOK_DELIVERY = resource_names.ResourcePattern("webhookDeliveries/{webhook_delivery}", max_id_length=40)


def notification_to_proto(n: BankNotification) -> pb.BankNotification:
    return pb.BankNotification(
        name=BANK_NOTIFICATION.format(n.notification_id), rule_id=n.rule_id, rule_version=n.rule_version,
        firing_id=n.firing_id, customer=resource_names.CUSTOMER.format(n.customer_id),
        account=resource_names.ACCOUNT.format(n.account_id) if n.account_id else "", note=n.note,
        values=dict(n.values), status=pb.BankNotification.Status.Value(n.status.value), assignee=n.assignee,
        acknowledged_by=n.acknowledged_by, acknowledge_time=timestamp_to_proto(n.acknowledged_at),
        create_time=timestamp_to_proto(n.created_at))


def webhook_to_proto(webhook: StoredWebhook) -> pb.NotificationWebhook:
    return pb.NotificationWebhook(url=webhook.url, update_time=timestamp_to_proto(webhook.updated_at))


def delivery_to_proto(d: WebhookDelivery) -> pb.WebhookDelivery:
    return pb.WebhookDelivery(
        name=WEBHOOK_DELIVERY.format(d.delivery_id), bank_notification=BANK_NOTIFICATION.format(d.notification_id),
        url=d.url, status=pb.WebhookDelivery.Status.Value(d.status.value),
        attempts=[pb.WebhookAttempt(attempt=a.attempt, http_status=a.http_status or 0, error=a.error,
                                    attempt_time=timestamp_to_proto(a.attempted_at)) for a in d.attempts],
        next_attempt_time=timestamp_to_proto(d.next_attempt_at), create_time=timestamp_to_proto(d.created_at),
        deliver_time=timestamp_to_proto(d.delivered_at))


class BankNotificationsServicer(bank_notifications_service_pb2_grpc.BankNotificationsServiceServicer):
    def __init__(self, notifications: BankNotificationsService) -> None:
        self.notifications = notifications

    async def ListBankNotifications(self, request: pb.ListBankNotificationsRequest, context: Context
                                    ) -> pb.ListBankNotificationsResponse:
        status = None
        if request.status != pb.BankNotification.STATUS_UNSPECIFIED:
            if request.status not in pb.BankNotification.Status.values():
                raise InvalidArgument(Reason.BANK_NOTIFICATION_INVALID, f"status {request.status} is not one of "
                                      "NEW, ACKNOWLEDGED", violations=[FieldViolation("status", "NEW or ACKNOWLEDGED")])
            status = NotificationStatus(pb.BankNotification.Status.Name(request.status))
        page = await self.notifications.list_notifications(
            current_caller(), status,
            page_request(request.page_size, request.page_token, NOTIFICATIONS_LIST, instant_and_text_key))
        return pb.ListBankNotificationsResponse(bank_notifications=[notification_to_proto(n) for n in page.items],
                                                next_page_token=page.next_page_token)

    async def AcknowledgeBankNotification(self, request: pb.AcknowledgeBankNotificationRequest, context: Context
                                          ) -> pb.BankNotification:
        notification_id = BANK_NOTIFICATION.id(request.name, "name")
        return notification_to_proto(await self.notifications.acknowledge(current_caller(), notification_id))

    async def AssignBankNotification(self, request: pb.AssignBankNotificationRequest, context: Context
                                     ) -> pb.BankNotification:
        notification_id = BANK_NOTIFICATION.id(request.name, "name")
        return notification_to_proto(await self.notifications.assign(current_caller(), notification_id,
                                                                     request.assignee))

    async def SetNotificationWebhook(self, request: pb.SetNotificationWebhookRequest, context: Context
                                     ) -> pb.SetNotificationWebhookResponse:
        webhook, secret = await self.notifications.set_webhook(current_caller(), request.url, request.secret)
        return pb.SetNotificationWebhookResponse(
            webhook=None if webhook is None else webhook_to_proto(webhook), secret=secret)

    async def GetNotificationWebhook(self, request: pb.GetNotificationWebhookRequest, context: Context
                                     ) -> pb.NotificationWebhook:
        return webhook_to_proto(await self.notifications.get_webhook(current_caller()))

    async def ListWebhookDeliveries(self, request: pb.ListWebhookDeliveriesRequest, context: Context
                                    ) -> pb.ListWebhookDeliveriesResponse:
        notification_id = BANK_NOTIFICATION.id(request.bank_notification, "bank_notification") \
            if request.bank_notification else None
        page = await self.notifications.list_deliveries(
            current_caller(), notification_id,
            page_request(request.page_size, request.page_token, DELIVERIES_LIST, instant_and_text_key))
        return pb.ListWebhookDeliveriesResponse(webhook_deliveries=[delivery_to_proto(d) for d in page.items],
                                                next_page_token=page.next_page_token)
