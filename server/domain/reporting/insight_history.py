"""The insight history view (docs/reporting.md#insight-history): every feed item generated, with what
its customer did with it. Tenant-wide, read-only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from server.domain.reporting.ordering import Dates

CREATE_TIME = "create_time"


@dataclass(frozen=True, slots=True)
class InsightHistoryFilter:
    customer_id: str = ""  # "": every customer
    insight_name: str = ""  # "": every insight
    origin: str = ""  # an Origin value; "": every origin, unrecorded ones included
    interaction: str = ""  # an Interaction value: only items with one such; "": every item
    create_dates: Dates = (None, None)
    newest_first: bool = False


@dataclass(frozen=True, slots=True)
class InteractionLine:
    kind: str  # an Interaction value
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class InsightHistoryLine:
    customer_id: str
    feed_item_id: str
    insight_name: str
    origin: str  # an Origin value; "" when not recorded
    period: str
    created_at: dt.datetime
    expires_at: dt.datetime
    interactions: tuple[InteractionLine, ...] = ()  # oldest first


def page_key(line: InsightHistoryLine) -> list[str]:
    return [line.created_at.isoformat(), line.feed_item_id]
