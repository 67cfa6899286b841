"""engage.engagement.v1.EngagementService: translation between the wire and the engagement use cases."""

from __future__ import annotations

import grpc

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.engagement.v1 import engagement_service_pb2_grpc as pb_grpc
from server.domain import resource_names
from server.domain.pagination import page_request
from server.rpc import engagement_convert as conv
from server.rpc.context import current_caller
from server.rpc.convert import timestamp_to_proto, update_mask_paths
from server.rpc.payment_alerts_convert import payment_alert_kind_from_proto, payment_alert_to_proto
from server.services.campaigns import CampaignService
from server.services.engagement import EngagementService, TriggerRequest
from server.services.engagement_setup import EngagementSetupService
from server.services.otp import OtpService
from server.services.payment_alerts import PaymentAlertsService

Context = grpc.aio.ServicerContext


class EngagementServicer(pb_grpc.EngagementServiceServicer):
    def __init__(self, setup: EngagementSetupService, engagement: EngagementService, campaigns: CampaignService,
                 otp: OtpService, payment_alerts: PaymentAlertsService) -> None:
        self._setup = setup
        self._engagement = engagement
        self._campaigns = campaigns
        self._otp = otp
        self._payment_alerts = payment_alerts

    # -- apps -----------------------------------------------------------------------------------

    async def CreateApp(self, request: pb.CreateAppRequest, context: Context) -> pb.App:
        app = request.app
        return conv.app_to_proto(await self._setup.create_app(
            current_caller(), app.display_name, app.category, conv.platform_names(list(app.platforms))))

    async def GetApp(self, request: pb.GetAppRequest, context: Context) -> pb.App:
        return conv.app_to_proto(await self._setup.get_app(current_caller(), conv.resource_id(request.name, "apps",
                                                                                              "name")))

    async def ListApps(self, request: pb.ListAppsRequest, context: Context) -> pb.ListAppsResponse:
        page = await self._setup.list_apps(current_caller(), page_request(request.page_size, request.page_token,
                                                                          "apps"))
        return pb.ListAppsResponse(apps=[conv.app_to_proto(a) for a in page.items],
                                   next_page_token=page.next_page_token)

    async def UpdateApp(self, request: pb.UpdateAppRequest, context: Context) -> pb.App:
        paths = set(update_mask_paths(request.update_mask, {"display_name", "category", "platforms"}))
        values = {"display_name": request.app.display_name, "category": request.app.category,
                  "platforms": conv.platform_names(list(request.app.platforms))}
        return conv.app_to_proto(await self._setup.update_app(
            current_caller(), conv.resource_id(request.app.name, "apps", "app.name"),
            {k: v for k, v in values.items() if k in paths}))

    async def PublishApp(self, request: pb.PublishAppRequest, context: Context) -> pb.App:
        return conv.app_to_proto(await self._setup.publish_app(
            current_caller(), conv.resource_id(request.name, "apps", "name")))

    # -- event types, contacts ------------------------------------------------------------------

    async def CreateEventType(self, request: pb.CreateEventTypeRequest, context: Context) -> pb.EventType:
        kind = request.event_type
        return conv.event_type_to_proto(await self._setup.create_event_type(
            current_caller(), kind.display_name, kind.description,
            conv.fallback_policy_from_proto(kind.fallback_policy, "event_type.fallback_policy")))

    async def UpdateEventType(self, request: pb.UpdateEventTypeRequest, context: Context) -> pb.EventType:
        paths = set(update_mask_paths(request.update_mask, {"display_name", "description", "fallback_policy"}))
        kind = request.event_type
        changes: dict[str, object] = {}
        if "display_name" in paths:
            changes["display_name"] = kind.display_name
        if "description" in paths:
            changes["description"] = kind.description
        if "fallback_policy" in paths:
            changes["fallback"] = conv.fallback_policy_from_proto(kind.fallback_policy, "event_type.fallback_policy")
        return conv.event_type_to_proto(await self._setup.update_event_type(
            current_caller(), conv.resource_id(kind.name, "eventTypes", "event_type.name"), changes))

    async def ListEventTypes(self, request: pb.ListEventTypesRequest, context: Context) -> pb.ListEventTypesResponse:
        page = await self._setup.list_event_types(current_caller(), page_request(request.page_size,
                                                                                 request.page_token, "eventTypes"))
        return pb.ListEventTypesResponse(event_types=[conv.event_type_to_proto(e) for e in page.items],
                                         next_page_token=page.next_page_token)

    async def UpsertContact(self, request: pb.UpsertContactRequest, context: Context) -> pb.Contact:
        return conv.contact_to_proto(await self._setup.upsert_contact(current_caller(),
                                                                      conv.contact_from_proto(request.contact)))

    async def GetContact(self, request: pb.GetContactRequest, context: Context) -> pb.Contact:
        return conv.contact_to_proto(await self._setup.get_contact(current_caller(), request.customer_id))

    # -- channel configurations -----------------------------------------------------------------

    async def CreateChannelConfig(self, request: pb.CreateChannelConfigRequest, context: Context) -> pb.ChannelConfig:
        config = request.channel_config
        channel = conv.channel_from_proto(config.channel, "channel_config.channel")
        return conv.channel_config_to_proto(await self._setup.create_channel_config(
            current_caller(), config.display_name, str(channel), config.provider, dict(config.settings),
            dict(config.secrets), config.rate_limit_per_second,
            conv.resource_id(config.app, "apps", "channel_config.app", required=False), conv.message_cost(config)))

    async def GetChannelConfig(self, request: pb.GetChannelConfigRequest, context: Context) -> pb.ChannelConfig:
        return conv.channel_config_to_proto(await self._setup.get_channel_config(
            current_caller(), conv.resource_id(request.name, "channelConfigs", "name")))

    async def ListChannelConfigs(self, request: pb.ListChannelConfigsRequest, context: Context
                                 ) -> pb.ListChannelConfigsResponse:
        page = await self._setup.list_channel_configs(
            current_caller(), page_request(request.page_size, request.page_token, "channelConfigs"))
        return pb.ListChannelConfigsResponse(channel_configs=[conv.channel_config_to_proto(c) for c in page.items],
                                             next_page_token=page.next_page_token)

    async def UpdateChannelConfig(self, request: pb.UpdateChannelConfigRequest, context: Context) -> pb.ChannelConfig:
        paths = set(update_mask_paths(request.update_mask, {"display_name", "settings", "secrets",
                                                        "rate_limit_per_second", "app", "cost_per_message"}))
        config = request.channel_config
        values: dict[str, object] = {
            "display_name": config.display_name, "settings": dict(config.settings), "secrets": dict(config.secrets),
            "rate_limit_per_second": config.rate_limit_per_second}
        if "cost_per_message" in paths:  # unset in the request: no cost any more
            values["cost_per_message"] = conv.message_cost(config)
        if "app" in paths:
            values["app_id"] = conv.resource_id(config.app, "apps", "channel_config.app", required=False)
            paths.add("app_id")
        return conv.channel_config_to_proto(await self._setup.update_channel_config(
            current_caller(), conv.resource_id(config.name, "channelConfigs", "channel_config.name"),
            {k: v for k, v in values.items() if k in paths}))

    # -- templates ------------------------------------------------------------------------------

    async def CreateTemplate(self, request: pb.CreateTemplateRequest, context: Context) -> pb.Template:
        template = request.template
        channel = conv.channel_from_proto(template.channel, "template.channel")
        assert channel is not None
        content = conv.content_from_proto(template.content, channel, "template.content")
        return conv.template_to_proto(await self._setup.create_template(
            current_caller(), template.display_name, str(channel), content,
            conv.variants_from_proto(template.variants, channel, "template.variants")))

    async def GetTemplate(self, request: pb.GetTemplateRequest, context: Context) -> pb.Template:
        return conv.template_to_proto(await self._setup.get_template(
            current_caller(), conv.resource_id(request.name, "templates", "name")))

    async def ListTemplates(self, request: pb.ListTemplatesRequest, context: Context) -> pb.ListTemplatesResponse:
        channel = conv.channel_from_proto(request.channel, "channel", allow_unspecified=True)
        page = await self._setup.list_templates(current_caller(), str(channel) if channel else None,
                                                page_request(request.page_size, request.page_token, "templates"))
        return pb.ListTemplatesResponse(templates=[conv.template_to_proto(t) for t in page.items],
                                        next_page_token=page.next_page_token)

    async def UpdateTemplate(self, request: pb.UpdateTemplateRequest, context: Context) -> pb.Template:
        paths = set(update_mask_paths(request.update_mask, {"display_name", "content", "variants"}))
        caller = current_caller()
        template_id = conv.resource_id(request.template.name, "templates", "template.name")
        changes: dict[str, object] = {}
        if "display_name" in paths:
            changes["display_name"] = request.template.display_name
        if "content" in paths or "variants" in paths:
            existing = await self._setup.get_template(caller, template_id)
            if "content" in paths:
                changes["content"] = conv.content_from_proto(request.template.content, existing.channel,
                                                             "template.content")
            if "variants" in paths:
                changes["variants"] = conv.variants_from_proto(request.template.variants, existing.channel,
                                                               "template.variants")
        return conv.template_to_proto(await self._setup.update_template(caller, template_id, changes))

    # -- events ---------------------------------------------------------------------------------

    async def CreateEvent(self, request: pb.CreateEventRequest, context: Context) -> pb.Event:
        event = request.event
        return conv.event_to_proto(await self._setup.create_event(
            current_caller(), event.display_name, event.description,
            conv.resource_id(event.event_type, "eventTypes", "event.event_type"),
            conv.resource_id(event.app, "apps", "event.app"), _message_class(event.message_class),
            conv.event_messages_from_proto(list(event.messages))))

    async def GetEvent(self, request: pb.GetEventRequest, context: Context) -> pb.Event:
        return conv.event_to_proto(await self._setup.get_event(current_caller(),
                                                               conv.resource_id(request.name, "events", "name")))

    async def ListEvents(self, request: pb.ListEventsRequest, context: Context) -> pb.ListEventsResponse:
        page = await self._setup.list_events(current_caller(), page_request(request.page_size, request.page_token,
                                                                            "events"))
        return pb.ListEventsResponse(events=[conv.event_to_proto(e) for e in page.items],
                                     next_page_token=page.next_page_token)

    async def UpdateEvent(self, request: pb.UpdateEventRequest, context: Context) -> pb.Event:
        paths = set(update_mask_paths(request.update_mask, {"display_name", "description", "event_type",
                                                        "message_class", "messages"}))
        event = request.event
        changes: dict[str, object] = {}
        if "display_name" in paths:
            changes["display_name"] = event.display_name
        if "description" in paths:
            changes["description"] = event.description
        if "event_type" in paths:
            changes["event_type_id"] = conv.resource_id(event.event_type, "eventTypes", "event.event_type")
        if "message_class" in paths:
            changes["message_class"] = _message_class(event.message_class)
        if "messages" in paths:
            changes["messages"] = conv.event_messages_from_proto(list(event.messages))
        return conv.event_to_proto(await self._setup.update_event(
            current_caller(), conv.resource_id(event.name, "events", "event.name"), changes))

    async def TriggerEvent(self, request: pb.TriggerEventRequest, context: Context) -> pb.TriggerEventResponse:
        deliveries = await self._engagement.trigger_event(
            current_caller(), conv.resource_id(request.event, "events", "event"), request.customer_id,
            dict(request.data), request.request_id)
        return pb.TriggerEventResponse(deliveries=[conv.delivery_to_proto(d) for d in deliveries])

    async def BatchTriggerEvents(self, request: pb.BatchTriggerEventsRequest, context: Context
                                 ) -> pb.BatchTriggerEventsResponse:
        requests = [TriggerRequest(conv.resource_id(r.event, "events", f"requests[{i}].event"), r.customer_id,
                                   dict(r.data), r.request_id) for i, r in enumerate(request.requests)]
        answered = await self._engagement.trigger_events(current_caller(), requests)
        return pb.BatchTriggerEventsResponse(responses=[
            pb.TriggerEventResponse(deliveries=[conv.delivery_to_proto(d) for d in deliveries])
            for deliveries in answered])

    # -- alerts and notifications ---------------------------------------------------------------

    async def CreateTransactionAlert(self, request: pb.CreateTransactionAlertRequest, context: Context
                                     ) -> pb.TransactionAlert:
        alert = request.transaction_alert
        return conv.alert_to_proto(await self._setup.create_transaction_alert(
            current_caller(), conv.resource_id(alert.event, "events", "transaction_alert.event"),
            conv.alert_condition_from_proto(alert)))

    async def ListTransactionAlerts(self, request: pb.ListTransactionAlertsRequest, context: Context
                                    ) -> pb.ListTransactionAlertsResponse:
        page = await self._setup.list_transaction_alerts(
            current_caller(), page_request(request.page_size, request.page_token, "transactionAlerts"))
        return pb.ListTransactionAlertsResponse(transaction_alerts=[conv.alert_to_proto(a) for a in page.items],
                                                next_page_token=page.next_page_token)

    async def DeleteTransactionAlert(self, request: pb.DeleteTransactionAlertRequest, context: Context
                                     ) -> pb.DeleteResponse:
        await self._setup.delete_transaction_alert(current_caller(), conv.resource_id(request.name,
                                                                                      "transactionAlerts", "name"))
        return pb.DeleteResponse()

    async def SendBalance(self, request: pb.SendBalanceRequest, context: Context) -> pb.SendBalanceResponse:
        deliveries = await self._engagement.send_balance(
            current_caller(), resource_names.ACCOUNT.id(request.account, "account"),
            conv.resource_id(request.event, "events", "event"), request.request_id)
        return pb.SendBalanceResponse(deliveries=[conv.delivery_to_proto(d) for d in deliveries])

    async def CreatePaymentAlert(self, request: pb.CreatePaymentAlertRequest, context: Context) -> pb.PaymentAlert:
        alert = request.payment_alert
        return payment_alert_to_proto(await self._payment_alerts.create(
            current_caller(), conv.resource_id(alert.event, "events", "payment_alert.event"),
            payment_alert_kind_from_proto(alert.kind), alert.days_before_due))

    async def ListPaymentAlerts(self, request: pb.ListPaymentAlertsRequest, context: Context
                                ) -> pb.ListPaymentAlertsResponse:
        page = await self._payment_alerts.list(
            current_caller(), page_request(request.page_size, request.page_token, "paymentAlerts"))
        return pb.ListPaymentAlertsResponse(payment_alerts=[payment_alert_to_proto(a) for a in page.items],
                                            next_page_token=page.next_page_token)

    async def DeletePaymentAlert(self, request: pb.DeletePaymentAlertRequest, context: Context) -> pb.DeleteResponse:
        await self._payment_alerts.delete(current_caller(), conv.resource_id(request.name, "paymentAlerts", "name"))
        return pb.DeleteResponse()

    async def CreateInsightNotification(self, request: pb.CreateInsightNotificationRequest, context: Context
                                        ) -> pb.InsightNotification:
        notification = request.insight_notification
        return conv.insight_notification_to_proto(await self._setup.create_insight_notification(
            current_caller(), notification.insight_name,
            conv.resource_id(notification.event, "events", "insight_notification.event")))

    async def ListInsightNotifications(self, request: pb.ListInsightNotificationsRequest, context: Context
                                       ) -> pb.ListInsightNotificationsResponse:
        page = await self._setup.list_insight_notifications(
            current_caller(), page_request(request.page_size, request.page_token, "insightNotifications"))
        return pb.ListInsightNotificationsResponse(
            insight_notifications=[conv.insight_notification_to_proto(n) for n in page.items],
            next_page_token=page.next_page_token)

    async def DeleteInsightNotification(self, request: pb.DeleteInsightNotificationRequest, context: Context
                                        ) -> pb.DeleteResponse:
        await self._setup.delete_insight_notification(
            current_caller(), conv.resource_id(request.name, "insightNotifications", "name"))
        return pb.DeleteResponse()

    # -- campaigns ------------------------------------------------------------------------------

    async def CreateCampaign(self, request: pb.CreateCampaignRequest, context: Context) -> pb.Campaign:
        campaign = request.campaign
        return conv.campaign_to_proto(await self._campaigns.create(
            current_caller(), campaign.display_name, conv.resource_id(campaign.event, "events", "campaign.event"),
            conv.audience_from_proto(campaign.audience),
            conv.optional_timestamp(campaign, "send_time", "campaign.send_time"),
            campaign.is_offer))

    async def GetCampaign(self, request: pb.GetCampaignRequest, context: Context) -> pb.Campaign:
        return conv.campaign_to_proto(await self._campaigns.get(current_caller(),
                                                                conv.resource_id(request.name, "campaigns", "name")))

    async def ListCampaigns(self, request: pb.ListCampaignsRequest, context: Context) -> pb.ListCampaignsResponse:
        page = await self._campaigns.list(current_caller(), page_request(request.page_size, request.page_token,
                                                                         "campaigns"))
        return pb.ListCampaignsResponse(campaigns=[conv.campaign_to_proto(c) for c in page.items],
                                        next_page_token=page.next_page_token)

    async def ApproveCampaign(self, request: pb.ApproveCampaignRequest, context: Context) -> pb.Campaign:
        return conv.campaign_to_proto(await self._campaigns.approve(
            current_caller(), conv.resource_id(request.name, "campaigns", "name")))

    async def RejectCampaign(self, request: pb.RejectCampaignRequest, context: Context) -> pb.Campaign:
        return conv.campaign_to_proto(await self._campaigns.reject(
            current_caller(), conv.resource_id(request.name, "campaigns", "name"), request.reason))

    async def CancelCampaign(self, request: pb.CancelCampaignRequest, context: Context) -> pb.Campaign:
        return conv.campaign_to_proto(await self._campaigns.cancel(
            current_caller(), conv.resource_id(request.name, "campaigns", "name")))

    # -- one-time passwords ---------------------------------------------------------------------

    async def SendOtp(self, request: pb.SendOtpRequest, context: Context) -> pb.SendOtpResponse:
        channel = conv.channel_from_proto(request.channel, "channel", allow_unspecified=True)
        sent = await self._otp.send(current_caller(), request.customer_id, request.purpose, channel)
        return pb.SendOtpResponse(name=f"otps/{sent.otp_id}", expire_time=timestamp_to_proto(sent.expires_at),
                                  channel=conv.channel_to_proto(sent.channel),
                                  delivery=conv.delivery_to_proto(sent.delivery))

    async def VerifyOtp(self, request: pb.VerifyOtpRequest, context: Context) -> pb.VerifyOtpResponse:
        return pb.VerifyOtpResponse(verified=await self._otp.verify(
            current_caller(), conv.resource_id(request.name, "otps", "name"), request.code))

    # -- deliveries -----------------------------------------------------------------------------

    async def GetDelivery(self, request: pb.GetDeliveryRequest, context: Context) -> pb.Delivery:
        return conv.delivery_to_proto(await self._engagement.get_delivery(
            current_caller(), conv.resource_id(request.name, "deliveries", "name")))

    async def ListDeliveries(self, request: pb.ListDeliveriesRequest, context: Context) -> pb.ListDeliveriesResponse:
        page = await self._engagement.list_deliveries(
            current_caller(), conv.delivery_state_from_proto(request.state), request.customer_id,
            conv.resource_id(request.event, "events", "event", required=False),
            conv.resource_id(request.campaign, "campaigns", "campaign", required=False),
            page_request(request.page_size, request.page_token, "deliveries"))
        return pb.ListDeliveriesResponse(deliveries=[conv.delivery_to_proto(d) for d in page.items],
                                         next_page_token=page.next_page_token)

    async def RetryDeliveries(self, request: pb.RetryDeliveriesRequest, context: Context
                              ) -> pb.RetryDeliveriesResponse:
        ids = [conv.resource_id(n, "deliveries", f"names[{i}]") for i, n in enumerate(request.names)]
        return pb.RetryDeliveriesResponse(requeued=await self._engagement.retry_deliveries(current_caller(), ids))

    # -- Wallet passes --------------------------------------------------------------------------

    async def ListWalletPasses(self, request: pb.ListWalletPassesRequest, context: Context
                               ) -> pb.ListWalletPassesResponse:
        page = await self._setup.list_wallet_passes(
            current_caller(), request.customer_id, page_request(request.page_size, request.page_token, "walletPasses"))
        return pb.ListWalletPassesResponse(wallet_passes=[conv.wallet_pass_to_proto(p) for p in page.items],
                                           next_page_token=page.next_page_token)


def _message_class(number: pb.MessageClass.ValueType) -> str:
    name = conv.message_class_name(number)
    return "" if name == "UNSPECIFIED" else name
