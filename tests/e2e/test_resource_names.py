"""Every RPC that takes a resource name (`name`, `parent` or a reference to another resource) refuses a
malformed one the same way: INVALID_ARGUMENT, reason RESOURCE_NAME_INVALID, the field at fault named in
the BadRequest violation."""

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from engage.engagement.v1 import engagement_service_pb2 as eng
from engage.ingest.v1 import ingest_service_pb2 as ing
from engage.insights.v1 import insights_service_pb2 as ins
from server.domain.auth import Role
from tests.support.builders import failure

# Malformed for every pattern (engagement's bare ids included): a foreign collection, a lone slash,
# too many segments, an id longer than any store column, a control character.
MALFORMED = ["nope/a/b", "/", "a/b/c/d/e/f", "x" * 70, "a\tb"]


def _mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


# (service, method, request built around the bad name, the field the violation names)
CASES: list[tuple[str, str, Callable[[str], Any], str]] = [
    ("ingest", "GetCustomer", lambda n: ing.GetCustomerRequest(name=n), "name"),
    ("ingest", "GetAccount", lambda n: ing.GetAccountRequest(name=n), "name"),
    ("ingest", "ListTransactions", lambda n: ing.ListTransactionsRequest(parent=n), "parent"),
    ("ingest", "ListBalances", lambda n: ing.ListBalancesRequest(parent=n), "parent"),
    ("insights", "RecordInteraction",
     lambda n: ins.RecordInteractionRequest(feed_item=n, type=ins.INTERACTION_TYPE_VIEWED), "feed_item"),
    ("insights", "GetInsightBatch", lambda n: ins.GetInsightBatchRequest(name=n), "name"),
    ("engagement", "GetApp", lambda n: eng.GetAppRequest(name=n), "name"),
    ("engagement", "UpdateApp",
     lambda n: eng.UpdateAppRequest(app=eng.App(name=n), update_mask=_mask("display_name")), "app.name"),
    ("engagement", "PublishApp", lambda n: eng.PublishAppRequest(name=n), "name"),
    ("engagement", "UpsertContact",
     lambda n: eng.UpsertContactRequest(contact=eng.Contact(customer_id="c1", devices=[
         eng.Device(app=n, platform=eng.PLATFORM_ANDROID, push_token="t")])), "contact.devices[0].app"),
    ("engagement", "UpsertContact",
     lambda n: eng.UpsertContactRequest(contact=eng.Contact(customer_id="c1", preferences=eng.Preferences(
         opted_out_event_types=["eventTypes/ok", n]))), "contact.preferences.opted_out_event_types[1]"),
    ("engagement", "GetChannelConfig", lambda n: eng.GetChannelConfigRequest(name=n), "name"),
    ("engagement", "UpdateChannelConfig",
     lambda n: eng.UpdateChannelConfigRequest(channel_config=eng.ChannelConfig(name=n),
                                              update_mask=_mask("display_name")), "channel_config.name"),
    ("engagement", "GetTemplate", lambda n: eng.GetTemplateRequest(name=n), "name"),
    ("engagement", "UpdateTemplate",
     lambda n: eng.UpdateTemplateRequest(template=eng.Template(name=n), update_mask=_mask("display_name")),
     "template.name"),
    ("engagement", "CreateEvent",
     lambda n: eng.CreateEventRequest(event=eng.Event(event_type=n, app="apps/a")), "event.event_type"),
    ("engagement", "CreateEvent",
     lambda n: eng.CreateEventRequest(event=eng.Event(event_type="eventTypes/t", app=n)), "event.app"),
    ("engagement", "CreateEvent",
     lambda n: eng.CreateEventRequest(event=eng.Event(
         event_type="eventTypes/t", app="apps/a", message_class=eng.MESSAGE_CLASS_REGULAR,
         messages=[eng.EventMessage(channel=eng.CHANNEL_EMAIL, template=n)])), "event.messages[0].template"),
    ("engagement", "GetEvent", lambda n: eng.GetEventRequest(name=n), "name"),
    ("engagement", "UpdateEvent",
     lambda n: eng.UpdateEventRequest(event=eng.Event(name=n), update_mask=_mask("display_name")), "event.name"),
    ("engagement", "TriggerEvent", lambda n: eng.TriggerEventRequest(event=n, customer_id="c1"), "event"),
    ("engagement", "BatchTriggerEvents",
     lambda n: eng.BatchTriggerEventsRequest(requests=[eng.TriggerEventRequest(event="events/e", customer_id="c1"),
                                                       eng.TriggerEventRequest(event=n, customer_id="c1")]),
     "requests[1].event"),
    ("engagement", "CreateTransactionAlert",
     lambda n: eng.CreateTransactionAlertRequest(transaction_alert=eng.TransactionAlert(event=n)),
     "transaction_alert.event"),
    ("engagement", "DeleteTransactionAlert", lambda n: eng.DeleteTransactionAlertRequest(name=n), "name"),
    ("engagement", "CreateInsightNotification",
     lambda n: eng.CreateInsightNotificationRequest(insight_notification=eng.InsightNotification(
         insight_name="LOW_BALANCE_WARNING", event=n)), "insight_notification.event"),
    ("engagement", "DeleteInsightNotification", lambda n: eng.DeleteInsightNotificationRequest(name=n), "name"),
    ("engagement", "CreateCampaign",
     lambda n: eng.CreateCampaignRequest(campaign=eng.Campaign(display_name="c", event=n)), "campaign.event"),
    ("engagement", "GetCampaign", lambda n: eng.GetCampaignRequest(name=n), "name"),
    ("engagement", "ApproveCampaign", lambda n: eng.ApproveCampaignRequest(name=n), "name"),
    ("engagement", "RejectCampaign", lambda n: eng.RejectCampaignRequest(name=n, reason="no"), "name"),
    ("engagement", "CancelCampaign", lambda n: eng.CancelCampaignRequest(name=n), "name"),
    ("engagement", "VerifyOtp", lambda n: eng.VerifyOtpRequest(name=n, code="123456"), "name"),
    ("engagement", "GetDelivery", lambda n: eng.GetDeliveryRequest(name=n), "name"),
    ("engagement", "ListDeliveries", lambda n: eng.ListDeliveriesRequest(event=n), "event"),
    ("engagement", "ListDeliveries", lambda n: eng.ListDeliveriesRequest(campaign=n), "campaign"),
    ("engagement", "RetryDeliveries",
     lambda n: eng.RetryDeliveriesRequest(names=["deliveries/d", n]), "names[1]"),
]


@pytest.mark.parametrize(("service", "method", "request_for", "field"), CASES,
                         ids=[f"{method}-{field}" for _, method, _, field in CASES])
async def test_a_malformed_name_is_refused_with_one_reason_and_the_field(server, tenant, service, method,
                                                                         request_for, field):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as stubs:
        call = getattr(getattr(stubs, service), method)
        for name in MALFORMED:
            assert await failure(call(request_for(name))) == \
                (grpc.StatusCode.INVALID_ARGUMENT, "RESOURCE_NAME_INVALID", [field]), name
