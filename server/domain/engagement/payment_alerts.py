"""Payment alerts: which event a bank sends about card and loan payments, and the calendar rules of its
reminders (docs/services/engagement.md#payment-alerts). Pure: the tenant's "today" is given.

A reminder is due in a window of local days, not on one day, so that a run missed (the worker down at
midnight) is caught up by the next; the trigger key (one per alert and statement) makes it go out once:

- DUE, `days_before_due` = N: from due_date - N to due_date inclusive;
- OVERDUE: from due_date + 1 to due_date + OVERDUE_CATCH_UP_DAYS inclusive (a statement found
  unpaid a month late is no news to remind of).

Either is sent only for the account's latest statement (an older one's amount is carried into the
newer), and only while the minimum is not covered: the payments counted are those made after the
statement closed (from the start of the day after statement_date, in the tenant's time zone) up to the
run: credit transactions posted to the account, or processed scheduled payments towards it, whichever
total is larger (a processed payment usually arrives as a credit too: the same money is never counted
twice)."""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.ingest.statements import PaymentState

MAX_DAYS_BEFORE_DUE = 60
OVERDUE_CATCH_UP_DAYS = 7


class PaymentAlertKind(enum.StrEnum):
    DUE = "DUE"
    OVERDUE = "OVERDUE"
    SCHEDULED = "SCHEDULED"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"

    @property
    def is_reminder(self) -> bool:
        """Sent by the daily run from statements (the others: when a scheduled payment is ingested)."""
        return self in (PaymentAlertKind.DUE, PaymentAlertKind.OVERDUE)


# The payment state each notice kind reports.
NOTICE_STATES = {PaymentAlertKind.SCHEDULED: PaymentState.SCHEDULED,
                 PaymentAlertKind.PROCESSED: PaymentState.PROCESSED,
                 PaymentAlertKind.FAILED: PaymentState.FAILED}


@dataclass(frozen=True)
class PaymentAlert:
    alert_id: str
    event_id: str
    kind: PaymentAlertKind
    days_before_due: int
    created_at: dt.datetime


def check_payment_alert(kind: PaymentAlertKind, days_before_due: int) -> None:
    """PAYMENT_ALERT_INVALID: days_before_due is 0-60 for DUE and 0 (unset) for the other kinds."""
    if kind is PaymentAlertKind.DUE and not 0 <= days_before_due <= MAX_DAYS_BEFORE_DUE:
        raise InvalidArgument("PAYMENT_ALERT_INVALID", f"days_before_due must be 0-{MAX_DAYS_BEFORE_DUE}",
                              violations=[FieldViolation("payment_alert.days_before_due",
                                                         f"0-{MAX_DAYS_BEFORE_DUE}")])
    if kind is not PaymentAlertKind.DUE and days_before_due != 0:
        raise InvalidArgument("PAYMENT_ALERT_INVALID", "days_before_due applies to PAYMENT_ALERT_KIND_DUE only",
                              violations=[FieldViolation("payment_alert.days_before_due",
                                                         "only with kind PAYMENT_ALERT_KIND_DUE")])


def local_today(now: dt.datetime, time_zone: str) -> dt.date:
    """The tenant's calendar day at `now`."""
    return now.astimezone(zoneinfo.ZoneInfo(time_zone)).date()


def reminder_window(kind: PaymentAlertKind, days_before_due: int, due_date: dt.date) -> tuple[dt.date, dt.date]:
    """The local days (first, last, inclusive) on which the reminder is due."""
    if kind is PaymentAlertKind.DUE:
        return due_date - dt.timedelta(days=days_before_due), due_date
    if kind is PaymentAlertKind.OVERDUE:
        return due_date + dt.timedelta(days=1), due_date + dt.timedelta(days=OVERDUE_CATCH_UP_DAYS)
    raise ValueError(f"{kind} is not a reminder")


def is_reminder_day(kind: PaymentAlertKind, days_before_due: int, due_date: dt.date, today: dt.date) -> bool:
    first, last = reminder_window(kind, days_before_due, due_date)
    return first <= today <= last


def due_dates_to_read(today: dt.date, max_days_before_due: int) -> tuple[dt.date, dt.date]:
    """The due dates (first, last, inclusive) of statements any reminder may be due for on `today`."""
    return today - dt.timedelta(days=OVERDUE_CATCH_UP_DAYS), today + dt.timedelta(days=max_days_before_due)


def payments_counted_from(statement_date: dt.date, time_zone: str) -> dt.datetime:
    """The instant from which payments count towards a statement: the start of the day after it closed,
    in the tenant's time zone (as UTC)."""
    start = dt.datetime.combine(statement_date + dt.timedelta(days=1), dt.time(), zoneinfo.ZoneInfo(time_zone))
    return start.astimezone(dt.UTC)


def amount_paid(credits: Decimal, processed_payments: Decimal) -> Decimal:
    """What counts as paid: the larger of the two totals (see the module's note)."""
    return max(credits, processed_payments)


def is_covered(minimum_due: Decimal, paid: Decimal) -> bool:
    """Nothing to remind of: no minimum, or payments of at least the minimum."""
    return minimum_due <= 0 or paid >= minimum_due


def days_left(due_date: dt.date, today: dt.date) -> int:
    """Days until the due date (0 on the day, negative once overdue)."""
    return (due_date - today).days


def reminder_key(alert_id: str, statement_id: str) -> str:
    """The trigger key of one alert's reminder of one statement: it goes out once."""
    return f"pay-remind:{alert_id}:{statement_id}"


def notice_key(alert_id: str, payment_id: str, state: PaymentState) -> str:
    return f"pay-notice:{alert_id}:{payment_id}:{state.value}"
