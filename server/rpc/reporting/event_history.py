"""ReportingService.ListEventHistory: proto <-> domain translation only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import grpc

from engage.engagement.v1 import engagement_service_pb2 as engagement_pb
from engage.reporting.v1 import event_history_pb2 as pb
from server.domain.engagement.entities import Channel, DeliveryState
from server.domain.reporting.event_history import OCCUR_TIME, EventHistoryFilter, EventHistoryLine, EventKind
from server.domain.reporting.ordering import check_dates, newest_first
from server.rpc.context import current_caller
from server.rpc.convert import date_range_field, enum_from_proto, timestamp_to_proto

if TYPE_CHECKING:
    from server.bootstrap import Services

_KIND_NAMES = {int(number): name for name, number in pb.EventKind.items()}
_STATE_NAMES = {int(number): name for name, number in engagement_pb.DeliveryState.items()}
_CHANNEL_NAMES = {int(number): name for name, number in engagement_pb.Channel.items()}
_KINDS = {name.removeprefix("EVENT_KIND_"): number for name, number in pb.EventKind.items()}
_STATES = dict(engagement_pb.DeliveryState.items())
_CHANNELS = {name.removeprefix("CHANNEL_"): number for name, number in engagement_pb.Channel.items()}
_FALLBACK_STATES = {name.removeprefix("FALLBACK_STEP_"): number
                    for name, number in engagement_pb.FallbackStepState.items()}
_CAMPAIGN_STATES = dict(engagement_pb.Campaign.State.items())
_NO_CAMPAIGN_STATE = engagement_pb.Campaign.STATE_UNSPECIFIED


def _each(enum_type: Any, prefix: str, numbers: Any, names: dict[int, str], field_name: str) -> tuple[str, ...]:
    return tuple(enum_from_proto(enum_type, prefix, number, names, f"{field_name}[{index}]").value
                 for index, number in enumerate(numbers))


def event_history_filter(request: pb.ListEventHistoryRequest) -> EventHistoryFilter:
    """The request's filters (ExportView reads the same request)."""
    return EventHistoryFilter(
        kinds=tuple(EventKind(kind) for kind in _each(EventKind, "EVENT_KIND_", request.kinds, _KIND_NAMES, "kinds")),
        customer_id=request.customer_id,
        occur_dates=check_dates(date_range_field(request, "occur_date_range"), "occur_date_range"),
        delivery_states=_each(DeliveryState, "", request.delivery_states, _STATE_NAMES, "delivery_states"),
        channels=_each(Channel, "CHANNEL_", request.channels, _CHANNEL_NAMES, "channels"),
        campaign_id=request.campaign_id, rule_id=request.rule_id, engagement_event_id=request.engagement_event_id,
        journey_id=request.journey_id, newest_first=newest_first(request.order_by, OCCUR_TIME))


def event_history_row(line: EventHistoryLine) -> pb.EventHistoryRow:
    return pb.EventHistoryRow(
        kind=_KINDS[line.kind], event_id=line.event_id, occur_time=timestamp_to_proto(line.occurred_at),
        customer_id=line.customer_id,
        channel=_CHANNELS.get(line.channel, engagement_pb.CHANNEL_UNSPECIFIED), provider=line.provider,
        delivery_state=_STATES.get(line.delivery_state, engagement_pb.DELIVERY_STATE_UNSPECIFIED),
        engagement_event_id=line.engagement_event_id, campaign_id=line.campaign_id, attempts=line.attempts,
        send_time=timestamp_to_proto(line.sent_at), deliver_time=timestamp_to_proto(line.delivered_at),
        update_time=timestamp_to_proto(line.updated_at), error_code=line.error_code,
        error_message=line.error_message, skip_reason=line.skip_reason, fallback_step=line.fallback_step,
        fallback_state=_FALLBACK_STATES.get(line.fallback_state, engagement_pb.FALLBACK_STEP_STATE_UNSPECIFIED),
        banner_id=line.banner_id, rule_id=line.rule_id, rule_version=line.rule_version, firing_id=line.firing_id,
        account_id=line.account_id, transaction_id=line.transaction_id,
        campaign_state=_CAMPAIGN_STATES.get(line.campaign_state, _NO_CAMPAIGN_STATE),
        previous_campaign_state=_CAMPAIGN_STATES.get(line.previous_campaign_state, _NO_CAMPAIGN_STATE),
        actor=line.actor, reason=line.reason, journey_id=line.journey_id, journey_version=line.journey_version,
        journey_instance_id=line.journey_instance_id, from_step=line.from_step, to_step=line.to_step,
        handed_to_journey=line.handed_to_journey)


class EventHistoryRpcs:
    services: Services

    async def ListEventHistory(self, request: pb.ListEventHistoryRequest,
                               context: grpc.aio.ServicerContext) -> pb.ListEventHistoryResponse:
        view = self.services.event_history
        wanted = event_history_filter(request)
        page = await view.page(current_caller(), wanted,
                               view.page_request(wanted, request.page_size, request.page_token))
        return pb.ListEventHistoryResponse(rows=[event_history_row(line) for line in page.items],
                                           next_page_token=page.next_page_token)
