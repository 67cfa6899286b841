"""engage.triggers.v1 <-> server.domain.triggers: rules, firings and banners."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from google.protobuf import duration_pb2, json_format

from engage.triggers.v1 import banners_service_pb2 as banners_pb
from engage.triggers.v1 import trigger_rules_service_pb2 as pb
from server.domain import resource_names
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.reasons import Reason
from server.domain.resource_names import BANNER, FIRING, TRIGGER_RULE
from server.domain.triggers.records import Banner, FiringAction, FiringRecord
from server.domain.triggers.rules import (
    DEFAULT_COOLDOWN,
    Action,
    ActionKind,
    Audience,
    AudienceKind,
    BankNotificationAction,
    BannerAction,
    MessageAction,
    RuleDefinition,
    TriggerRule,
)
from server.rpc.convert import timestamp_from_proto, timestamp_to_proto

PREFIX = "trigger_rule"
# The most a Duration may say here: past it, timedelta overflows (and every limit is far below it).
_MAX_DURATION_SECONDS = 10 * 366 * 86_400


def _invalid(path: str, problem: str) -> InvalidArgument:
    return InvalidArgument(Reason.TRIGGER_RULE_INVALID, f"{path}: {problem}",
                           violations=[FieldViolation(path, problem)])


def duration_from_proto(value: duration_pb2.Duration, path: str) -> dt.timedelta:
    if not -_MAX_DURATION_SECONDS <= value.seconds <= _MAX_DURATION_SECONDS or not -10**9 < value.nanos < 10**9:
        raise _invalid(path, "out of range")
    return dt.timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


def duration_to_proto(value: dt.timedelta) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromTimedelta(value)
    return duration


def audience_from_proto(message: pb.TriggerAudience, path: str) -> Audience:
    match message.WhichOneof("kind"):
        case "all_customers":
            if not message.all_customers:
                raise _invalid(f"{path}.all_customers", "true, or another kind of audience")
            return Audience.everyone()
        case "customers":
            return Audience(AudienceKind.CUSTOMERS, tuple(
                resource_names.CUSTOMER.id(name, f"{path}.customers[{i}]")
                for i, name in enumerate(message.customers.customers)))
        case "persona":
            return Audience(AudienceKind.PERSONA, (), resource_names.PERSONA.id(message.persona, f"{path}.persona"))
        case "audience":
            return Audience(AudienceKind.AUDIENCE, (),
                            resource_names.AUDIENCE.id(message.audience, f"{path}.audience"))
    raise _invalid(path, "is required: all_customers, customers, persona or audience")


def audience_to_proto(audience: Audience) -> pb.TriggerAudience:
    match audience.kind:
        case AudienceKind.ALL:
            return pb.TriggerAudience(all_customers=True)
        case AudienceKind.CUSTOMERS:
            return pb.TriggerAudience(customers=pb.TriggerAudience.CustomerList(
                customers=[resource_names.CUSTOMER.format(c) for c in audience.customer_ids]))
        case AudienceKind.PERSONA:
            return pb.TriggerAudience(persona=resource_names.PERSONA.format(audience.reference_id))
    return pb.TriggerAudience(audience=resource_names.AUDIENCE.format(audience.reference_id))


def _product(name: str, path: str) -> str | None:
    return resource_names.PRODUCT.id(name, path) if name else None


def _event(name: str, path: str) -> str:
    return resource_names.ENGAGEMENT["events"].id(name, path) if name else ""


def action_from_proto(message: pb.TriggerAction, path: str) -> Action:
    match message.WhichOneof("kind"):
        case "banner":
            b = message.banner
            return BannerAction(b.title, b.body, b.call_to_action_label, b.call_to_action_url,
                                duration_from_proto(b.lifetime, f"{path}.banner.lifetime"),
                                _product(b.product, f"{path}.banner.product"))
        case "bank_notification":
            return BankNotificationAction(message.bank_notification.note)
        case "message":
            m = message.message
            return MessageAction(_event(m.event, f"{path}.message.event"), dict(m.attributes),
                                 _product(m.product, f"{path}.message.product"))
    raise _invalid(path, "is required: banner, bank_notification or message")


def action_to_proto(action: Action) -> pb.TriggerAction:
    if isinstance(action, BannerAction):
        return pb.TriggerAction(banner=pb.BannerAction(
            title=action.title, body=action.body, call_to_action_label=action.cta_label,
            call_to_action_url=action.cta_url, lifetime=duration_to_proto(action.lifetime),
            product="" if action.product_id is None else resource_names.PRODUCT.format(action.product_id)))
    if isinstance(action, BankNotificationAction):
        return pb.TriggerAction(bank_notification=pb.BankNotificationAction(note=action.note))
    return pb.TriggerAction(message=pb.MessageAction(
        event=resource_names.ENGAGEMENT["events"].format(action.event_id), attributes=dict(action.attributes),
        product="" if action.product_id is None else resource_names.PRODUCT.format(action.product_id)))


def _optional_time(message: pb.TriggerRule, name: Literal["active_from", "active_until"]) -> dt.datetime | None:
    return timestamp_from_proto(getattr(message, name), f"{PREFIX}.{name}") if message.HasField(name) else None


# Each field an update mask may name, and how its new value is read from the request.
PARTS: Mapping[str, Any] = {
    "display_name": lambda m: m.display_name,
    "description": lambda m: m.description,
    "audience": lambda m: audience_from_proto(m.audience, f"{PREFIX}.audience"),
    "condition": lambda m: m.condition,
    "actions": lambda m: tuple(action_from_proto(a, f"{PREFIX}.actions[{i}]") for i, a in enumerate(m.actions)),
    "active_from": lambda m: _optional_time(m, "active_from"),
    "active_until": lambda m: _optional_time(m, "active_until"),
    "cooldown": lambda m: (duration_from_proto(m.cooldown, f"{PREFIX}.cooldown") if m.HasField("cooldown")
                           else DEFAULT_COOLDOWN),
}


def definition_from_proto(message: pb.TriggerRule) -> RuleDefinition:
    return RuleDefinition(**{name: read(message) for name, read in PARTS.items()})


def rule_to_proto(rule: TriggerRule) -> pb.TriggerRule:
    d = rule.definition
    message = pb.TriggerRule(
        name=TRIGGER_RULE.format(rule.rule_id), display_name=d.display_name, description=d.description,
        audience=audience_to_proto(d.audience), condition=d.condition,
        actions=[action_to_proto(a) for a in d.actions], active_from=timestamp_to_proto(d.active_from),
        active_until=timestamp_to_proto(d.active_until), cooldown=duration_to_proto(d.cooldown),
        status=pb.TriggerRuleStatus.Value(f"TRIGGER_RULE_STATUS_{rule.status.value}"), version=rule.version,
        creator=rule.created_by, last_editor=rule.updated_by, approver=rule.approved_by or "",
        approve_time=timestamp_to_proto(rule.approved_at), rejection_reason=rule.rejection_reason or "",
        create_time=timestamp_to_proto(rule.created_at), update_time=timestamp_to_proto(rule.updated_at))
    if rule.latest_backtest is not None:
        # Kept as json_format.MessageToDict of a TriggerRuleBacktest (the BACKTEST service stores it).
        json_format.ParseDict(dict(rule.latest_backtest), message.latest_backtest, ignore_unknown_fields=True)
    return message


_ACTION_KINDS = {ActionKind.BANNER.value: pb.ACTION_KIND_BANNER,
                 ActionKind.BANK_NOTIFICATION.value: pb.ACTION_KIND_BANK_NOTIFICATION,
                 ActionKind.MESSAGE.value: pb.ACTION_KIND_MESSAGE}


def firing_action_to_proto(action: FiringAction) -> pb.FiringAction:
    return pb.FiringAction(kind=_ACTION_KINDS.get(action.kind, pb.ACTION_KIND_UNSPECIFIED),
                           resource=action.resource, outcome=action.outcome)


def firing_to_proto(firing: FiringRecord) -> pb.Firing:
    return pb.Firing(name=FIRING.format(firing.rule_id, firing.firing_id), rule_version=firing.version,
                     customer=resource_names.CUSTOMER.format(firing.customer_id), account_id=firing.account_id,
                     fire_time=timestamp_to_proto(firing.fired_at), transaction_id=firing.transaction_id or "",
                     values=dict(firing.values), actions=[firing_action_to_proto(a) for a in firing.actions])


def banner_to_proto(banner: Banner) -> banners_pb.Banner:
    return banners_pb.Banner(
        name=BANNER.format(banner.customer_id, banner.banner_id), title=banner.title, body=banner.body,
        call_to_action_label=banner.cta_label, call_to_action_url=banner.cta_url,
        product="" if banner.product_id is None else resource_names.PRODUCT.format(banner.product_id),
        trigger_rule="" if banner.rule_id is None else TRIGGER_RULE.format(banner.rule_id),
        rule_version=banner.version or 0, create_time=timestamp_to_proto(banner.created_at),
        expire_time=timestamp_to_proto(banner.expires_at), impressions=banner.impressions, clicks=banner.clicks,
        first_impression_time=timestamp_to_proto(banner.first_seen_at),
        last_click_time=timestamp_to_proto(banner.last_clicked_at))
