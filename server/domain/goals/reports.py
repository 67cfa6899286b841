"""The goals reporting views (docs/reports.md): what each row holds, what a view may be filtered by, and the
programme's state at each programme or transfer event.

Three views, each tenant-wide and read-only:
 - Goals: one line per goal, archived ones included, by customer and then oldest goal first.
 - Customer History: every history entry, oldest first, so that an export reads as a log.
 - Funding programmes: the history's programme events (PROGRAMME_*) and transfer events (TRANSFER_*), oldest
   first, each with its programme's status just after it and, for a transfer event, the transfer as it
   stood then: a transfer is REQUESTED and then settled once (EXECUTED, FAILED or CANCELLED), so its amount,
   accounts and period never change, and the settling event alone has a failure reason or transaction id.

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
FUNDING_KINDS = PROGRAMME_KINDS + TRANSFER_KINDS


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in UTC; None where open."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None


def local_days(since: dt.date | None, until: dt.date | None, zone: dt.tzinfo) -> Period:
    """The instants of the dates `since` to `until` (both inclusive) in `zone`. The day after 9999-12-31
    is no date, and nothing comes after it: a range to then has no end. Nor is there anything before
    0001-01-01 in UTC, where that day begins in a zone ahead of UTC: a range from then has no start."""
    try:
        start = dt.datetime.combine(since, dt.time(), zone).astimezone(dt.UTC) if since else None
    except OverflowError:
        start = None
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
    """A programme event (transfer_id "", no transfer fields) or a transfer event: one history entry."""

    customer_id: str
    goal_id: str
    programme_id: str
    transfer_id: str
    entry_id: str
    kind: str
    actor: str
    at: dt.datetime
    programme_status: str = ""
    amount: Decimal | None = None
    currency: str = ""
    source_account_id: str = ""
    target_account_id: str = ""
    transfer_status: str = ""
    period_key: str = ""
    failure_reason: str = ""
    transaction_id: str = ""


@dataclass(frozen=True, slots=True)
class TransferFacts:
    """What a transfer instruction holds (its row now)."""

    amount: Decimal
    currency: str
    source_account_id: str
    target_account_id: str
    status: str
    period_key: str
    failure_reason: str
    transaction_id: str


def _id_after(resource: str, collection: str) -> str:
    _, found, tail = resource.rpartition(f"/{collection}/")
    return tail.split("/", 1)[0] if found else ""


def programme_id_of(resource: str) -> str:
    """The programme id in a programme's or transfer's resource name; "" in another."""
    return _id_after(resource, "fundingProgrammes")


def transfer_id_of(resource: str) -> str:
    return _id_after(resource, "transfers")


def transfer_line(entry: HistoryReportLine, transfer: TransferFacts | None) -> TransferReportLine:
    """A history entry of the funding view as its line; a transfer event with the transfer as it stood
    after it (REQUESTED for the request, whatever the transfer became later)."""
    line = TransferReportLine(customer_id=entry.customer_id, goal_id=entry.goal_id,
                              programme_id=programme_id_of(entry.resource), transfer_id=transfer_id_of(entry.resource),
                              entry_id=entry.entry_id, kind=entry.kind, actor=entry.actor, at=entry.at)
    if transfer is None or entry.kind not in TRANSFER_KINDS:
        return line
    status = entry.kind.removeprefix("TRANSFER_")
    settling = status != "REQUESTED"
    return replace(line, amount=transfer.amount, currency=transfer.currency,
                   source_account_id=transfer.source_account_id, target_account_id=transfer.target_account_id,
                   transfer_status=status, period_key=transfer.period_key,
                   failure_reason=transfer.failure_reason if settling else "",
                   transaction_id=transfer.transaction_id if settling else "")


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
    view's order) applied in turn. A transfer event takes every programme event of its instant as before
    it: cancelling a programme cancels its requested transfers at the same moment, and those show the
    programme CANCELLED whatever order their ids give them. A programme without any such event before
    the line (loaded, not created through the API) shows its status now (`current`)."""
    by_programme: dict[str, list[ProgrammeEvent]] = {}
    for event in sorted(events, key=lambda e: (e.at, e.entry_id)):
        by_programme.setdefault(event.programme_id, []).append(event)
    result = []
    for line in lines:
        status = ""
        for event in by_programme.get(line.programme_id, []):
            if (event.at, event.entry_id) > (line.at, line.entry_id) and not (event.at == line.at and line.transfer_id):
                break
            status = status_after(event.kind, event.after, status)
        result.append(replace(line, programme_status=status or current.get(line.programme_id, "")))
    return result
