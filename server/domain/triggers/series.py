"""One account's day series and the metrics trigger conditions read of it (docs/triggers.md#metrics).

An account's series holds a row (AccountDay) only for the days something happened: a posting, or an
end-of-day balance the bank fed. A day without a row carries the previous day's balance forward.

The collected end-of-day balance of a day is the balance the bank fed for it, else the balance after its
last posting, else the previous day's collected balance; days before the account's first known balance
have none and do not count. Average collected balance over a window is the mean over the window's
counted days, rounded half-up to 4 places; a window without a counted day has no value (None), and every
comparison on a metric without a value is false.

Why immutable tuples and not a mutable working state: a posting changes only the series' last row (or
appends one), so `apply_posting` builds one new AccountDay and a new tuple that shares every other row —
a shallow copy of at most a few hundred references (a condition reads at most 12 months + 1 of rows, and
only days with activity have one), measured at well under a microsecond next to the evaluation itself.
Callers can therefore keep the snapshot before a posting (percent-of-balance and average-transaction
conditions read it) without defensive copies, and replay and live evaluation share the same values.
Metrics locate a window with a binary search on the rows' days and walk only the window's rows."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

from server.domain.events import Posting

ZERO = Decimal(0)
FOUR_PLACES = Decimal("0.0001")
# Wide enough that sums and quotients of account balances are exact before the one rounding to 4 places.
EXACT = Context(prec=80, rounding=ROUND_HALF_UP)
_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class AccountDay:
    """One account's day, as kept by the store (trigger_account_days)."""

    day: dt.date
    closing_balance: Decimal | None = None  # after the day's last posting; None: no posting that day
    fed_balance: Decimal | None = None  # the end-of-day balance the bank fed (RecordBalances) for the day
    min_balance: Decimal | None = None  # the lowest of the day's opening balance and the balance after each posting
    postings: int = 0
    posting_total: Decimal = ZERO  # the sum of the day's postings' magnitudes
    overdraft_began: bool = False  # a posting that day took the balance from >= 0 to < 0

    @property
    def collected_balance(self) -> Decimal | None:
        """The day's collected end-of-day balance when the day has its own: fed, else after its last posting."""
        return self.fed_balance if self.fed_balance is not None else self.closing_balance

    @property
    def lowest_balance(self) -> Decimal | None:
        """The lowest balance the account is known to have had that day (postings and the fed balance)."""
        if self.min_balance is None:
            return self.fed_balance
        if self.fed_balance is None:
            return self.min_balance
        return min(self.min_balance, self.fed_balance)


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """An account as the evaluation sees it: its current balances and the rows of its day series that a
    condition reads, ascending by day. The rows must cover the condition's history_days ending with the
    evaluation day AND include the latest row before them (whose collected balance carries into the
    window): without it, the window's first days count as before the account's first known balance."""

    account_id: str
    customer_id: str
    currency: str
    balance: Decimal
    available_balance: Decimal
    days: tuple[AccountDay, ...] = ()

    @property
    def latest_day(self) -> dt.date | None:
        return self.days[-1].day if self.days else None


def _day_of(row: AccountDay) -> dt.date:
    return row.day


def apply_posting(snapshot: AccountSnapshot, posting: Posting) -> tuple[AccountSnapshot, AccountDay]:
    """The snapshot after the posting, and the day row it changed (whose `day` is the evaluation day).

    The posting counts on its booking date; one booked before the series' latest day counts on that latest
    day instead, because its balance_after is the account's current balance, not that earlier day's. The
    available balance moves with the balance (the holds between them unchanged)."""
    after = posting.balance_after.amount
    opening = after - posting.amount.amount
    magnitude = abs(posting.amount.amount)
    went_overdrawn = opening >= 0 > after
    low = opening if opening < after else after
    days = snapshot.days
    day = posting.booking_date
    if days and days[-1].day >= day:
        last = days[-1]
        lowest = last.min_balance if last.min_balance is not None and last.min_balance < low else low
        row = AccountDay(last.day, after, last.fed_balance, lowest, last.postings + 1,
                         last.posting_total + magnitude, last.overdraft_began or went_overdrawn)
        new_days = (*days[:-1], row)
    else:
        row = AccountDay(day, after, None, low, 1, magnitude, went_overdrawn)
        new_days = (*days, row)
    moved = after - snapshot.balance
    return (AccountSnapshot(snapshot.account_id, snapshot.customer_id, snapshot.currency, after,
                            snapshot.available_balance + moved, new_days), row)


def apply_fed_balance(snapshot: AccountSnapshot, day: dt.date, balance: Decimal) -> tuple[AccountSnapshot, AccountDay]:
    """The snapshot with the bank's end-of-day balance for `day` (a later feed of a day replaces the
    earlier one), and that day's row. The current balance is the accounts' own and does not move."""
    days = snapshot.days
    index = bisect_left(days, day, key=_day_of)
    if index < len(days) and days[index].day == day:
        old = days[index]
        row = AccountDay(day, old.closing_balance, balance, old.min_balance, old.postings, old.posting_total,
                         old.overdraft_began)
        new_days = (*days[:index], row, *days[index + 1:])
    else:
        row = AccountDay(day, fed_balance=balance)
        new_days = (*days[:index], row, *days[index:])
    return (AccountSnapshot(snapshot.account_id, snapshot.customer_id, snapshot.currency, snapshot.balance,
                            snapshot.available_balance, new_days), row)


# --- metrics over [start, end] (both included) -------------------------------------------------------


def _window_rows(days: Sequence[AccountDay], start: dt.date, end: dt.date) -> tuple[int, int]:
    return bisect_left(days, start, key=_day_of), bisect_right(days, end, key=_day_of)


def _carried_into(days: Sequence[AccountDay], index: int) -> Decimal | None:
    """The collected balance of the latest row before `index` that has one."""
    for i in range(index - 1, -1, -1):
        collected = days[i].collected_balance
        if collected is not None:
            return collected
    return None


def collected_balance_on(days: Sequence[AccountDay], day: dt.date) -> Decimal | None:
    """The collected end-of-day balance of `day` (its own, else carried from an earlier day)."""
    return _carried_into(days, bisect_right(days, day, key=_day_of))


def average_collected_balance(days: Sequence[AccountDay], start: dt.date, end: dt.date) -> Decimal | None:
    """The mean of the counted days' collected balances in [start, end], rounded half-up to 4 places;
    None when no day of the window is counted."""
    first, stop = _window_rows(days, start, end)
    value = _carried_into(days, first)
    cursor = start
    total = ZERO
    counted = 0
    for i in range(first, stop):
        row = days[i]
        collected = row.collected_balance
        if collected is None:
            continue
        if value is not None:
            span = (row.day - cursor).days
            total += value * span
            counted += span
        value = collected
        cursor = row.day
    if value is not None:
        span = (end - cursor).days + 1
        total += value * span
        counted += span
    if counted == 0:
        return None
    return EXACT.divide(total, counted).quantize(FOUR_PLACES, context=EXACT)


def min_balance(days: Sequence[AccountDay], start: dt.date, end: dt.date) -> Decimal | None:
    """The lowest balance the account had in [start, end]: the balance carried into the window (when its
    first day has no row of its own), each day's opening balance, balance after each posting and fed
    balance. Quiet days in the window hold an earlier day's balance, which that day already counted."""
    first, stop = _window_rows(days, start, end)
    lowest = _carried_into(days, first) if first == stop or days[first].day > start else None
    for i in range(first, stop):
        low = days[i].lowest_balance
        if low is not None and (lowest is None or low < lowest):
            lowest = low
    return lowest


def overdraft_count(days: Sequence[AccountDay], start: dt.date, end: dt.date) -> int | None:
    """The number of days in [start, end] on which a posting took the balance below zero from zero or
    above; None when the window has no counted day (the account's balance was unknown throughout)."""
    first, stop = _window_rows(days, start, end)
    if first == stop and _carried_into(days, first) is None:
        return None
    return sum(1 for i in range(first, stop) if days[i].overdraft_began)


def posting_totals(days: Sequence[AccountDay], start: dt.date, end: dt.date) -> tuple[int, Decimal]:
    """The number of postings in [start, end] and the sum of their magnitudes."""
    first, stop = _window_rows(days, start, end)
    count = 0
    total = ZERO
    for i in range(first, stop):
        count += days[i].postings
        total += days[i].posting_total
    return count, total


# --- calendar ----------------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def previous_month(day: dt.date, months: int = 1) -> tuple[dt.date, dt.date]:
    """The first and last day of the calendar month `months` before the month of `day`."""
    index = day.year * 12 + day.month - 1 - months
    first = dt.date(index // 12, index % 12 + 1, 1)
    following = dt.date((index + 1) // 12, (index + 1) % 12 + 1, 1)
    return first, following - _ONE_DAY
