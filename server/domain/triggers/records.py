"""What the runtime records of a firing and the banners it shows: kept by the store, read back by
ListFirings, ExplainFiring and BannersService."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FiringAction:
    """What one action of a firing did."""

    kind: str  # rules.ActionKind value: banner | bank_notification | message
    resource: str = ""  # what it made, e.g. customers/c1/banners/b1
    outcome: str = "done"  # or why not, e.g. "skipped: no contact"


@dataclass(frozen=True)
class FiringRecord:
    firing_id: str
    rule_id: str
    version: int
    customer_id: str
    account_id: str
    fired_at: dt.datetime
    transaction_id: str | None
    dedupe_key: str  # firing.Firing.dedupe_key: one firing per posting (or day) of a rule and account
    values: Mapping[str, str] = field(default_factory=dict)
    actions: tuple[FiringAction, ...] = ()


@dataclass(frozen=True)
class Banner:
    banner_id: str
    customer_id: str
    title: str
    body: str
    cta_label: str
    cta_url: str
    created_at: dt.datetime
    expires_at: dt.datetime
    product_id: str | None = None
    # What made it: a rule version's firing, or an approved offer suggestion.
    rule_id: str | None = None
    version: int | None = None
    firing_id: str | None = None
    suggestion_id: str | None = None
    impressions: int = 0
    clicks: int = 0
    first_seen_at: dt.datetime | None = None
    last_clicked_at: dt.datetime | None = None
