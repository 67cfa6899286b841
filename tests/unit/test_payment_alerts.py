"""The calendar rules of payment reminders (server.domain.engagement.payment_alerts) and the checks of
statements and scheduled payments (server.domain.ingest.statements): pure, property-tested."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.engagement.payment_alerts import (
    MAX_DAYS_BEFORE_DUE,
    OVERDUE_CATCH_UP_DAYS,
    PaymentAlertKind,
    amount_paid,
    check_payment_alert,
    days_left,
    due_dates_to_read,
    is_covered,
    is_reminder_day,
    local_today,
    payments_counted_from,
    reminder_window,
)
from server.domain.errors import DomainError, FailedPrecondition, InvalidArgument
from server.domain.ingest.statements import (
    PaymentState,
    ScheduledPayment,
    Statement,
    check_scheduled_payment,
    check_statement,
    check_transition,
    settled_at,
)

ZONES = st.sampled_from(["UTC", "Europe/Prague", "Asia/Tokyo", "America/Los_Angeles", "Pacific/Kiritimati",
                         "Pacific/Pago_Pago", "Asia/Kathmandu", "Australia/Lord_Howe"])
DAYS = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31))
INSTANTS = st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2090, 12, 30),
                        timezones=st.just(dt.UTC))
LEADS = st.integers(min_value=0, max_value=MAX_DAYS_BEFORE_DUE)
AMOUNTS = st.decimals(min_value=0, max_value=Decimal("1e9"), places=2, allow_nan=False, allow_infinity=False)


@given(DAYS, DAYS, LEADS)
def test_a_due_reminder_is_due_from_n_days_before_to_the_due_date(due, today, lead):
    expected = 0 <= (due - today).days <= lead
    assert is_reminder_day(PaymentAlertKind.DUE, lead, due, today) is expected
    assert reminder_window(PaymentAlertKind.DUE, lead, due) == (due - dt.timedelta(days=lead), due)


@given(DAYS, DAYS)
def test_an_overdue_reminder_is_due_in_the_week_after_the_due_date(due, today):
    expected = 1 <= (today - due).days <= OVERDUE_CATCH_UP_DAYS
    assert is_reminder_day(PaymentAlertKind.OVERDUE, 0, due, today) is expected
    # Never both on one day: a statement is due or overdue.
    assert not (expected and is_reminder_day(PaymentAlertKind.DUE, MAX_DAYS_BEFORE_DUE, due, today))


@given(DAYS, st.lists(LEADS, min_size=1, max_size=5), DAYS)
def test_the_statements_read_hold_every_due_date_any_alert_is_due_for(today, leads, due):
    first, last = due_dates_to_read(today, max(leads))
    wanted = any(is_reminder_day(PaymentAlertKind.DUE, lead, due, today) for lead in leads) or \
        is_reminder_day(PaymentAlertKind.OVERDUE, 0, due, today)
    if wanted:
        assert first <= due <= last


@given(INSTANTS, ZONES)
def test_the_tenants_today_is_the_day_on_its_wall_clock(now, zone):
    today = local_today(now, zone)
    assert today == now.astimezone(zoneinfo.ZoneInfo(zone)).date()
    assert abs((today - now.date()).days) <= 1  # time zones are within a day of UTC


@given(DAYS, ZONES)
def test_payments_count_from_the_start_of_the_day_after_the_statement_closed(closed, zone):
    since = payments_counted_from(closed, zone)
    assert since.tzinfo is not None
    local = since.astimezone(zoneinfo.ZoneInfo(zone))
    assert local.date() == closed + dt.timedelta(days=1)
    # A moment earlier is still the closing day (or, across a gap at midnight, earlier).
    assert (since - dt.timedelta(microseconds=1)).astimezone(zoneinfo.ZoneInfo(zone)).date() <= closed


@given(AMOUNTS, AMOUNTS, AMOUNTS)
def test_a_minimum_is_covered_by_the_larger_of_credits_and_processed_payments(minimum, credits, processed):
    paid = amount_paid(credits, processed)
    assert paid == max(credits, processed)
    assert is_covered(minimum, paid) is (minimum == 0 or paid >= minimum)


@given(DAYS, DAYS)
def test_days_left_count_down_to_zero_on_the_due_date(due, today):
    assert today + dt.timedelta(days=days_left(due, today)) == due


@given(st.sampled_from(list(PaymentAlertKind)), st.integers(min_value=-5, max_value=70))
def test_only_a_due_alert_has_days_before_due(kind, days):
    valid = (0 <= days <= MAX_DAYS_BEFORE_DUE) if kind is PaymentAlertKind.DUE else days == 0
    if valid:
        check_payment_alert(kind, days)
    else:
        with pytest.raises(InvalidArgument) as raised:
            check_payment_alert(kind, days)
        assert raised.value.code == "PAYMENT_ALERT_INVALID"


@given(DAYS, st.integers(min_value=-40, max_value=40), AMOUNTS, AMOUNTS)
def test_a_statement_is_valid_when_due_on_or_after_it_closed(closed, offset, minimum, balance):
    statement = Statement("s-1", "card-1", closed, closed + dt.timedelta(days=offset), minimum, balance, "CZK")
    if offset >= 0:
        check_statement(statement)
    else:
        with pytest.raises(InvalidArgument) as raised:
            check_statement(statement)
        assert (raised.value.code, [v.field for v in raised.value.violations]) == (
            "INVALID_STATEMENT", ["statement.due_date"])


def test_a_statement_names_every_field_that_is_wrong():
    with pytest.raises(InvalidArgument) as raised:
        check_statement(Statement("", "a/b", None, None, Decimal(-1), Decimal("0.00001"), "czk"))
    assert sorted(v.field for v in raised.value.violations) == [
        "statement.account_id", "statement.due_date", "statement.minimum_due", "statement.minimum_due.currency_code",
        "statement.statement_balance", "statement.statement_date", "statement.statement_id"]


@given(st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False))
def test_a_scheduled_payment_is_of_more_than_zero(amount):
    payment = ScheduledPayment("p-1", "card-1", amount, "CZK", dt.date(2024, 3, 1), PaymentState.SCHEDULED)
    if amount > 0:
        check_scheduled_payment(payment)
    else:
        with pytest.raises(InvalidArgument) as raised:
            check_scheduled_payment(payment)
        assert raised.value.code == "INVALID_SCHEDULED_PAYMENT"


@given(st.none() | st.sampled_from(list(PaymentState)), st.sampled_from(list(PaymentState)))
def test_a_final_state_is_kept(before, after):
    def made(state: PaymentState) -> ScheduledPayment:
        return ScheduledPayment("p-1", "card-1", Decimal(5), "CZK", dt.date(2024, 3, 1), state)

    stored = None if before is None else made(before)
    allowed = before is None or before is PaymentState.SCHEDULED or before is after
    try:
        check_transition(stored, made(after))
        assert allowed
    except DomainError as error:
        assert not allowed and isinstance(error, FailedPrecondition) and error.code == "PAYMENT_STATE_FINAL"


@given(st.none() | st.sampled_from(list(PaymentState)), st.sampled_from(list(PaymentState)), st.booleans())
def test_a_final_state_is_timed_once(before, after, bank_gave_time):
    stored_time, given_time, now = (dt.datetime(2024, 3, day, tzinfo=dt.UTC) for day in (1, 2, 3))

    def made(state: PaymentState, settled: dt.datetime | None) -> ScheduledPayment:
        return ScheduledPayment("p-1", "card-1", Decimal(5), "CZK", dt.date(2024, 3, 1), state, settled)

    stored = None if before is None else made(before, stored_time if before.final else None)
    when = settled_at(stored, made(after, given_time if bank_gave_time else None), now)
    if after is PaymentState.SCHEDULED:
        assert when is None
    elif before is after:
        assert when == stored_time
    else:
        assert when == (given_time if bank_gave_time else now)
