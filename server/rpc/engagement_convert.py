"""engage.engagement.v1 <-> engagement domain objects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from google.protobuf import duration_pb2
from google.protobuf.message import Message

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain import resource_names
from server.domain.engagement.alerts import AlertCondition, alert_condition
from server.domain.engagement.audience import CampaignAudience, campaign_audience
from server.domain.engagement.entities import (
    App,
    Campaign,
    Channel,
    ChannelConfig,
    Contact,
    ContentVariant,
    Delivery,
    DeliveryState,
    Device,
    Event,
    EventMessage,
    EventType,
    FallbackMark,
    FallbackPolicy,
    FallbackStep,
    InsightNotification,
    Platform,
    Preferences,
    QuietHoursSetting,
    Template,
    TransactionAlert,
    WalletPass,
)
from server.domain.engagement.fallback import MAX_WAIT
from server.domain.engagement.sms import sms_segments
from server.domain.engagement.wallet_passes import PassSummary
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.events import Money
from server.rpc.convert import money_field, money_to_proto, timestamp_from_proto, timestamp_to_proto

CONTENT_FIELD = {Channel.PUSH: "push", Channel.SMS: "sms", Channel.EMAIL: "email", Channel.PASS: "pass"}
CONTENT_PARTS = {"push": ("title", "body", "image_url", "rich_text"), "sms": ("text",),
                 "email": ("subject", "html", "text"), "pass": ("pass_type_identifier", "message", "label")}


def resource_id(name: str, collection: str, path: str, required: bool = True) -> str:
    """`apps/abc` -> `abc` (a bare id is accepted too); INVALID_ARGUMENT for another collection."""
    if not name and not required:
        return ""
    return resource_names.ENGAGEMENT[collection].id(name, path)


def channel_from_proto(number: pb.Channel.ValueType, path: str, allow_unspecified: bool = False) -> Channel | None:
    name = pb.Channel.Name(number) if number in pb.Channel.values() else ""
    if name == "CHANNEL_UNSPECIFIED" and allow_unspecified:
        return None
    try:
        return Channel(name.removeprefix("CHANNEL_"))
    except ValueError as exc:
        raise InvalidArgument("CHANNEL_REQUIRED", f"{path} must be EMAIL, SMS, PUSH or PASS",
                              violations=[FieldViolation(path, "CHANNEL_EMAIL, CHANNEL_SMS, CHANNEL_PUSH or "
                                                         "CHANNEL_PASS")]) from exc


def channel_to_proto(channel: Channel) -> pb.Channel.ValueType:
    return pb.Channel.Value(f"CHANNEL_{channel}")


def platform_names(numbers: Sequence[pb.Platform.ValueType]) -> list[str]:
    """Wire platforms -> names; the validator reports unspecified/unknown ones."""
    return [pb.Platform.Name(n).removeprefix("PLATFORM_") if n in pb.Platform.values() else str(n) for n in numbers]


def app_to_proto(app: App) -> pb.App:
    return pb.App(name=f"apps/{app.app_id}", application_id=app.app_id, display_name=app.display_name,
                  category=app.category, platforms=[pb.Platform.Value(f"PLATFORM_{p}") for p in app.platforms],
                  state=pb.App.State.Value(str(app.state)), create_time=timestamp_to_proto(app.created_at),
                  update_time=timestamp_to_proto(app.updated_at))


def event_type_to_proto(event_type: EventType) -> pb.EventType:
    policy = event_type.fallback
    return pb.EventType(name=f"eventTypes/{event_type.event_type_id}", display_name=event_type.display_name,
                        description=event_type.description, create_time=timestamp_to_proto(event_type.created_at),
                        fallback_policy=pb.FallbackPolicy(steps=[pb.FallbackStep(
                            channel=channel_to_proto(s.channel),
                            wait=duration_pb2.Duration(seconds=int(s.wait.total_seconds())) if s.wait else None)
                            for s in policy.steps]) if policy.steps else None)


def fallback_policy_from_proto(message: pb.FallbackPolicy, path: str) -> FallbackPolicy:
    """The wire policy as given (server.domain.engagement.fallback.validate_policy judges it)."""
    steps = []
    for index, step in enumerate(message.steps):
        channel = channel_from_proto(step.channel, f"{path}.steps[{index}].channel")
        assert channel is not None
        wait = None
        if step.HasField("wait"):
            if step.wait.seconds < 0 or step.wait.nanos < 0:
                raise InvalidArgument("FALLBACK_POLICY_INVALID", "a wait cannot be negative",
                                      violations=[FieldViolation(f"{path}.steps[{index}].wait", "not negative")])
            # Past the longest wait it is refused as too long (the wire allows ~10,000 years, past timedelta's
            # range): taken as one second over it, before timedelta overflows on it.
            seconds = min(step.wait.seconds, int(MAX_WAIT.total_seconds()) + 1)
            wait = dt.timedelta(seconds=seconds, microseconds=step.wait.nanos // 1000)
            if step.wait.nanos and not wait.microseconds:
                wait += dt.timedelta(microseconds=1)  # a fraction of a second is refused, not rounded away
        steps.append(FallbackStep(channel, wait))
    return FallbackPolicy(tuple(steps))


def fallback_status_to_proto(mark: FallbackMark | None) -> pb.FallbackStatus | None:
    if mark is None:
        return None
    return pb.FallbackStatus(step=mark.step, state=pb.FallbackStepState.Value(f"FALLBACK_STEP_{mark.state}"),
                             start_time=timestamp_to_proto(mark.started_at),
                             deadline=timestamp_to_proto(mark.deadline), end_time=timestamp_to_proto(mark.ended_at))


def contact_from_proto(message: pb.Contact) -> Contact:
    devices = []
    for index, device in enumerate(message.devices):
        platform = platform_names([device.platform])[0]
        if platform not in Platform.__members__:
            raise InvalidArgument("CONTACT_INVALID", "a device needs a platform",
                                  violations=[FieldViolation(f"contact.devices[{index}].platform", "required")])
        devices.append(Device(resource_id(device.app, "apps", f"contact.devices[{index}].app"), Platform(platform),
                              device.push_token))
    quiet = None
    if message.preferences.HasField("quiet_hours"):
        q = message.preferences.quiet_hours
        quiet = QuietHoursSetting(q.start, q.end, q.time_zone)
    preferences = Preferences(
        opted_out_channels=[c for c in (channel_from_proto(n, "contact.preferences.opted_out_channels")
                                        for n in message.preferences.opted_out_channels) if c],
        opted_out_event_types=[resource_id(n, "eventTypes", f"contact.preferences.opted_out_event_types[{i}]")
                               for i, n in enumerate(message.preferences.opted_out_event_types)],
        quiet_hours=quiet)
    return Contact(message.customer_id, message.email, message.phone, devices,
                   [WalletPass(p.pass_type_identifier, p.serial_number, p.push_token) for p in message.passes],
                   preferences)


def contact_to_proto(contact: Contact) -> pb.Contact:
    quiet = contact.preferences.quiet_hours
    return pb.Contact(
        customer_id=contact.customer_id, email=contact.email, phone=contact.phone,
        devices=[pb.Device(app=f"apps/{d.app_id}", platform=pb.Platform.Value(f"PLATFORM_{d.platform}"),
                           push_token=d.push_token) for d in contact.devices],
        passes=[pb.WalletPass(pass_type_identifier=p.pass_type_identifier, serial_number=p.serial_number,
                              push_token=p.push_token) for p in contact.passes],
        preferences=pb.Preferences(
            opted_out_channels=[channel_to_proto(c) for c in contact.preferences.opted_out_channels],
            opted_out_event_types=[f"eventTypes/{e}" for e in contact.preferences.opted_out_event_types],
            quiet_hours=pb.QuietHours(start=quiet.start, end=quiet.end, time_zone=quiet.time_zone) if quiet else None),
        update_time=timestamp_to_proto(contact.updated_at))


def message_cost(config: pb.ChannelConfig) -> Money | None:
    """The configuration's cost per message; None when unset."""
    amount, currency = money_field(config, "cost_per_message", "channel_config.cost_per_message")
    return None if amount is None else Money(amount, currency or "")


def channel_config_to_proto(config: ChannelConfig) -> pb.ChannelConfig:
    # Secrets never leave the server: only the names of those that are set.
    return pb.ChannelConfig(name=f"channelConfigs/{config.config_id}", display_name=config.display_name,
                            channel=channel_to_proto(config.channel), provider=config.provider,
                            settings=config.settings, secret_keys=config.secret_keys,
                            rate_limit_per_second=config.rate_limit_per_second,
                            app=f"apps/{config.app_id}" if config.app_id else "",
                            cost_per_message=money_to_proto(config.cost_per_message.amount,
                                                            config.cost_per_message.currency)
                            if config.cost_per_message else None,
                            create_time=timestamp_to_proto(config.created_at),
                            update_time=timestamp_to_proto(config.updated_at))


def content_from_proto(message: pb.MessageContent, channel: Channel, path: str) -> dict[str, str]:
    """The oneof's parts as a dict; empty when no content was given. The oneof must match the channel."""
    which = message.WhichOneof("content")
    if which is None:
        return {}
    if which != CONTENT_FIELD[channel]:
        raise InvalidArgument("CONTENT_CHANNEL_MISMATCH", f"{path} holds {which} content for the {channel} channel",
                              violations=[FieldViolation(f"{path}.{which}", f"{CONTENT_FIELD[channel]} expected")])
    part = getattr(message, which)
    return {name: getattr(part, name) for name in CONTENT_PARTS[which] if getattr(part, name)}


def content_to_proto(content: dict[str, str], channel: Channel) -> pb.MessageContent:
    which = CONTENT_FIELD[channel]
    parts = {name: content.get(name, "") for name in CONTENT_PARTS[which]}
    if channel is Channel.SMS:
        segments = sms_segments(parts["text"])
        return pb.MessageContent(sms=pb.SmsContent(text=parts["text"], encoding=segments.encoding,
                                                   segments=segments.segments))
    message_type = {"push": pb.PushContent, "email": pb.EmailContent, "pass": pb.PassContent}[which]
    return pb.MessageContent(**{which: message_type(**parts)})


def variants_from_proto(variants: Sequence[pb.ContentVariant], channel: Channel, path: str
                        ) -> tuple[ContentVariant, ...]:
    return tuple(ContentVariant(resource_names.PERSONA.id(v.persona, f"{path}[{i}].persona"),
                                content_from_proto(v.content, channel, f"{path}[{i}].content"))
                 for i, v in enumerate(variants))


def variants_to_proto(variants: tuple[ContentVariant, ...], channel: Channel) -> list[pb.ContentVariant]:
    return [pb.ContentVariant(persona=resource_names.PERSONA.format(v.persona_id),
                              content=content_to_proto(v.content, channel)) for v in variants]


def template_to_proto(template: Template) -> pb.Template:
    return pb.Template(name=f"templates/{template.template_id}", display_name=template.display_name,
                       channel=channel_to_proto(template.channel),
                       content=content_to_proto(template.content, template.channel),
                       variants=variants_to_proto(template.variants, template.channel),
                       create_time=timestamp_to_proto(template.created_at),
                       update_time=timestamp_to_proto(template.updated_at))


def event_messages_from_proto(messages: list[pb.EventMessage]) -> list[EventMessage]:
    resolved = []
    for index, message in enumerate(messages):
        path = f"event.messages[{index}]"
        channel = channel_from_proto(message.channel, f"{path}.channel")
        assert channel is not None
        resolved.append(EventMessage(channel, resource_id(message.template, "templates", f"{path}.template",
                                                          required=False),
                                     content_from_proto(message.content, channel, f"{path}.content"),
                                     variants_from_proto(message.variants, channel, f"{path}.variants")))
    return resolved


def message_class_name(number: pb.MessageClass.ValueType) -> str:
    return pb.MessageClass.Name(number).removeprefix("MESSAGE_CLASS_") if number in pb.MessageClass.values() else "?"


def event_to_proto(event: Event) -> pb.Event:
    return pb.Event(
        name=f"events/{event.event_id}", event_id=event.event_id, display_name=event.display_name,
        description=event.description, owner=event.owner, event_type=f"eventTypes/{event.event_type_id}",
        app=f"apps/{event.app_id}", message_class=pb.MessageClass.Value(f"MESSAGE_CLASS_{event.message_class}"),
        messages=[pb.EventMessage(channel=channel_to_proto(m.channel),
                                  template=f"templates/{m.template_id}" if m.template_id else "",
                                  content=content_to_proto(m.content, m.channel),
                                  variants=variants_to_proto(m.variants, m.channel)) for m in event.messages],
        create_time=timestamp_to_proto(event.created_at), update_time=timestamp_to_proto(event.updated_at))


def mask_address(channel: Channel, address: str) -> str:
    """Enough to recognise an address in a status list, not enough to harvest it."""
    if not address:
        return ""
    if channel is Channel.EMAIL and "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if channel is Channel.SMS:
        return f"{address[:6]}****{address[-3:]}" if len(address) > 9 else "****"
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else "****"


def delivery_to_proto(delivery: Delivery) -> pb.Delivery:
    return pb.Delivery(
        name=f"deliveries/{delivery.delivery_id}",
        event=f"events/{delivery.event_id}" if delivery.event_id != "otp" else "",
        campaign=f"campaigns/{delivery.campaign_id}" if delivery.campaign_id else "",
        customer_id=delivery.customer_id, channel=channel_to_proto(delivery.channel), provider=delivery.provider,
        address=mask_address(delivery.channel, delivery.address), state=pb.DeliveryState.Value(str(delivery.state)),
        skip_reason=delivery.skip_reason, attempts=delivery.attempts,
        next_attempt_time=timestamp_to_proto(delivery.next_attempt_at) if delivery.state is DeliveryState.QUEUED
        else None, provider_message_id=delivery.provider_message_id, error_code=delivery.error_code,
        error_message=delivery.error_message, create_time=timestamp_to_proto(delivery.created_at),
        sent_time=timestamp_to_proto(delivery.sent_at), delivered_time=timestamp_to_proto(delivery.delivered_at),
        update_time=timestamp_to_proto(delivery.updated_at), fallback=fallback_status_to_proto(delivery.fallback))


def delivery_state_from_proto(number: pb.DeliveryState.ValueType) -> DeliveryState | None:
    name = pb.DeliveryState.Name(number) if number in pb.DeliveryState.values() else ""
    if name in ("", "DELIVERY_STATE_UNSPECIFIED"):
        if number:
            raise InvalidArgument("INVALID_ENUM", "state is not a delivery state",
                                  violations=[FieldViolation("state", "unknown value")])
        return None
    return DeliveryState(name)


def alert_condition_from_proto(alert: pb.TransactionAlert) -> AlertCondition:
    return alert_condition(operation=alert.operation, directions=alert.directions, categories=alert.categories,
                           description_contains=alert.description_contains, min_amount=alert.min_amount,
                           account_types=alert.account_types, statuses=alert.statuses,
                           balance_below=alert.balance_below,
                           baseline=(alert.baseline.percentile, alert.baseline.days, alert.baseline.min_history)
                           if alert.HasField("baseline") else None)


def alert_to_proto(alert: TransactionAlert) -> pb.TransactionAlert:
    c = alert.condition
    return pb.TransactionAlert(
        name=f"transactionAlerts/{alert.alert_id}", event=f"events/{alert.event_id}",
        directions=c.directions, categories=c.categories, description_contains=c.description_contains,
        operation=c.operation, min_amount="" if c.min_amount is None else str(c.min_amount),
        account_types=c.account_types, create_time=timestamp_to_proto(alert.created_at), statuses=c.statuses,
        balance_below="" if c.balance_below is None else str(c.balance_below),
        baseline=None if c.baseline is None else pb.UnusualActivityBaseline(
            percentile=str(c.baseline.percentile), days=c.baseline.days, min_history=c.baseline.min_history))


def insight_notification_to_proto(notification: InsightNotification) -> pb.InsightNotification:
    return pb.InsightNotification(name=f"insightNotifications/{notification.notification_id}",
                                  insight_name=notification.insight_name, event=f"events/{notification.event_id}",
                                  create_time=timestamp_to_proto(notification.created_at))


def audience_from_proto(audience: pb.Audience) -> CampaignAudience:
    which = audience.WhichOneof("audience")
    if which == "customer_list":
        return campaign_audience(customer_ids=audience.customer_list.customer_ids)
    if which == "attribute_filter":
        return campaign_audience(attributes=audience.attribute_filter.equals)
    if which == "persona":
        return campaign_audience(persona_id=resource_names.PERSONA.id(audience.persona, "campaign.audience.persona"))
    if which == "named_audience":
        return campaign_audience(audience_id=resource_names.AUDIENCE.id(audience.named_audience,
                                                                        "campaign.audience.named_audience"))
    return campaign_audience(all_customers=which == "all_customers" and audience.all_customers)


def campaign_to_proto(campaign: Campaign) -> pb.Campaign:
    audience = campaign.audience
    if audience.is_listed:
        wire_audience = pb.Audience(customer_list=pb.CustomerList(customer_ids=audience.customer_ids))
    elif audience.attributes:
        wire_audience = pb.Audience(attribute_filter=pb.AttributeFilter(equals=dict(audience.attributes)))
    elif audience.persona_id:
        wire_audience = pb.Audience(persona=resource_names.PERSONA.format(audience.persona_id))
    elif audience.audience_id:
        wire_audience = pb.Audience(named_audience=resource_names.AUDIENCE.format(audience.audience_id))
    else:
        wire_audience = pb.Audience(all_customers=True)
    return pb.Campaign(
        name=f"campaigns/{campaign.campaign_id}", display_name=campaign.display_name,
        event=f"events/{campaign.event_id}", audience=wire_audience, send_time=timestamp_to_proto(campaign.send_at),
        is_offer=campaign.is_offer, state=pb.Campaign.State.Value(str(campaign.state)), creator=campaign.creator,
        approver=campaign.approver, customers_targeted=campaign.customers_targeted,
        deliveries_created=campaign.deliveries_created, create_time=timestamp_to_proto(campaign.created_at),
        update_time=timestamp_to_proto(campaign.updated_at), rejection_reason=campaign.rejection_reason)


def optional_timestamp(message: Message, field_name: str, path: str) -> dt.datetime | None:
    return timestamp_from_proto(getattr(message, field_name), path) if message.HasField(field_name) else None


def wallet_pass_to_proto(summary: PassSummary) -> pb.WalletPassRecord:
    issued = summary.issued
    return pb.WalletPassRecord(
        name=f"walletPasses/{issued.serial_number}", customer_id=issued.customer_id,
        pass_type_identifier=issued.pass_type_identifier, serial_number=issued.serial_number,
        message=issued.parts.get("message", ""), registered_devices=summary.registered_devices,
        create_time=timestamp_to_proto(issued.created_at), update_time=timestamp_to_proto(issued.updated_at))
