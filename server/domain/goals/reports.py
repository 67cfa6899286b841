"""The goals reporting views (docs/reports.md): what each row holds, what a view may be filtered by, and the
programme's state at each programme or transfer event.

Three views, each tenant-wide and read-only:
 - Goals: one line per goal, archived ones included, by customer and then oldest goal first.
 - Customer History: every history entry, oldest first, so that an export reads as a log.
 - Funding programmes: the programme events of the history (PROGRAMME_*) and the transfer events
   (TRANSFER_*), oldest first. A transfer has one event when it is requested and one more when it is
   settled (EXECUTED, FAILED or CANCELLED), both read from the transfer itself.

Dates asked for (a view's date range) are whole days in the tenant's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from server.domain.goals.tracker import progress_percent

PROGRAMME_KINDS = ("PROGRAMME_CREATED", "PROGRAMME_CHANGED", "PROGRAMME_CANCELLED")
TRANSFER_KINDS = ("TRANSFER_REQUESTED", "TRANSFER_EXECUTED", "TRANSFER_FAILED", "TRANSFER_CANCELLED")
# Transfer events carry no history entry of their own: the bank's payment system (EXECUTED, FAILED) and
# Engage (REQUESTED, and CANCELLED when the programme is cancelled) are their actors.
TRANSFER_ACTOR = "SERVICE"


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in UTC; None where open."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None


def local_days(since: dt.date | None, until: dt.date | None, zone: dt.tzinfo) -> Period:
    """The instants of the dates `since` to `until` (both inclusive) in `zone`. The day after 9999-12-31
    is no date, and nothing comes after it: a range to then has no end."""
    start = dt.datetime.combine(since, dt.time(), zone).astimezone(dt.UTC) if since else None
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC) \
        if until and until < dt.date.max else None
    return Period(start, end)


@dataclass(frozen=True, slots=True)
class GoalReportFilter:
    customer_id: str = ""  # "": every customer
    status: str = ""  # a GoalStatus value; "": every status, archived included
    category: str = ""  # a GoalCategory value; "": every category
    created: Period = Period()


@dataclass(frozen=True, slots=True)
class HistoryReportFilter:
    customer_id: str = ""
    kinds: tuple[str, ...] = ()  # HistoryKind values; empty: every kind
    created: Period = Period()


@dataclass(frozen=True, slots=True)
class TransferReportFilter:
    customer_id: str = ""
    kinds: tuple[str, ...] = ()  # PROGRAMME_* and TRANSFER_* kinds; empty: all of them
    happened: Period = Period()


@dataclass(frozen=True, slots=True)
class GoalReportLine:
    customer_id: str
    account_id: str
    goal_id: str
    name: str
    category: str
    target: Decimal
    saved: Decimal
    currency: str
    status: str
    created_at: dt.datetime
    achieved_at: dt.datetime | None
    archived_at: dt.datetime | None
    target_date: dt.date | None
    milestones_reached: tuple[str, ...]

    @property
    def percent(self) -> Decimal:
        return progress_percent(self.saved, self.target)


@dataclass(frozen=True, slots=True)
class HistoryReportLine:
    customer_id: str
    entry_id: str
    kind: str
    actor: str
    actor_id: str
    at: dt.datetime
    goal_id: str
    resource: str
    before: Mapping[str, str | None] = field(default_factory=dict)
    after: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransferReportLine:
    """A programme event (transfer_id "", no transfer fields) or a transfer event."""

    customer_id: str
    goal_id: str
    programme_id: str
    transfer_id: str
    kind: str
    actor: str
    at: dt.datetime
    # Where the line stands in the view: (at, the history entry's or the transfer's id, 0 for a programme
    # event, 1 for a request, 2 for a settlement): unique, so a page boundary never splits a tie.
    event_id: str
    sequence: int
    programme_status: str = ""
    amount: Decimal | None = None
    currency: str = ""
    source_account_id: str = ""
    target_account_id: str = ""
    transfer_status: str = ""
    period_key: str = ""
    failure_reason: str = ""
    transaction_id: str = ""

    @property
    def key(self) -> tuple[dt.datetime, str, int]:
        return self.at, self.event_id, self.sequence


def programme_id_of(resource: str) -> str:
    """The programme id in a programme's resource name (`.../fundingProgrammes/{id}`); "" otherwise."""
    _, found, tail = resource.rpartition("fundingProgrammes/")
    return tail.split("/", 1)[0] if found else ""


@dataclass(frozen=True, slots=True)
class ProgrammeEvent:
    """A programme's history entry, as far as its status goes."""

    programme_id: str
    at: dt.datetime
    entry_id: str
    kind: str
    after: Mapping[str, Any]


def status_after(kind: str, after: Mapping[str, Any], current: str) -> str:
    """A programme's status once an event of `kind` changed it: the entry's `status` when it names one (a
    pause or resume), ACTIVE when created, CANCELLED when cancelled, else unchanged (an edit)."""
    if isinstance(after.get("status"), str):
        return str(after["status"])
    if kind == "PROGRAMME_CREATED":
        return "ACTIVE"
    if kind == "PROGRAMME_CANCELLED":
        return "CANCELLED"
    return current


def with_programme_status(lines: Iterable[TransferReportLine], events: Iterable[ProgrammeEvent],
                          current: Mapping[str, str]) -> list[TransferReportLine]:
    """Each line with its programme's status just after it: its programme's events up to the line (in the
    view's order) applied in turn. A programme without a history (loaded, not created through the API)
    shows its status now (`current`)."""
    by_programme: dict[str, list[ProgrammeEvent]] = {}
    for event in sorted(events, key=lambda e: (e.at, e.entry_id)):
        by_programme.setdefault(event.programme_id, []).append(event)
    result = []
    for line in lines:
        history = by_programme.get(line.programme_id, [])
        if not history:
            status = current.get(line.programme_id, "")
        else:
            status = ""
            for event in history:
                if (event.at, event.entry_id, 0) > line.key:
                    break
                status = status_after(event.kind, event.after, status)
        result.append(replace(line, programme_status=status))
    return result
