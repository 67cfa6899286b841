"""One account's day series for the live evaluation at postings, kept in whole ten-thousandths
(server.domain.money's scaled integers, as the store holds them) in a few mutable lists: the same metrics
as server.domain.triggers.series, without a Decimal or an AccountDay per row read.

Why: a batch reads some fifteen day rows per posting and evaluates fifty rules at it. Turning the driver's
integers into Decimals and named tuples, and summing Decimals per window, was most of the evaluation's CPU;
integer arithmetic on the rows as read gives the same values (every stored amount is a whole number of
ten-thousandths, and the sums stay far below where a Decimal of 28 digits would round).

What it mirrors, so that a divergence is a bug (tests/unit/test_trigger_scaled_evaluate.py compares the
two on random series and conditions): series.apply_posting (a posting booked before the latest row counts
on that row), the running sums over the closed rows (every row but the latest), the collected balance
carried over quiet days, days before the first known balance not counted, the average rounded half-up to
4 places (away from zero) and the minimum over each day's lowest balances and the carried balance. The live
evaluation applies no fed balance here (their handler keeps the Decimal series); the backtest's scaled
replay does."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from typing import Any, NamedTuple

from server.domain.money import from_scaled, scaled_mean, to_scaled
from server.domain.triggers.series import AccountDay

# A day row as the store reads it: day, closing, fed and lowest balance (scaled, None: none), postings, the
# sum of their magnitudes (scaled), whether one took the balance below zero (TriggerAccountDayRow's columns).
ScaledDay = tuple[dt.date, int | None, int | None, int | None, int, int, bool]
# Over the days before some day: the collected balance in effect on the last of them, the sum of counted
# days' collected balances, counted days, postings, their magnitudes, overdraft days.
_Sums = tuple[int | None, int, int, int, int, int]
_NOTHING: _Sums = (None, 0, 0, 0, 0, 0)
# ScaledColumns.mark: how many rows, and the latest one's values (day ordinal first; empty when none).
ColumnsMark = tuple[int, tuple[Any, ...]]


class ScaledColumns(NamedTuple):
    """An account's day rows as columns, ascending by day: each day's ordinal, then ScaledDay's other
    fields (how PostgreSQL hands them over: one row of arrays per account, not a row per day)."""

    days: list[int]
    closing: list[int | None]
    fed: list[int | None]
    low: list[int | None]
    postings: list[int]
    totals: list[int]
    overdraft: list[bool]

    @classmethod
    def empty(cls) -> ScaledColumns:
        """No rows, in lists of its own."""
        return cls([], [], [], [], [], [], [])

    def rows(self) -> list[ScaledDay]:
        return [(dt.date.fromordinal(day), *rest)
                for day, *rest in zip(*self, strict=True)]

    def mark(self) -> ColumnsMark:
        """What `restore` puts back after postings were applied (ScaledAccount.apply_posting changes only
        the latest row and appends rows): the number of rows and the latest one's values (its day an
        ordinal)."""
        days = self.days
        if not days:
            return 0, ()
        return len(days), (days[-1], self.closing[-1], self.fed[-1], self.low[-1], self.postings[-1],
                           self.totals[-1], self.overdraft[-1])

    def restore(self, mark: ColumnsMark) -> None:
        rows, latest = mark
        columns: tuple[list[Any], ...] = self
        for column in columns:
            del column[rows:]
        if rows:
            for column, value in zip(columns, latest, strict=True):
                column[-1] = value


def scaled_day(day: AccountDay) -> ScaledDay:
    """The row as the store holds it."""
    return (day.day, None if day.closing_balance is None else to_scaled(day.closing_balance),
            None if day.fed_balance is None else to_scaled(day.fed_balance),
            None if day.min_balance is None else to_scaled(day.min_balance), day.postings,
            to_scaled(day.posting_total), day.overdraft_began)


def decimal_day(row: ScaledDay) -> AccountDay:
    """The row as the Decimal series holds it."""
    day, closing, fed, low, postings, total, overdraft = row
    return AccountDay(day, None if closing is None else from_scaled(closing), None if fed is None else from_scaled(fed),
                      None if low is None else from_scaled(low), postings, from_scaled(total), overdraft)


class ScaledAccount:
    """The account's balances and rows, ascending by day (ordinals), as series.AccountSnapshot holds them
    after each posting applied; `entries[i]` the running sums of closed row i (series._RunningSums), built
    when first needed and unchanged by later postings (which change the latest row, or append one)."""

    __slots__ = ("balance", "closing", "days", "entries", "fed", "held", "latest", "low", "overdraft",
                 "postings", "totals", "version")

    def __init__(self, balance: int, held: int, rows: list[ScaledDay]) -> None:
        days, closing, fed, low, postings, totals, overdraft = (
            tuple(zip(*rows, strict=True)) if rows else ((),) * 7)  # the rows' columns, at C speed
        self._take(balance, held, ScaledColumns([day.toordinal() for day in days], list(closing), list(fed),
                                                list(low), list(postings), list(totals), list(overdraft)))

    @classmethod
    def of_columns(cls, balance: int, held: int, columns: ScaledColumns) -> ScaledAccount:
        """From the rows' columns as read, taken over, not copied: postings change them (a batch makes a
        series for every account it reads, and the read's columns serve nothing else)."""
        account = cls.__new__(cls)
        account._take(balance, held, columns)
        return account

    def _take(self, balance: int, held: int, columns: ScaledColumns) -> None:
        self.balance = balance
        self.held = held  # available balance minus balance, constant over the batch
        self.days, self.closing, self.fed, self.low, self.postings, self.totals, self.overdraft = columns
        self.entries: list[_Sums] = []
        self.latest: tuple[int, _Sums] | None = None  # the latest row's entry, made afresh per version
        self.version = 0

    @property
    def available(self) -> int:
        return self.balance + self.held

    def apply_posting(self, after: int, amount: int, booking_day: int) -> int:
        """The posting (balance after it, signed amount, booking date's ordinal) applied as
        series.apply_posting does; the ordinal of the day it counts on."""
        opening = after - amount
        low = opening if opening < after else after
        days = self.days
        if days and days[-1] >= booking_day:
            day = days[-1]
            last = self.low[-1]
            self.low[-1] = last if last is not None and last < low else low
            self.closing[-1] = after
            self.postings[-1] += 1
            self.totals[-1] += amount if amount >= 0 else -amount
            self.overdraft[-1] = self.overdraft[-1] or opening >= 0 > after
        else:
            day = booking_day
            days.append(day)
            self.closing.append(after)
            self.fed.append(None)
            self.low.append(low)
            self.postings.append(1)
            self.totals.append(amount if amount >= 0 else -amount)
            self.overdraft.append(opening >= 0 > after)
        self.balance = after
        self.version += 1
        return day

    def apply_fed_balance(self, day: int, balance: int) -> None:
        """The bank's end-of-day balance for the day (an ordinal) as series.apply_fed_balance records it: a
        later feed of a day replaces the earlier one; the current balance does not move. (The backtest's
        scaled replay feeds them; the live evaluation leaves fed balances to the Decimal series.)"""
        days = self.days
        index = bisect_left(days, day)
        if index < len(days) and days[index] == day:
            self.fed[index] = balance
        else:
            days.insert(index, day)
            self.closing.insert(index, None)
            self.fed.insert(index, balance)
            self.low.insert(index, None)
            self.postings.insert(index, 0)
            self.totals.insert(index, 0)
            self.overdraft.insert(index, False)
        del self.entries[index:]  # the entries from the row changed on depend on it
        self.version += 1

    def latest_day(self) -> int | None:
        return self.days[-1] if self.days else None

    def row(self, index: int) -> ScaledDay:
        return (dt.date.fromordinal(self.days[index]), self.closing[index], self.fed[index], self.low[index],
                self.postings[index], self.totals[index], self.overdraft[index])

    # --- metrics over the days [first, last] (ordinals, both included) ---------------------------------

    def average(self, first: int, last: int) -> int | None:
        """series.average_collected_balance: rounded half away from zero to a whole ten-thousandth, which
        is what quantizing the exact Decimal mean to 4 places half-up gives."""
        _, total_before, counted_before, *_ = self.sums_before(first)
        _, total, counted, *_ = self.sums_before(last + 1)
        count = counted - counted_before
        if not count:
            return None
        return scaled_mean(total - total_before, count)

    def average_of_rows(self, first: int, last: int) -> int | None:
        """`average`, summed over the window's rows alone. For a series read for a posting or two (the live
        evaluation: some fifteen rows an account), where `average` would build the running sums of every
        row for a window or two; the backtest's replay, asking at every day of a year, keeps to them."""
        days, fed, closing = self.days, self.fed, self.closing
        start = bisect_left(days, first)
        carried = self._collected_before(start)
        total = counted = 0
        since = first  # each balance counts from its row's day to the next row's (or past the window)
        for index in range(start, bisect_right(days, last)):
            day = days[index]
            if carried is not None:
                total += carried * (day - since)
                counted += day - since
            since = day
            own = fed[index]
            if own is None:
                own = closing[index]
            if own is not None:
                carried = own
        if carried is not None:
            total += carried * (last + 1 - since)
            counted += last + 1 - since
        return scaled_mean(total, counted) if counted else None

    def minimum(self, first: int, last: int) -> int | None:
        """series.min_balance."""
        days, lows, feds, closing = self.days, self.low, self.fed, self.closing
        start = bisect_left(days, first)
        # The collected balance in effect before the window (sums_before(first)'s, without its sums: the
        # latest row before it with a balance; a few rule windows ask at every posting).
        lowest = None
        for index in range(start - 1, -1, -1):
            lowest = feds[index]
            if lowest is None:
                lowest = closing[index]
            if lowest is not None:
                break
        for index in range(start, bisect_right(days, last)):
            low, fed = lows[index], feds[index]
            value = fed if low is None else low if fed is None or low < fed else fed
            if value is not None and (lowest is None or value < lowest):
                lowest = value
        return lowest

    def overdraft_count(self, first: int, last: int) -> int | None:
        """series.overdraft_count."""
        _, _, counted_before, _, _, overdrafts_before = self.sums_before(first)
        _, _, counted, _, _, overdrafts = self.sums_before(last + 1)
        return None if counted == counted_before else overdrafts - overdrafts_before

    def posting_totals(self, first: int, last: int) -> tuple[int, int]:
        """series.posting_totals: the postings in the days and the sum of their magnitudes (summed over the
        days' rows in C, not from the running sums: the live evaluation asks once an account)."""
        start, end = bisect_left(self.days, first), bisect_right(self.days, last)
        return sum(self.postings[start:end]), sum(self.totals[start:end])

    def collected_on(self, day: int) -> int | None:
        """series.collected_balance_on (the latest row's to that day with a balance, not the running sums':
        the live evaluation asks once an account)."""
        return self._collected_before(bisect_right(self.days, day))

    def _collected_before(self, index: int) -> int | None:
        """The collected balance in effect before row `index`: the latest row before it with a balance."""
        fed, closing = self.fed, self.closing
        for row in range(index - 1, -1, -1):
            own = fed[row]
            if own is None:
                own = closing[row]
            if own is not None:
                return own
        return None

    # --- running sums -----------------------------------------------------------------------------------

    def sums_before(self, ordinal: int) -> _Sums:
        """series._sums_before: over the days before the day `ordinal`."""
        days = self.days
        closed = len(days) - 1
        if closed < 0 or days[0] >= ordinal:
            return _NOTHING
        if days[closed] < ordinal:
            index = closed
            latest = self.latest
            if latest is not None and latest[0] == self.version:
                entry = latest[1]
            else:
                entry = self._entry(closed)
                self.latest = (self.version, entry)
        else:
            index = bisect_left(days, ordinal, 0, closed) - 1
            entries = self.entries
            entry = entries[index] if index < len(entries) else self._closed_entry(index)
        carried, total, counted, postings, magnitude, overdrafts = entry
        if carried is not None:
            span = ordinal - days[index]
            total += carried * span
            counted += span
        return (carried, total, counted, postings + self.postings[index], magnitude + self.totals[index],
                overdrafts + self.overdraft[index])

    def _closed_entry(self, index: int) -> _Sums:
        """Closed row `index`'s entry, those before it built first (once: closed rows do not change); one loop
        over plain locals, as it runs for every row of every account a batch reads."""
        entries = self.entries
        if index < len(entries):
            return entries[index]
        days, fed, closing, postings, totals, overdraft = (self.days, self.fed, self.closing, self.postings,
                                                           self.totals, self.overdraft)
        first = len(entries)
        if first == 0:
            own = fed[0]
            entries.append((closing[0] if own is None else own, 0, 0, 0, 0, 0))
            first = 1
        carried, total, counted, posted, magnitude, overdrafts = entries[first - 1]
        for row in range(first, index + 1):
            previous = row - 1
            if carried is not None:
                gap = days[row] - days[previous]
                total += carried * gap
                counted += gap
            posted += postings[previous]
            magnitude += totals[previous]
            overdrafts += overdraft[previous]
            own = fed[row]
            if own is None:
                own = closing[row]
            if own is not None:
                carried = own
            entries.append((carried, total, counted, posted, magnitude, overdrafts))
        return entries[index]

    def _entry(self, index: int) -> _Sums:
        """Row `index`'s entry, from the closed entry of the row before it."""
        own = self.fed[index]
        if own is None:
            own = self.closing[index]
        if index == 0:
            return own, 0, 0, 0, 0, 0
        previous = index - 1
        carried, total, counted, posted, magnitude, overdrafts = self._closed_entry(previous)
        if carried is not None:
            gap = self.days[index] - self.days[previous]
            total += carried * gap
            counted += gap
        return (own if own is not None else carried, total, counted, posted + self.postings[previous],
                magnitude + self.totals[previous], overdrafts + self.overdraft[previous])
