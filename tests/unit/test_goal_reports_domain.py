"""The reporting views' pure rules: dates as days of the tenant's zone, a programme's status at each
event, and a transfer event showing the transfer as it stood then."""

import datetime as dt
import zoneinfo
from decimal import Decimal

from server.domain.goals.reports import (
    HistoryReportLine,
    Period,
    ProgrammeEvent,
    TransferFacts,
    local_days,
    programme_id_of,
    transfer_id_of,
    transfer_line,
    with_programme_status,
)

UTC = dt.UTC
T0 = dt.datetime(2025, 3, 1, 10, tzinfo=UTC)
PROGRAMME = "customers/c1/goals/g1/fundingProgrammes/p1"


def test_dates_are_whole_days_of_the_zone():
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    assert local_days(dt.date(2025, 1, 12), dt.date(2025, 1, 12), tokyo) == Period(
        dt.datetime(2025, 1, 11, 15, tzinfo=UTC), dt.datetime(2025, 1, 12, 15, tzinfo=UTC))
    assert local_days(None, dt.date.max, UTC) == Period(None, None)
    assert local_days(dt.date(2025, 3, 30), None, zoneinfo.ZoneInfo("Europe/Prague")).start == dt.datetime(
        2025, 3, 29, 23, tzinfo=UTC)


def test_ids_come_from_resource_names():
    assert programme_id_of(PROGRAMME) == "p1"
    assert (programme_id_of(f"{PROGRAMME}/transfers/t1"), transfer_id_of(f"{PROGRAMME}/transfers/t1")) == ("p1", "t1")
    assert (programme_id_of("customers/c1/goals/g1"), transfer_id_of(PROGRAMME)) == ("", "")


def entry(entry_id: str, kind: str, at: dt.datetime, resource: str) -> HistoryReportLine:
    return HistoryReportLine("c1", entry_id, kind, "SERVICE", "", at, "g1", resource)


FACTS = TransferFacts(Decimal("50"), "EUR", "c1-chk", "c1-sav", "FAILED", "2025-04", "no funds", "")


def test_a_request_shows_the_transfer_as_requested_whatever_it_became():
    requested = transfer_line(entry("e1", "TRANSFER_REQUESTED", T0, f"{PROGRAMME}/transfers/t1"), FACTS)
    failed = transfer_line(entry("e2", "TRANSFER_FAILED", T0, f"{PROGRAMME}/transfers/t1"), FACTS)
    assert (requested.transfer_status, requested.failure_reason, requested.amount) == ("REQUESTED", "", Decimal("50"))
    assert (failed.transfer_status, failed.failure_reason, failed.period_key) == ("FAILED", "no funds", "2025-04")
    programme = transfer_line(entry("e3", "PROGRAMME_CREATED", T0, PROGRAMME), None)
    assert (programme.programme_id, programme.transfer_id, programme.amount) == ("p1", "", None)


def test_each_line_has_its_programmes_status_just_after_it():
    events = [ProgrammeEvent("p1", T0, "b", "PROGRAMME_CREATED", {"status": "ACTIVE"}),
              ProgrammeEvent("p1", T0 + dt.timedelta(days=1), "c", "PROGRAMME_CHANGED", {"status": "PAUSED"}),
              ProgrammeEvent("p1", T0 + dt.timedelta(days=2), "d", "PROGRAMME_CHANGED", {"source_account_id": "x"}),
              ProgrammeEvent("p1", T0 + dt.timedelta(days=3), "z", "PROGRAMME_CANCELLED", {})]
    lines = [transfer_line(entry(e.entry_id, e.kind, e.at, PROGRAMME), None) for e in events]
    # Cancelled at the same instant as the programme, with an id that sorts first.
    cancelled = transfer_line(entry("a", "TRANSFER_CANCELLED", T0 + dt.timedelta(days=3),
                                    f"{PROGRAMME}/transfers/t1"), FACTS)
    shown = with_programme_status([*lines, cancelled], events, {"p1": "CANCELLED"})
    assert [line.programme_status for line in shown] == ["ACTIVE", "PAUSED", "PAUSED", "CANCELLED", "CANCELLED"]
    # A programme loaded without a history shows its status now.
    other = transfer_line(entry("e9", "TRANSFER_REQUESTED", T0, "customers/c1/goals/g1/fundingProgrammes/p2/"
                                                              "transfers/t9"), FACTS)
    assert with_programme_status([other], events, {"p2": "PAUSED"})[0].programme_status == "PAUSED"
