"""One account's day series and the metrics trigger conditions read of it (docs/triggers.md#metrics).

An account's series holds a row (AccountDay) only for the days something happened: a posting, or an
end-of-day balance the bank fed. A day without a row carries the previous day's balance forward.

The collected end-of-day balance of a day is the balance the bank fed for it, else the balance after its
last posting, else the previous day's collected balance; days before the account's first known balance
have none and do not count. Average collected balance over a window is the mean over the window's
counted days, rounded half-up to 4 places; a window without a counted day has no value (None), and every
comparison on a metric without a value is false.

Why immutable snapshots and not a mutable working state: a posting changes only the series' last row (or
appends one), so `apply_posting` builds one new AccountDay and a new tuple sharing every other row — a
shallow copy of the references (about 0.2 us for the ~30 rows a 30-day condition loads), never of the
rows. Callers can keep the snapshot before a posting (percent-of-balance and average-transaction
conditions read it) without defensive copies, and replay and live evaluation read the same values.
Window metrics do not walk the window's rows: running sums over the closed rows (every row but the
latest) make a window's sum a difference of two binary-search look-ups. They are built once, when first
needed, and shared by the snapshots derived from one another (see _RunningSums); min_balance alone walks."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import NamedTuple

from server.domain.events import Posting
from server.domain.goals.months import add_months, month_length

ZERO = Decimal(0)
FOUR_PLACES = Decimal("0.0001")
# Wide enough that sums and quotients of account balances are exact before the one rounding to 4 places.
EXACT = Context(prec=80, rounding=ROUND_HALF_UP)


class AccountDay(NamedTuple):
    """One account's day, as kept by the store (trigger_account_days). A named tuple, not a frozen
    dataclass: a batch reads some ten rows per posting and makes one, and a frozen dataclass takes three
    times as long to make (each field set through object.__setattr__)."""

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


class _RunningSums:
    """Running sums over an account's closed rows (every row but the latest, which postings of the day keep
    rewriting), so that a window's sums are a difference of two look-ups, not a walk over its rows.

    Entry i belongs to row i: its day's ordinal, the collected balance in effect from that day (its own or
    carried) and the sums over everything before it: collected balance x days and counted days (days
    before row i), postings, their magnitudes and overdraft days (rows before i). Entry i depends on rows
    0..i only, so snapshots that share those rows share the entries: a posting on the latest day reuses
    them all, a posting on a new day appends one. A snapshot knows how many entries are its own (`valid`);
    one that finds entries beyond that appended by a sibling copies its own before appending."""

    __slots__ = ("entries", "ordinals")

    def __init__(self, ordinals: list[int], entries: list[_Entry]) -> None:
        self.ordinals = ordinals
        self.entries = entries


# (collected balance in effect from the row's day, sums before it: collected x days, counted days,
#  postings, posting magnitudes, overdraft days)
_Entry = tuple[Decimal | None, Decimal, int, int, Decimal, int]


class _SumsHandle:
    """A snapshot's own view of a (possibly shared) _RunningSums: how many of its entries are this snapshot's."""

    __slots__ = ("sums", "valid")

    def __init__(self, sums: _RunningSums | None = None, valid: int = 0) -> None:
        self.sums = sums
        self.valid = valid


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
    # Derived from `days`, built when first needed and shared with the snapshots derived from this one.
    sums: _SumsHandle = field(default_factory=_SumsHandle, compare=False, repr=False)

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
        new_days = days[:-1] + (row,)  # noqa: RUF005  # one copy; unpacking makes two (2x slower at 400 rows)
    else:
        row = AccountDay(day, after, None, low, 1, magnitude, went_overdrawn)
        new_days = days + (row,)  # noqa: RUF005
    moved = after - snapshot.balance
    # The rows before the latest are unchanged (or gained the former latest): the running sums still hold.
    handle = _SumsHandle(snapshot.sums.sums, snapshot.sums.valid)
    return (AccountSnapshot(snapshot.account_id, snapshot.customer_id, snapshot.currency, after,
                            snapshot.available_balance + moved, new_days, handle), row)


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
    handle = _SumsHandle(snapshot.sums.sums, min(snapshot.sums.valid, index))  # entries from `index` on change
    return (AccountSnapshot(snapshot.account_id, snapshot.customer_id, snapshot.currency, snapshot.balance,
                            snapshot.available_balance, new_days, handle), row)


# --- metrics over [start, end] (both included) -------------------------------------------------------


def average_collected_balance(snapshot: AccountSnapshot, start: dt.date, end: dt.date) -> Decimal | None:
    """The mean of the counted days' collected balances in [start, end], rounded half-up to 4 places;
    None when no day of the window is counted."""
    _, total_before, counted_before, *_ = _sums_before(snapshot, start.toordinal())
    _, total, counted, *_ = _sums_before(snapshot, end.toordinal() + 1)
    if counted == counted_before:
        return None
    return EXACT.divide(total - total_before, counted - counted_before).quantize(FOUR_PLACES, context=EXACT)


def collected_balance_on(snapshot: AccountSnapshot, day: dt.date) -> Decimal | None:
    """The collected end-of-day balance of `day` (its own, else carried from an earlier day)."""
    return _sums_before(snapshot, day.toordinal() + 1)[0]


def overdraft_count(snapshot: AccountSnapshot, start: dt.date, end: dt.date) -> int | None:
    """The number of days in [start, end] on which a posting took the balance below zero from zero or
    above; None when the window has no counted day (the account's balance was unknown throughout)."""
    _, _, counted_before, _, _, overdrafts_before = _sums_before(snapshot, start.toordinal())
    _, _, counted, _, _, overdrafts = _sums_before(snapshot, end.toordinal() + 1)
    return None if counted == counted_before else overdrafts - overdrafts_before


def posting_totals(snapshot: AccountSnapshot, start: dt.date, end: dt.date) -> tuple[int, Decimal]:
    """The number of postings in [start, end] and the sum of their magnitudes."""
    _, _, _, postings_before, magnitude_before, _ = _sums_before(snapshot, start.toordinal())
    _, _, _, postings, magnitude, _ = _sums_before(snapshot, end.toordinal() + 1)
    return postings - postings_before, magnitude - magnitude_before


def min_balance(snapshot: AccountSnapshot, start: dt.date, end: dt.date) -> Decimal | None:
    """The lowest balance the account had in [start, end]: the collected balance carried into the window,
    each day's opening balance, balance after each posting and fed balance. Quiet days in the window hold
    an earlier day's balance, which that day already counted. (A walk over the window's rows: a minimum
    has no running sum.)"""
    days = snapshot.days
    lowest = _sums_before(snapshot, start.toordinal())[0]
    for i in range(bisect_left(days, start, key=_day_of), bisect_right(days, end, key=_day_of)):
        low = days[i].lowest_balance
        if low is not None and (lowest is None or low < lowest):
            lowest = low
    return lowest


_NOTHING: _Entry = (None, ZERO, 0, 0, ZERO, 0)


def _sums_before(snapshot: AccountSnapshot, ordinal: int) -> _Entry:
    """Over the days before the day `ordinal`: the collected balance in effect on the last of them, the
    sum of counted days' collected balances, counted days, postings, their magnitudes, overdraft days."""
    days = snapshot.days
    if not days or days[0].day.toordinal() >= ordinal:
        return _NOTHING
    sums = _own_sums(snapshot)
    closed = len(days) - 1
    if days[closed].day.toordinal() < ordinal:
        index = closed
        row_ordinal, entry = _latest_entry(sums, days)
    else:
        index = bisect_left(sums.ordinals, ordinal, 0, closed) - 1
        row_ordinal, entry = sums.ordinals[index], sums.entries[index]
    row = days[index]
    carried, total, counted, postings, magnitude, overdrafts = entry
    if carried is not None:
        span = ordinal - row_ordinal
        total += carried * span
        counted += span
    return (carried, total, counted, postings + row.postings, magnitude + row.posting_total,
            overdrafts + row.overdraft_began)


def _own_sums(snapshot: AccountSnapshot) -> _RunningSums:
    """The running sums of the snapshot's closed rows, extended (or copied, then extended) as needed."""
    days = snapshot.days
    closed = len(days) - 1
    handle = snapshot.sums
    sums = handle.sums
    if sums is not None and handle.valid >= closed:
        return sums
    valid = handle.valid if sums is not None else 0
    if sums is None or len(sums.entries) != valid:  # none yet, or a sibling appended entries of its own
        sums = _RunningSums(sums.ordinals[:valid], sums.entries[:valid]) if sums is not None else _RunningSums([], [])
    for index in range(valid, closed):
        ordinal = days[index].day.toordinal()
        entry = _first_entry(days[0]) if index == 0 else _next_entry(
            sums.entries[index - 1], sums.ordinals[index - 1], days[index - 1], days[index], ordinal)
        sums.ordinals.append(ordinal)
        sums.entries.append(entry)
    handle.sums = sums
    handle.valid = closed
    return sums


def _latest_entry(sums: _RunningSums, days: Sequence[AccountDay]) -> tuple[int, _Entry]:
    closed = len(days) - 1
    ordinal = days[closed].day.toordinal()
    if closed == 0:
        return ordinal, _first_entry(days[0])
    return ordinal, _next_entry(sums.entries[closed - 1], sums.ordinals[closed - 1], days[closed - 1], days[closed],
                                ordinal)


def _first_entry(row: AccountDay) -> _Entry:
    return (row.collected_balance, ZERO, 0, 0, ZERO, 0)


def _next_entry(previous: _Entry, previous_ordinal: int, previous_row: AccountDay, row: AccountDay,
                ordinal: int) -> _Entry:
    carried, total, counted, postings, magnitude, overdrafts = previous
    if carried is not None:
        gap = ordinal - previous_ordinal
        total += carried * gap
        counted += gap
    own = row.collected_balance
    return (own if own is not None else carried, total, counted, postings + previous_row.postings,
            magnitude + previous_row.posting_total, overdrafts + previous_row.overdraft_began)


# --- calendar ----------------------------------------------------------------------------------------


def previous_month(day: dt.date, months: int = 1) -> tuple[dt.date, dt.date]:
    """The first and last day of the calendar month `months` before the month of `day`."""
    first = add_months(day.replace(day=1), -months)
    return first, dt.date(first.year, first.month, month_length(first.year, first.month))
