"""Feed items: what a user is shown."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any


class Interaction(enum.StrEnum):
    VIEWED = "VIEWED"
    CLICKED = "CLICKED"
    DISMISSED = "DISMISSED"
    ACTED = "ACTED"


class Origin(enum.StrEnum):
    """How a feed item came to be generated, as stored with it (the insight history reports it)."""

    SCHEDULE = "SCHEDULE"  # a chunk of a scheduled batch (RunInsightBatch, the monthly cron)
    EVENT = "EVENT"  # an ingested posting: an event-driven insight or a goal milestone
    ON_DEMAND = "ON_DEMAND"  # TriggerInsights


@dataclass(frozen=True)
class FeedItem:
    feed_item_id: str
    customer_id: str
    insight_name: str
    period: str
    created_at: dt.datetime
    expires_at: dt.datetime
    # The item's content in the reference's feed shape: subscription snapshot, accounts,
    # accountDerived, changeValue or transaction; amounts as decimal strings.
    payload: dict[str, Any]
    last_interaction: Interaction | None = None

    def is_valid(self, now: dt.datetime) -> bool:
        return self.expires_at > now and self.last_interaction is not Interaction.DISMISSED


class NotGeneratedReason(enum.StrEnum):
    """Why evaluating an insight for a user (on demand) generated no feed item."""

    # Neither the user nor the bank's default subscribes the user to it.
    UNSUBSCRIBED = "UNSUBSCRIBED"
    # Evaluated: the figures do not reach its thresholds, or the data it needs is not there.
    CONDITION_NOT_MET = "CONDITION_NOT_MET"
    # The period already has its item (at most one per user, insight and period): it is in the feed.
    ALREADY_GENERATED = "ALREADY_GENERATED"


@dataclass(frozen=True)
class NotGenerated:
    customer_id: str
    insight_name: str
    reason: NotGeneratedReason
    # The period it was evaluated for, e.g. "2021-07".
    period: str
