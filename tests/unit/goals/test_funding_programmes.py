"""Programmes over time: what each planning run requests, the lifecycle, and postings naming a transfer."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import FailedPrecondition
from server.domain.goals.funding import (
    FixedAmount,
    Programme,
    ProgrammeAction,
    ProgrammeStatus,
    RoundUp,
    Schedule,
    ScheduledAmount,
    ScheduleKind,
    Transfer,
    TransferStatus,
    confirms,
    dates_to_plan,
    due_dates,
    is_salary_credit,
    marked_transfer_ids,
    period_key,
    planned_through_on_resume,
    programme_status_after,
)
from server.domain.reasons import Reason

NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
START = dt.date(2024, 1, 1)


def programme(schedule: Schedule, **fields) -> Programme:
    return Programme("p1", "c1", "g1", "c1-chk", fields.pop("status", ProgrammeStatus.ACTIVE),
                     ScheduledAmount(schedule, FixedAmount(Decimal("10.00"))), NOW, NOW, **fields)


schedules = st.one_of(
    st.builds(Schedule, st.sampled_from([ScheduleKind.WEEKLY, ScheduleKind.BIWEEKLY]),
              st.dates(dt.date(2023, 1, 1), dt.date(2025, 12, 31))),
    st.builds(Schedule, st.just(ScheduleKind.MONTHLY), st.dates(dt.date(2023, 1, 1), dt.date(2025, 12, 31)),
              st.integers(1, 31)))


@given(schedules, st.lists(st.integers(0, 120), min_size=1, max_size=12))
def test_runs_on_any_days_request_each_due_date_once(schedule, gaps):
    """However the planning runs fall (daily, after a gap, twice a day), the transfers requested are the
    schedule's due dates, each once, one per period."""
    current, today, requested = programme(schedule), dt.date(2024, 1, 1), []
    for gap in gaps:
        today += dt.timedelta(days=gap)
        requested += dates_to_plan(current, today)
        current = replace(current, planned_through=today)
    assert requested == due_dates(schedule, schedule.start, today)
    keys = [period_key(schedule, due) for due in requested]
    assert len(keys) == len(set(keys))


def test_month_ends_fall_on_the_last_day_and_leap_years_have_a_29th():
    monthly = programme(Schedule(ScheduleKind.MONTHLY, START, 31))
    assert dates_to_plan(monthly, dt.date(2025, 3, 1))[:4] == [
        dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31), dt.date(2024, 4, 30)]
    assert dt.date(2025, 2, 28) in dates_to_plan(monthly, dt.date(2025, 3, 1))


def test_paused_and_rule_programmes_plan_nothing_and_resuming_skips_the_pause():
    weekly = programme(Schedule(ScheduleKind.WEEKLY, START), planned_through=dt.date(2024, 1, 14))
    assert dates_to_plan(replace(weekly, status=ProgrammeStatus.PAUSED), dt.date(2024, 2, 1)) == []
    rule = replace(weekly, plan=RoundUp())
    assert dates_to_plan(rule, dt.date(2024, 2, 1)) == []
    resumed = replace(weekly, planned_through=planned_through_on_resume(weekly.planned_through, dt.date(2024, 1, 29)))
    # Resumed on a due date: that one is requested; the 15th and 22nd are not made up.
    assert dates_to_plan(resumed, dt.date(2024, 2, 5)) == [dt.date(2024, 1, 29), dt.date(2024, 2, 5)]
    # Resuming never moves planned_through back.
    assert planned_through_on_resume(dt.date(2024, 3, 1), dt.date(2024, 2, 1)) == dt.date(2024, 3, 1)


@pytest.mark.parametrize(("status", "action", "after"), [
    (ProgrammeStatus.ACTIVE, ProgrammeAction.PAUSE, ProgrammeStatus.PAUSED),
    (ProgrammeStatus.PAUSED, ProgrammeAction.RESUME, ProgrammeStatus.ACTIVE),
    (ProgrammeStatus.ACTIVE, ProgrammeAction.CANCEL, ProgrammeStatus.CANCELLED),
    (ProgrammeStatus.PAUSED, ProgrammeAction.CANCEL, ProgrammeStatus.CANCELLED),
    (ProgrammeStatus.PAUSED, ProgrammeAction.UPDATE, ProgrammeStatus.PAUSED),
])
def test_programme_lifecycle(status, action, after):
    assert programme_status_after(status, action) == after


@pytest.mark.parametrize(("status", "action"), [
    (ProgrammeStatus.PAUSED, ProgrammeAction.PAUSE), (ProgrammeStatus.ACTIVE, ProgrammeAction.RESUME),
    (ProgrammeStatus.CANCELLED, ProgrammeAction.RESUME), (ProgrammeStatus.CANCELLED, ProgrammeAction.CANCEL),
    (ProgrammeStatus.CANCELLED, ProgrammeAction.UPDATE),
])
def test_illegal_programme_changes(status, action):
    with pytest.raises(FailedPrecondition) as raised:
        programme_status_after(status, action)
    assert raised.value.code == Reason.FUNDING_PROGRAMME_TRANSITION_NOT_ALLOWED


def test_a_posting_confirms_the_transfer_it_names_into_its_target_account():
    transfer = Transfer("t1", "p1", "c1", "g1", "2024-01", Decimal("25.0000"), "EUR", "c1-chk", "c1-sav",
                        TransferStatus.REQUESTED, START, NOW, NOW)
    assert marked_transfer_ids("tx-1", "Savings engage-transfer:t1 thanks") == {"t1"}
    assert marked_transfer_ids("engage-transfer:t1", "") == {"t1"}
    assert marked_transfer_ids("tx-1", "rent") == set()
    assert confirms(transfer, "c1-sav", Decimal("25.00"), "EUR")
    assert not confirms(transfer, "c1-chk", Decimal("25.00"), "EUR")  # the debit side
    assert not confirms(transfer, "c1-sav", Decimal("24.99"), "EUR")
    assert not confirms(transfer, "c1-sav", Decimal("25.00"), "CZK")


def test_salary_credits_by_category():
    assert is_salary_credit("SALARY", Decimal("1")) and is_salary_credit(" salary ", Decimal("1"))
    assert not is_salary_credit("SALARY", Decimal("-1")) and not is_salary_credit("GIFT", Decimal("1"))
