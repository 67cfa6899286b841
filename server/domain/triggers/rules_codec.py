"""A trigger rule's parts as JSON: the store's columns and the snapshot of each version
(trigger_rule_versions.snapshot), read back by ExplainFiring and the runtime."""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.domain.triggers.rules import (
    Action,
    ActionKind,
    Audience,
    AudienceKind,
    BankNotificationAction,
    BannerAction,
    MessageAction,
    RuleDefinition,
    TriggerRule,
    kind_of,
)


def audience_to_json(audience: Audience) -> dict[str, Any]:
    match audience.kind:
        case AudienceKind.ALL:
            return {"kind": audience.kind.value}
        case AudienceKind.CUSTOMERS:
            return {"kind": audience.kind.value, "customers": list(audience.customer_ids)}
    return {"kind": audience.kind.value, "id": audience.reference_id}


def audience_from_json(value: dict[str, Any]) -> Audience:
    return Audience(AudienceKind(value["kind"]), tuple(value.get("customers", ())), value.get("id", ""))


def action_to_json(action: Action) -> dict[str, Any]:
    kind = kind_of(action)
    if isinstance(action, BannerAction):
        return {"kind": kind.value, "title": action.title, "body": action.body, "cta_label": action.cta_label,
                "cta_url": action.cta_url, "lifetime_seconds": int(action.lifetime.total_seconds()),
                "product_id": action.product_id}
    if isinstance(action, BankNotificationAction):
        return {"kind": kind.value, "note": action.note}
    return {"kind": kind.value, "event_id": action.event_id, "attributes": dict(action.attributes),
            "product_id": action.product_id}


def action_from_json(value: dict[str, Any]) -> Action:
    match ActionKind(value["kind"]):
        case ActionKind.BANNER:
            return BannerAction(value["title"], value["body"], value["cta_label"], value["cta_url"],
                                dt.timedelta(seconds=value["lifetime_seconds"]), value.get("product_id"))
        case ActionKind.BANK_NOTIFICATION:
            return BankNotificationAction(value["note"])
    return MessageAction(value["event_id"], dict(value.get("attributes", {})), value.get("product_id"))


def actions_to_json(actions: tuple[Action, ...]) -> list[dict[str, Any]]:
    return [action_to_json(a) for a in actions]


def actions_from_json(values: list[dict[str, Any]]) -> tuple[Action, ...]:
    return tuple(action_from_json(v) for v in values)


def _instant(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _from_instant(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def definition_to_json(definition: RuleDefinition) -> dict[str, Any]:
    return {"display_name": definition.display_name, "description": definition.description,
            "audience": audience_to_json(definition.audience), "condition": definition.condition,
            "actions": actions_to_json(definition.actions), "active_from": _instant(definition.active_from),
            "active_until": _instant(definition.active_until),
            "cooldown_seconds": int(definition.cooldown.total_seconds())}


def definition_from_json(value: dict[str, Any]) -> RuleDefinition:
    return RuleDefinition(value["display_name"], value["description"], audience_from_json(value["audience"]),
                          value["condition"], actions_from_json(value["actions"]),
                          _from_instant(value.get("active_from")), _from_instant(value.get("active_until")),
                          dt.timedelta(seconds=value["cooldown_seconds"]))


def version_snapshot(rule: TriggerRule) -> dict[str, Any]:
    """What trigger_rule_versions keeps of a version: its definition and who wrote it."""
    return {"version": rule.version, "updated_by": rule.updated_by, "definition": definition_to_json(rule.definition)}
