"""The event history view (docs/reporting.md#event-history): every delivery, banner impression and
click, rule firing, campaign step and journey step, in one stream ordered by (time, kind, id).
Tenant-wide, read-only."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from server.domain.pagination import text_key
from server.domain.reporting.ordering import Dates

OCCUR_TIME = "occur_time"


class EventKind(enum.StrEnum):
    """In the order events of one instant are listed (the wire enum's numbers follow it)."""

    DELIVERY = "DELIVERY"
    BANNER_IMPRESSION = "BANNER_IMPRESSION"
    BANNER_CLICK = "BANNER_CLICK"
    RULE_FIRING = "RULE_FIRING"
    CAMPAIGN_STEP = "CAMPAIGN_STEP"
    JOURNEY_STEP = "JOURNEY_STEP"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {kind: rank for rank, kind in enumerate(EventKind, start=1)}


@dataclass(frozen=True, slots=True)
class EventHistoryFilter:
    kinds: tuple[EventKind, ...] = ()  # empty: every kind
    customer_id: str = ""
    occur_dates: Dates = (None, None)
    delivery_states: tuple[str, ...] = ()  # DeliveryState values
    channels: tuple[str, ...] = ()  # Channel values
    campaign_id: str = ""
    rule_id: str = ""
    engagement_event_id: str = ""
    journey_id: str = ""
    newest_first: bool = False


# Which kinds have the column each filter reads: a filter keeps only those.
_FILTERED_KINDS: dict[str, frozenset[EventKind]] = {
    "customer_id": frozenset(EventKind) - {EventKind.CAMPAIGN_STEP},
    "delivery_states": frozenset({EventKind.DELIVERY}),
    "channels": frozenset({EventKind.DELIVERY}),
    "engagement_event_id": frozenset({EventKind.DELIVERY}),
    "campaign_id": frozenset({EventKind.DELIVERY, EventKind.CAMPAIGN_STEP}),
    "rule_id": frozenset({EventKind.RULE_FIRING, EventKind.BANNER_IMPRESSION, EventKind.BANNER_CLICK}),
    "journey_id": frozenset({EventKind.JOURNEY_STEP}),
}


def kinds_to_read(wanted: EventHistoryFilter) -> list[EventKind]:
    """The kinds asked for (every kind when none) that have a column for each filter given, in rank order."""
    kinds = set(wanted.kinds or EventKind)
    for field_name, having in _FILTERED_KINDS.items():
        if getattr(wanted, field_name):
            kinds &= having
    return sorted(kinds, key=lambda kind: kind.rank)


@dataclass(frozen=True, slots=True)
class EventKey:
    """Where a row sits in the view's order."""

    at: dt.datetime
    kind: EventKind
    event_id: str


class Bound(enum.Enum):
    """How one kind's rows start after a key (the next page of the whole stream)."""

    FROM_INSTANT = "from"  # the key's instant included: the kind comes after the key's kind
    AFTER_INSTANT = "after"  # strictly after the key's instant: the kind comes before the key's kind
    AFTER_ID = "after id"  # the key's own kind: after (instant, id)


def bound_for(kind: EventKind, after: EventKey, newest_first: bool) -> Bound:
    """(time, kind, id) after `after` for rows of one kind, in either direction: the kind is fixed within
    its rows, so the three-column comparison is a comparison on the time alone, or on (time, id)."""
    return bound_after_kind(kind, after.kind, newest_first)


def bound_after_kind(kind: EventKind, after_kind: EventKind, newest_first: bool) -> Bound:
    """bound_for, which depends on the key's kind alone."""
    if kind is after_kind:
        return Bound.AFTER_ID
    later_kind = kind.rank > after_kind.rank
    return Bound.FROM_INSTANT if later_kind != newest_first else Bound.AFTER_INSTANT


def page_key(line: EventHistoryLine) -> list[str]:
    return key_of(EventKey(line.occurred_at, line.kind, line.event_id))


def key_of(key: EventKey) -> list[str]:
    """A page token's key (parse_key reads it back)."""
    return [key.at.isoformat(), str(key.kind), key.event_id]


def parse_key(after: Any) -> EventKey:
    """A page token's key: [ISO 8601 instant with its offset, kind, event id]."""
    if not (isinstance(after, list) and len(after) == 3):
        raise TypeError("not an [instant, kind, id] key")
    instant = dt.datetime.fromisoformat(text_key(after[0]))
    if instant.tzinfo is None:
        raise ValueError("an instant without its offset")
    return EventKey(instant.astimezone(dt.UTC), EventKind(text_key(after[1])), text_key(after[2]))


def split_journey_step_id(event_id: str) -> tuple[str, int] | None:
    instance_id, _, sequence = event_id.rpartition(":")
    return (instance_id, int(sequence)) if instance_id and sequence.isdigit() else None


@dataclass(frozen=True, slots=True)
class EventHistoryLine:
    """One event; the columns of other kinds keep their empty defaults."""

    kind: EventKind
    event_id: str
    occurred_at: dt.datetime
    customer_id: str = ""
    # deliveries
    channel: str = ""
    provider: str = ""
    delivery_state: str = ""
    engagement_event_id: str = ""
    campaign_id: str = ""  # and campaign steps
    attempts: int = 0
    sent_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    error_code: str = ""
    error_message: str = ""
    skip_reason: str = ""
    fallback_step: int = 0
    fallback_state: str = ""
    # banners and rule firings
    banner_id: str = ""
    rule_id: str = ""
    rule_version: int = 0
    firing_id: str = ""
    account_id: str = ""
    transaction_id: str = ""
    # campaign steps
    campaign_state: str = ""
    previous_campaign_state: str = ""
    actor: str = ""
    reason: str = ""
    # journey steps
    journey_id: str = ""
    journey_version: int = 0
    journey_instance_id: str = ""
    from_step: str = ""
    to_step: str = ""
    handed_to_journey: str = ""
