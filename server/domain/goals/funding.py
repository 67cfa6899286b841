"""Funding programmes: money moved into a goal on a schedule or by a rule, as transfer instructions that
the bank's payment system carries out. Pure: the worker reads the dates and amounts from here.

Schedules (FUNDING_SCHEDULE_INVALID when malformed):
 - WEEKLY / BIWEEKLY: every 7 / 14 days from `start` (so on start's weekday); no day of the month.
 - MONTHLY: on `day_of_month` (1..31) of every month from `start`'s, the first due date being the first on
   or after `start`. A day the month does not have falls on its last day: 31 is the 30th in April and
   the 28th (29th in a leap year) in February; 29 and 30 likewise in February. Each month is computed
   from the day asked for, never from last month's clamped date (31 Jan, 29 Feb, 31 Mar in 2024).
 - due_dates(schedule, from, to): the due dates in [from, to], both inclusive, oldest first.
 - period_key(schedule, due_date): the idempotency key of a due date's period, one per programme and
   period: "YYYY-MM" for MONTHLY (a programme transfers once in a calendar month whichever day it runs),
   the due date in ISO form ("2024-02-29") for WEEKLY and BIWEEKLY.

Rules, for each posting the programme watches:
 - RoundUp(step, multiplier): a card spending (money out of a card or checking account) rounded up to the
   next multiple of `step` (1.00 by default): the difference, times `multiplier`; 0 when the spending is
   a whole multiple already. 12.30 with step 1 gives 0.70; with multiplier 2, 1.40. The spending is taken
   to the cent (half-up) first, so the round-up is whole cents in [0, step) before the multiplier. Step:
   0.01..100.00 in whole cents; multiplier 1..10 (FUNDING_RULE_INVALID otherwise).
 - SalaryPercentage(percent): `percent` of each salary credit (money in that the bank categorised as
   salary), rounded half-up to the cent; nothing for other postings. Percent: more than 0, at most 100,
   at most two decimals (FUNDING_AMOUNT_INVALID otherwise).
 - FixedAmount(amount): the amount each scheduled date transfers: more than 0, whole cents, storable
   (FUNDING_AMOUNT_INVALID otherwise).

Transfer instructions go REQUESTED -> EXECUTED, FAILED or CANCELLED, and no further (advance()); any other
change is FAILED_PRECONDITION TRANSFER_TRANSITION_NOT_ALLOWED. Asking for the status an instruction has
already is an idempotent no-op, not an error: the bank may confirm twice (by RPC and by the matching
ingested transaction), and a retried confirmation must not fail.

Programmes are ACTIVE, PAUSED (no transfers are created, the programme is kept) or CANCELLED (final).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from server.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument
from server.domain.goals.months import on_day
from server.domain.money import MAX_ABS_AMOUNT
from server.domain.reasons import Reason

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
MAX_ROUND_UP_STEP = Decimal(100)  # beyond that it is a transfer of its own, not spare change
MAX_ROUND_UP_MULTIPLIER = 10
# Where a negative posting is card spending that a round-up rule applies to.
ROUND_UP_ACCOUNT_TYPES = frozenset({"CHECKING", "CREDIT"})
ROUND_UP_CONTAINERS = frozenset({"CREDIT_CARD"})


class ScheduleKind(enum.StrEnum):
    WEEKLY = "WEEKLY"
    BIWEEKLY = "BIWEEKLY"
    MONTHLY = "MONTHLY"


_STEP_DAYS = {ScheduleKind.WEEKLY: 7, ScheduleKind.BIWEEKLY: 14}


def _schedule_invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(
        Reason.FUNDING_SCHEDULE_INVALID,
        f"the funding schedule's {field} {description}",
        violations=[FieldViolation(f"schedule.{field}", description)],
    )


@dataclass(frozen=True, slots=True)
class Schedule:
    kind: ScheduleKind
    start: dt.date
    day_of_month: int | None = None  # MONTHLY only: 1..31, clamped to shorter months' last day

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ScheduleKind):
            raise _schedule_invalid("kind", "must be WEEKLY, BIWEEKLY or MONTHLY")
        if not isinstance(self.start, dt.date) or isinstance(self.start, dt.datetime):
            raise _schedule_invalid("start", "must be a date")
        if self.kind == ScheduleKind.MONTHLY:
            day = self.day_of_month
            if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 31:
                raise _schedule_invalid("day_of_month", "must be 1..31 for a monthly schedule")
        elif self.day_of_month is not None:
            raise _schedule_invalid("day_of_month", "is for monthly schedules only")


def due_dates(schedule: Schedule, from_date: dt.date, to_date: dt.date) -> list[dt.date]:
    """The schedule's due dates from `from_date` to `to_date`, both included, oldest first."""
    first = max(from_date, schedule.start)
    if first > to_date:
        return []
    if schedule.day_of_month is None:
        step = _STEP_DAYS[schedule.kind]
        offset = first - schedule.start
        # Steps counted from start: no date past `to_date` is ever made (none can overflow the calendar).
        first_step = -(-offset.days // step)
        last_step = (to_date - schedule.start).days // step
        return [schedule.start + dt.timedelta(days=n * step) for n in range(first_step, last_step + 1)]
    dates = []
    for month_index in range(first.year * 12 + first.month - 1, to_date.year * 12 + to_date.month):
        due = on_day(month_index // 12, month_index % 12 + 1, schedule.day_of_month)
        if first <= due <= to_date:
            dates.append(due)
    return dates


def period_key(schedule: Schedule, due_date: dt.date) -> str:
    """The period a due date opens, as the programme's idempotency key for it."""
    if schedule.kind == ScheduleKind.MONTHLY:
        return f"{due_date.year:04d}-{due_date.month:02d}"
    return due_date.isoformat()


def round_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _whole_cents_within(value: object, low: Decimal, high: Decimal) -> bool:
    """A Decimal of whole cents in low..high (an int, a float or NaN is not)."""
    return isinstance(value, Decimal) and value.is_finite() and low <= value <= high and value == value.quantize(CENT)


def is_card_spending(account_type: str, container: str, amount: Decimal) -> bool:
    """Whether a posting is spending a round-up applies to: money out of a card or checking account."""
    return amount < 0 and (account_type in ROUND_UP_ACCOUNT_TYPES or container in ROUND_UP_CONTAINERS)


@dataclass(frozen=True, slots=True)
class RoundUp:
    step: Decimal = Decimal("1.00")
    multiplier: int = 1

    def __post_init__(self) -> None:
        if not _whole_cents_within(self.step, CENT, MAX_ROUND_UP_STEP):
            raise InvalidArgument(
                Reason.FUNDING_RULE_INVALID,
                f"a round-up step must be 0.01..{MAX_ROUND_UP_STEP} in whole cents",
                violations=[FieldViolation("rule.round_up.step", f"0.01..{MAX_ROUND_UP_STEP}, whole cents")],
            )
        multiplier = self.multiplier
        if (
            isinstance(multiplier, bool)
            or not isinstance(multiplier, int)
            or not 1 <= multiplier <= MAX_ROUND_UP_MULTIPLIER
        ):
            raise InvalidArgument(
                Reason.FUNDING_RULE_INVALID,
                f"a round-up multiplier must be 1..{MAX_ROUND_UP_MULTIPLIER}",
                violations=[FieldViolation("rule.round_up.multiplier", f"1..{MAX_ROUND_UP_MULTIPLIER}")],
            )

    def amount_for(self, posting_amount: Decimal) -> Decimal:
        """The round-up of a spending (a negative posting amount, already known to be card spending);
        0.00 for money in."""
        if posting_amount >= 0:
            return ZERO
        remainder = round_cents(-posting_amount) % self.step
        if not remainder:
            return ZERO
        return ((self.step - remainder) * self.multiplier).quantize(CENT)


@dataclass(frozen=True, slots=True)
class SalaryPercentage:
    percent: Decimal

    def __post_init__(self) -> None:
        if not _whole_cents_within(self.percent, CENT, HUNDRED):
            raise InvalidArgument(
                Reason.FUNDING_AMOUNT_INVALID,
                "a salary percentage must be more than 0 and at most 100, with at most two decimals",
                violations=[FieldViolation("rule.salary_percentage.percent", "0.01..100.00")],
            )

    def amount_for(self, posting_amount: Decimal, *, is_salary: bool) -> Decimal:
        """`percent` of a salary credit, half-up to the cent; 0.00 for anything else."""
        if not is_salary or posting_amount <= 0:
            return ZERO
        return round_cents(posting_amount * self.percent / HUNDRED)


@dataclass(frozen=True, slots=True)
class FixedAmount:
    amount: Decimal

    def __post_init__(self) -> None:
        if not _whole_cents_within(self.amount, CENT, MAX_ABS_AMOUNT):
            raise InvalidArgument(
                Reason.FUNDING_AMOUNT_INVALID,
                "a funding amount must be more than 0 in whole cents",
                violations=[FieldViolation("rule.fixed_amount.amount", f"0.01..{MAX_ABS_AMOUNT:.2f}, whole cents")],
            )


FundingRule = RoundUp | SalaryPercentage


def rule_amount(rule: FundingRule, posting_amount: Decimal, *, card_spending: bool, is_salary: bool) -> Decimal:
    """What a posting makes a rule transfer: a round-up applies to card spending only, a percentage to
    salary credits only; 0.00 when the rule does not apply."""
    if isinstance(rule, RoundUp):
        return rule.amount_for(posting_amount) if card_spending else ZERO
    return rule.amount_for(posting_amount, is_salary=is_salary)


class TransferStatus(enum.StrEnum):
    REQUESTED = "REQUESTED"
    EXECUTED = "EXECUTED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


_NEXT_STATUSES = {
    TransferStatus.REQUESTED: frozenset({TransferStatus.EXECUTED, TransferStatus.FAILED, TransferStatus.CANCELLED}),
}


def advance(current: TransferStatus, new: TransferStatus) -> bool:
    """Checks a transfer instruction's change of status: True when it changes, False for the status it
    has already (a repeat, nothing to record); FailedPrecondition TRANSFER_TRANSITION_NOT_ALLOWED for
    anything but REQUESTED -> EXECUTED / FAILED / CANCELLED."""
    if new == current:
        return False
    if new not in _NEXT_STATUSES.get(current, frozenset()):
        raise FailedPrecondition(
            Reason.TRANSFER_TRANSITION_NOT_ALLOWED,
            f"a transfer that is {current} cannot become {new}",
            metadata={"status": str(current), "requested_status": str(new)},
        )
    return True


class ProgrammeStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    CANCELLED = "CANCELLED"


class ProgrammeAction(enum.StrEnum):
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    CANCEL = "CANCEL"
    UPDATE = "UPDATE"


_ACTION_FROM = {
    ProgrammeAction.PAUSE: frozenset({ProgrammeStatus.ACTIVE}),
    ProgrammeAction.RESUME: frozenset({ProgrammeStatus.PAUSED}),
    ProgrammeAction.CANCEL: frozenset({ProgrammeStatus.ACTIVE, ProgrammeStatus.PAUSED}),
    ProgrammeAction.UPDATE: frozenset({ProgrammeStatus.ACTIVE, ProgrammeStatus.PAUSED}),
}
_ACTION_TO = {ProgrammeAction.PAUSE: ProgrammeStatus.PAUSED, ProgrammeAction.RESUME: ProgrammeStatus.ACTIVE,
              ProgrammeAction.CANCEL: ProgrammeStatus.CANCELLED}


def programme_status_after(current: ProgrammeStatus, action: ProgrammeAction) -> ProgrammeStatus:
    """PAUSE: ACTIVE -> PAUSED; RESUME: PAUSED -> ACTIVE; CANCEL: ACTIVE or PAUSED -> CANCELLED; UPDATE keeps
    the status of a programme that is not cancelled. Anything else is FAILED_PRECONDITION
    FUNDING_PROGRAMME_TRANSITION_NOT_ALLOWED."""
    if current not in _ACTION_FROM[action]:
        raise FailedPrecondition(
            Reason.FUNDING_PROGRAMME_TRANSITION_NOT_ALLOWED,
            f"a funding programme that is {current} cannot take {action}",
            metadata={"status": str(current), "action": str(action)},
        )
    return _ACTION_TO.get(action, current)


@dataclass(frozen=True, slots=True)
class ScheduledAmount:
    """A fixed amount on each due date of a schedule."""

    schedule: Schedule
    amount: FixedAmount


Plan = ScheduledAmount | RoundUp | SalaryPercentage


@dataclass(frozen=True, slots=True)
class Programme:
    programme_id: str
    customer_id: str
    goal_id: str
    source_account_id: str
    status: ProgrammeStatus
    plan: Plan
    created_at: dt.datetime
    updated_at: dt.datetime
    # Scheduled plans: the due dates up to this day have their transfers (None: none planned yet).
    planned_through: dt.date | None = None
    currency: str = ""  # the goal's, which its amounts are in


def dates_to_plan(programme: Programme, today: dt.date) -> list[dt.date]:
    """The due dates of an ACTIVE scheduled programme up to `today` that have no transfer yet: those after
    planned_through (from the schedule's start when nothing was planned). None for a rule, or a programme
    that is paused or cancelled: a pause's periods are skipped, not made up (resume() moves
    planned_through past them)."""
    plan = programme.plan
    if programme.status != ProgrammeStatus.ACTIVE or not isinstance(plan, ScheduledAmount):
        return []
    start = plan.schedule.start
    if programme.planned_through is not None:
        start = max(start, programme.planned_through + dt.timedelta(days=1))
    return due_dates(plan.schedule, start, today)


def planned_through_on_resume(planned_through: dt.date | None, today: dt.date) -> dt.date:
    """A resumed schedule requests due dates from the day it resumes on: the ones missed while paused are
    not made up."""
    yesterday = today - dt.timedelta(days=1)
    return yesterday if planned_through is None else max(planned_through, yesterday)


# Category of the postings a SALARY_PERCENTAGE rule takes a share of (compared without case).
SALARY_CATEGORIES = frozenset({"SALARY"})


def is_salary_credit(category: str, amount: Decimal) -> bool:
    return amount > 0 and category.strip().upper() in SALARY_CATEGORIES


@dataclass(frozen=True, slots=True)
class Transfer:
    """An instruction to the bank's payment system: move `amount` from the source account into the
    goal's target account. One per programme and period_key."""

    transfer_id: str
    programme_id: str
    customer_id: str
    goal_id: str
    period_key: str
    amount: Decimal
    currency: str
    source_account_id: str
    target_account_id: str
    status: TransferStatus
    due_date: dt.date
    created_at: dt.datetime
    updated_at: dt.datetime
    failure_reason: str = ""
    transaction_id: str = ""
    published_at: dt.datetime | None = None


# An ingested posting confirms a transfer as EXECUTED when its transaction id or description carries
# this marker followed by the transfer's id (`engage-transfer:0192ab...`), it is a credit of the transfer's
# target account, and its amount is the transfer's.
TRANSFER_MARKER = "engage-transfer:"
_MARKED_TRANSFER = re.compile(re.escape(TRANSFER_MARKER) + r"([0-9A-Za-z_-]{1,40})")


def marked_transfer_ids(transaction_id: str, description: str) -> set[str]:
    """The transfer ids a posting's transaction id or description names with TRANSFER_MARKER."""
    if TRANSFER_MARKER not in transaction_id and TRANSFER_MARKER not in description:
        return set()
    return set(_MARKED_TRANSFER.findall(transaction_id)) | set(_MARKED_TRANSFER.findall(description))


def confirms(transfer: Transfer, account_id: str, amount: Decimal, currency: str) -> bool:
    """Whether a posting that names the transfer is its execution: the money arrived in the target account."""
    return (account_id == transfer.target_account_id and currency == transfer.currency
            and amount == transfer.amount)
