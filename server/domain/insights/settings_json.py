"""SubscriptionSettings <-> the JSON kept in the store and in the change history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from server.domain.insights.definition import Duration, SubscriptionSettings


def settings_to_json(settings: SubscriptionSettings) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if settings.is_subscribed is not None:
        data["isSubscribed"] = settings.is_subscribed
    if settings.insight_title is not None:
        data["insightTitle"] = settings.insight_title
    if settings.duration is not None:
        data["duration"] = settings.duration.value
    if settings.thresholds:
        data["thresholds"] = {name: str(value) for name, value in sorted(settings.thresholds.items())}
    if settings.account_link_template is not None:
        data["accountLinkTemplate"] = settings.account_link_template
    return data


def settings_from_json(data: dict[str, Any] | None) -> SubscriptionSettings:
    data = data or {}
    return SubscriptionSettings(
        is_subscribed=data.get("isSubscribed"), insight_title=data.get("insightTitle"),
        duration=Duration(data["duration"]) if data.get("duration") else None,
        thresholds={name: Decimal(value) for name, value in (data.get("thresholds") or {}).items()},
        account_link_template=data.get("accountLinkTemplate"))


def merge_settings(current: SubscriptionSettings, patch: SubscriptionSettings) -> SubscriptionSettings:
    """A partial update: what the patch sets replaces, the rest stays (thresholds one by one)."""
    return SubscriptionSettings(
        is_subscribed=patch.is_subscribed if patch.is_subscribed is not None else current.is_subscribed,
        insight_title=patch.insight_title if patch.insight_title is not None else current.insight_title,
        duration=patch.duration or current.duration,
        thresholds={**current.thresholds, **patch.thresholds},
        account_link_template=(patch.account_link_template if patch.account_link_template is not None
                               else current.account_link_template))
