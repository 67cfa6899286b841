"""The backtest's replay of a page of accounts as array computations: scaled_replay's firings for a balance
condition (scaled_replay.supports), values included, with no Python per posting or per evaluation.

Why it can be done in arrays: with the daily re-check at 00:00, every happening of an account at a time on
day d finds the days before d final (a posting counts on the day of its account's running latest
posted_at, which never goes back; a fed balance for day D arrives at D + 1 00:00, before that instant's
re-check and postings). So each evaluation reads a dense grid of final end-of-day values (per account and
day: the collected balance carried over quiet days, the lowest balance of the day, the balance after the
last posting) for the days before it, and at most one partial day:
- a posting on day d: days < d final, day d so far (its balance after the posting, counted; the day's
  lowest balance so far);
- the daily re-check of day d: days < d final, day d without a row yet (the carried balance);
- a fed balance for day D: days <= D final.
A window's average is two look-ups in prefix sums, its minimum one in a sparse table of minimums; the
condition's comparisons, AND, OR and NOT are array operations; a crossing is an evaluation true after a
false one (or first) of the same account in happening order. Only the crossings go through the
customer's cool-down one by one, and only the firings are read again for the values shown.

Evaluations the step replay skips (a dormant account re-checked unchanged, a last-month condition again in
the same month) are evaluated here: they give the same result as the evaluation before, so no crossing.
Histories this reasoning does not cover (a re-check at another time than 00:00, a fed balance on or
before the opening's day, two for one day, an opening on or after the period's start, amounts that could
overflow 64 bits) go to scaled_replay, the reference (tests/unit/test_trigger_vector_replay.py compares
the two)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from server.domain.money import from_scaled
from server.domain.triggers.condition import (
    AllOf,
    AnyOf,
    Condition,
    MetricCompare,
    MetricName,
    Negation,
    WindowKind,
)
from server.domain.triggers.firing import Firing
from server.domain.triggers.scaled_replay import Prepared, ScaledHistory, ScaledPosting, scaled_replay, scaled_test

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

DAY_MICROS = 86_400_000_000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_ORDINAL = EPOCH.date().toordinal()
_NONE = np.iinfo(np.int64).max  # no value (a minimum over no known balance)
_SAFE = 2**62  # sums of values must stay inside 64 bits
_FED, _DAILY, _POSTING = 0, 1, 2  # replay's order of happenings at one instant


@dataclass(frozen=True)
class Page:
    """A page of accounts to replay, as columns: per account (in the customers' order, each customer's
    accounts together) its ids, opening balance, holds, the ordinal of the day its opening counts on (0:
    unknown) and of the last day to replay (0: the period's end); its postings, account by account, each
    account's in the order they moved its balance (posted_at in microseconds since 1970 UTC, balance after,
    signed amount, all scaled), and their transaction ids unless not read (None: the page's firings can only
    be counted, vector_fired); its fed balances (account, day ordinal, balance)."""

    account_ids: Sequence[str]
    customer_ids: Sequence[str]
    opening: Ints
    held: Ints
    opening_day: Ints
    last_day: Ints
    posting_account: Ints
    posting_micros: Ints
    posting_after: Ints
    posting_amount: Ints
    transaction_ids: Sequence[str] | None
    fed_account: Ints
    fed_day: Ints
    fed_value: Ints


def page_of(histories: Sequence[ScaledHistory]) -> Page:
    """The histories as one page (what the tests and a caller holding ScaledHistory objects give)."""
    postings = [(index, p) for index, h in enumerate(histories) for p in h.postings]
    fed = [(index, day.toordinal(), value) for index, h in enumerate(histories) for day, value in h.fed_balances]
    return Page(
        [h.account_id for h in histories], [h.customer_id for h in histories],
        _ints([h.opening for h in histories]), _ints([h.held for h in histories]),
        _ints([0 if h.opening_day is None else h.opening_day.toordinal() for h in histories]),
        _ints([0 if h.last_day is None else h.last_day.toordinal() for h in histories]),
        _ints([index for index, _ in postings]), _ints([_micros(p.posted_at) for _, p in postings]),
        _ints([p.after for _, p in postings]), _ints([p.amount for _, p in postings]),
        [p.transaction_id for _, p in postings],
        _ints([f[0] for f in fed]), _ints([f[1] for f in fed]), _ints([f[2] for f in fed]))


def balances_after(account: Ints, opening: Ints, signed: Ints, running: Ints, stored: Bools) -> Ints:
    """Each posting's balance after it (postings account by account, each account's in posting order): its
    stored running balance, else the balance before it (the previous posting's, or the account's opening)
    plus its amount; so, the last stored running balance (or the opening) plus the amounts since."""
    if not len(account):
        return account
    first = np.r_[True, account[1:] != account[:-1]]
    anchor = stored | first
    moved = np.cumsum(np.where(stored, 0, signed))
    base = np.where(stored, running, opening[account])
    offset = np.where(stored, moved, moved - signed)  # an account's first posting, unstored, adds its own amount
    last: Ints = np.maximum.accumulate(np.where(anchor, np.arange(len(account)), 0))
    after: Ints = base[last] + moved - offset[last]
    return after


def histories_of(page: Page) -> list[ScaledHistory]:
    """The page as scaled_replay takes it (the fallback). A page read without its transaction ids gives each
    posting an empty one: its firings are only counted (vector_fired)."""
    postings: list[list[ScaledPosting]] = [[] for _ in page.account_ids]
    for n, account in enumerate(page.posting_account.tolist()):
        at = _at(int(page.posting_micros[n]))
        transaction_id = "" if page.transaction_ids is None else page.transaction_ids[n]
        postings[account].append(ScaledPosting(transaction_id, at, at.date(), int(page.posting_after[n]),
                                               int(page.posting_amount[n])))
    fed: list[list[tuple[dt.date, int]]] = [[] for _ in page.account_ids]
    for account, day, value in zip(page.fed_account.tolist(), page.fed_day.tolist(), page.fed_value.tolist(),
                                   strict=True):
        fed[account].append((dt.date.fromordinal(day), value))
    return [ScaledHistory(page.account_ids[n], page.customer_ids[n], int(page.opening[n]), int(page.held[n]),
                          _day(int(page.opening_day[n])), postings[n], fed[n], _day(int(page.last_day[n])))
            for n in range(len(page.account_ids))]


def vector_replay(prepared: Prepared, page: Page, *, start: dt.date, end: dt.date, cooldown: dt.timedelta,
                  daily_at: dt.time = dt.time(0)) -> list[Firing]:
    """scaled_replay(prepared, histories_of(page), ...) as a list, computed on arrays when it can. The page
    must carry its transaction ids (a firing at a posting names it)."""
    if page.transaction_ids is None:
        raise ValueError("the page was read without its transaction ids: vector_fired counts its firings")
    grid = _grid(prepared, page, start, end, daily_at)
    if grid is None:
        return list(scaled_replay(prepared, histories_of(page), start=start, end=end, cooldown=cooldown,
                                  daily_at=daily_at))
    return [grid.firing(evaluation) for evaluation in grid.fired(cooldown)]


def vector_fired(prepared: Prepared, page: Page, *, start: dt.date, end: dt.date, cooldown: dt.timedelta,
                 daily_at: dt.time = dt.time(0)) -> list[tuple[str, str, dt.date]]:
    """vector_replay's firings as (account id, customer id, evaluation day), in the same order, without the
    values or the posting of each: what a backtest counts once its sample is full (the page need not carry
    its transaction ids)."""
    grid = _grid(prepared, page, start, end, daily_at)
    if grid is None:
        return [(f.account_id, f.customer_id, f.day) for f in scaled_replay(
            prepared, histories_of(page), start=start, end=end, cooldown=cooldown, daily_at=daily_at)]
    fired = grid.fired(cooldown)
    if not len(fired):
        return []  # an empty page's grid has no evaluations at all
    return [(page.account_ids[account], page.customer_ids[account], dt.date.fromordinal(day))
            for account, day in zip(grid.e_account[fired].tolist(), grid.e_day[fired].tolist(), strict=True)]


def _grid(prepared: Prepared, page: Page, start: dt.date, end: dt.date, daily_at: dt.time) -> _Grid | None:
    if daily_at == dt.time(0) or not prepared.daily:
        return _Grid.build(prepared, page, start.toordinal(), end.toordinal())
    return None


# --- the grid of final end-of-day values, and the evaluations -----------------------------------------


class _Grid:
    """A page's accounts' end-of-day values, a row of `days` cells per account from day `first`, and its
    evaluations (one entry each: account, day, time, happening kind and order, the cells known final, the
    balance then, and the partial day's values)."""

    size: int
    first: int
    days: int
    windows: dict[tuple[str, int], tuple[Ints, Ints]]
    known: Bools
    collected: Ints
    lowest: _SparseMin
    sums: Ints
    counts: Ints
    e_account: Ints
    e_day: Ints
    e_time: Ints
    e_what: Ints
    e_order: Ints
    e_final: Ints
    e_transaction: Ints
    e_balance: Ints
    e_partial: Ints
    e_partial_counted: Ints
    e_partial_low: Ints

    def __init__(self, prepared: Prepared, page: Page) -> None:
        self.prepared = prepared
        self.page = page
        self._cache: dict[Any, tuple[Ints, Bools]] = {}  # the condition's parts over every evaluation

    @functools.cached_property
    def _program(self) -> _Node:
        return _compile(self.prepared.condition)

    @classmethod
    def build(cls, prepared: Prepared, page: Page, start: int, end: int) -> _Grid | None:
        grid = cls(prepared, page)
        accounts = len(page.account_ids)
        if accounts == 0:
            grid.size = 0
            return grid
        opening_day = page.opening_day
        until = np.where(page.last_day > 0, np.minimum(page.last_day, end), end)
        active = until >= start
        known = opening_day > 0
        if np.any(known & (opening_day >= start)):
            return None

        # Postings: up to the first booked after the account's last day; then the day each counts on.
        account = page.posting_account
        if np.any(np.diff(account) < 0):
            return None
        micros = page.posting_micros
        booking = micros // DAY_MICROS + EPOCH_ORDINAL
        index = np.arange(len(account))
        first_of = np.searchsorted(account, np.arange(accounts))
        late = np.maximum.accumulate(np.where(booking > until[account], index, -1)) if len(index) else index
        kept = (late < first_of[account]) & active[account]
        at = _running_max(account[kept], micros[kept])
        day = np.maximum(at // DAY_MICROS + EPOCH_ORDINAL, opening_day[account[kept]])
        counted = day <= end
        posting = index[kept][counted]
        at, day = at[counted], day[counted]
        p_account = account[posting]
        after, amount = page.posting_after[posting], page.posting_amount[posting]

        # Fed balances: those up to the account's last day, one a day, after the opening's day.
        f_account, f_day, f_value = page.fed_account, page.fed_day, page.fed_value
        fed_kept = active[f_account] & (f_day <= until[f_account])
        f_index = np.arange(len(f_account))[fed_kept]
        f_account, f_day, f_value = f_account[fed_kept], f_day[fed_kept], f_value[fed_kept]
        order = np.lexsort((f_day, f_account))
        if len(order) and np.any((np.diff(f_account[order]) == 0) & (np.diff(f_day[order]) == 0)):
            return None
        if np.any(known[f_account] & (f_day <= opening_day[f_account])):
            return None

        # The evaluations: each posting counted in the period, each fed balance in it, each day's re-check.
        in_period = day >= start
        e_posting = np.flatnonzero(in_period)
        e_fed = np.flatnonzero(f_day >= start)
        if prepared.daily:
            spans = np.where(active, until - start + 1, 0)
            d_account = np.repeat(np.arange(accounts), spans)
            d_day = start + _index_within(spans)
        else:
            d_account = d_day = np.zeros(0, np.int64)
        grid.e_account = np.concatenate((p_account[e_posting], f_account[e_fed], d_account))
        grid.e_day = np.concatenate((day[e_posting], f_day[e_fed], d_day))
        grid.e_time = np.concatenate((at[e_posting], (f_day[e_fed] + 1 - EPOCH_ORDINAL) * DAY_MICROS,
                                      (d_day - EPOCH_ORDINAL) * DAY_MICROS))
        grid.e_what = np.concatenate((np.full(len(e_posting), _POSTING), np.full(len(e_fed), _FED),
                                      np.full(len(d_day), _DAILY)))
        grid.e_order = np.concatenate((posting[e_posting], f_index[e_fed], np.zeros(len(d_day), np.int64)))
        grid.e_final = grid.e_day - (grid.e_what != _FED)  # the last day known final
        grid.e_transaction = np.concatenate((posting[e_posting], np.full(len(e_fed) + len(d_day), -1)))
        grid.windows = {key: _bounds(key, grid.e_day) for key in _window_keys(prepared.condition)}

        # The grid's days: from the day before the earliest window (or row) to the period's end.
        lows = [bounds[0].min() - 1 for bounds in grid.windows.values() if len(bounds[0])]
        rows = [d.min() for d in (day, f_day, opening_day[known]) if len(d)]
        first = min([start - 1, *lows, *rows])
        days = end - first + 1
        grid.first, grid.days, grid.size = first, days, accounts * days
        values = [np.abs(v) for v in (after, amount, f_value, page.opening, page.held) if len(v)]
        largest = max(int(v.max()) for v in values) if values else 0
        if (largest + 1) * 2 * (grid.size + 2) >= _SAFE:
            return None

        # Rows: the known openings (as a posting of no amount, first on their day), the postings, the feds.
        opened = np.flatnonzero(known & active)
        r_account = np.concatenate((opened, p_account))
        r_sequence = np.concatenate((np.full(len(opened), -1), posting))
        r_after = np.concatenate((page.opening[opened], after))
        r_low = np.minimum(r_after, np.concatenate((page.opening[opened], after - amount)))
        r_cell = np.concatenate((opening_day[opened], day)) - first + r_account * days
        order = np.lexsort((r_sequence, r_account))
        r_cell, r_after, r_low = r_cell[order], r_after[order], r_low[order]
        starts = np.flatnonzero(np.r_[True, r_cell[1:] != r_cell[:-1]]) if len(r_cell) else np.zeros(0, np.int64)
        ends = np.r_[starts[1:] - 1, len(r_cell) - 1] if len(r_cell) else starts
        cells = r_cell[starts]
        # The lowest balance of its day so far, for each posting (in `order`'s order) evaluated on it.
        group = np.cumsum(np.r_[True, r_cell[1:] != r_cell[:-1]]) - 1 if len(r_cell) else r_cell
        low_so_far = _running_min(group, r_low)
        partial_low = np.empty(len(r_cell), np.int64)
        partial_low[order] = low_so_far  # back to rows' order: openings first, then postings
        partial_low = partial_low[len(opened):]

        size = grid.size
        cell = np.arange(size)
        row_start = cell - cell % days
        has_posting = np.zeros(size, np.bool_)
        has_posting[cells] = True
        closing = np.zeros(size, np.int64)
        closing[cells] = r_after[ends]
        day_low = np.full(size, _NONE)
        if len(starts):
            day_low[cells] = np.minimum.reduceat(r_low, starts)
        has_fed = np.zeros(size, np.bool_)
        fed_cells = f_day - first + f_account * days
        has_fed[fed_cells] = True
        fed_value = np.zeros(size, np.int64)
        fed_value[fed_cells] = f_value
        has_row = has_posting | has_fed
        own = np.where(has_fed, fed_value, closing)
        last_row = np.maximum.accumulate(np.where(has_row, cell, -1))
        grid.known = last_row >= row_start
        grid.collected = np.where(grid.known, own[last_row], 0)
        row_min = np.minimum(day_low, np.where(has_fed, fed_value, _NONE))
        grid.lowest = _SparseMin(np.where(has_row, row_min, np.where(grid.known, grid.collected, _NONE)))
        last_posting = np.maximum.accumulate(np.where(has_posting, cell, -1))
        balance_end = np.where(last_posting >= row_start, closing[last_posting], page.opening[cell // days])
        grid.sums = np.cumsum(grid.collected)
        grid.counts = np.cumsum(grid.known)

        # Each evaluation: the balance, and the partial day's collected balance, whether counted, lowest.
        n_posting, n_fed = len(e_posting), len(e_fed)
        final_cell = grid.cell(grid.e_account, grid.e_final)
        grid.e_balance = np.concatenate((after[e_posting], balance_end[final_cell[n_posting:]]))
        daily_before = final_cell[n_posting + n_fed:]
        grid.e_partial = np.concatenate((after[e_posting], np.zeros(n_fed, np.int64), grid.collected[daily_before]))
        grid.e_partial_counted = np.concatenate((np.ones(n_posting, np.int64), np.zeros(n_fed, np.int64),
                                                 grid.known[daily_before].astype(np.int64)))
        grid.e_partial_low = np.concatenate((partial_low[e_posting], np.full(n_fed + len(d_day), _NONE)))
        return grid

    def cell(self, account: Ints, day: Ints) -> Ints:
        return account * self.days + (day - self.first)

    # The values of one leaf for every evaluation: (value, whether it has one).

    def values(self, name: MetricName, window: tuple[str, int]) -> tuple[Ints, Bools]:
        if name is MetricName.BALANCE:
            return self.e_balance, np.ones(len(self.e_balance), np.bool_)
        if name is MetricName.AVAILABLE_BALANCE:
            return self.e_balance - self.page.held[self.e_account], np.ones(len(self.e_balance), np.bool_)
        low_day, high_day = self.windows[window]
        low = self.cell(self.e_account, low_day)
        high = self.cell(self.e_account, np.minimum(high_day, self.e_final))
        partial = high_day > self.e_final  # the window ends on the day still open
        if name is MetricName.AVERAGE_COLLECTED_BALANCE:
            inside = high >= low
            total = np.where(inside, self.sums[high] - self.sums[low - 1], 0)
            count = np.where(inside, self.counts[high] - self.counts[low - 1], 0)
            total = total + np.where(partial, self.e_partial * self.e_partial_counted, 0)
            count = count + np.where(partial, self.e_partial_counted, 0)
            has = count > 0
            count = np.where(has, count, 1)
            quotient, remainder = np.divmod(np.abs(total), count)
            quotient = quotient + (2 * remainder >= count)
            return np.where(total >= 0, quotient, -quotient), has
        carried = np.where(self.known[low - 1], self.collected[low - 1], _NONE)
        lowest = np.minimum(carried, self.lowest.query(low, high))
        lowest = np.minimum(lowest, np.where(partial, self.e_partial_low, _NONE))
        return lowest, lowest != _NONE

    # --- firing ---------------------------------------------------------------------------------------

    def fired(self, cooldown: dt.timedelta) -> Ints:
        """The evaluations that fire, in replay's order of firings (customers in the page's order): the
        crossings that the customer's cool-down lets through."""
        none: Ints = np.zeros(0, np.int64)
        if self.size == 0 or len(self.e_account) == 0:
            return none
        matched = self._program.matched(self, self._cache)
        order = np.lexsort((self.e_order, self.e_what, self.e_time, self.e_account))
        in_order = matched[order]
        account = self.e_account[order]
        first = np.r_[True, account[1:] != account[:-1]]
        before = np.r_[False, in_order[:-1]] & ~first
        crossing = order[in_order & ~before]
        if not len(crossing):
            return none
        customers = {customer: n for n, customer in enumerate(dict.fromkeys(self.page.customer_ids))}
        customer_rank = np.array([customers[c] for c in self.page.customer_ids], np.int64)
        e_account = self.e_account[crossing]
        ranked = crossing[np.lexsort((self.e_order[crossing], e_account, self.e_what[crossing],
                                      self.e_time[crossing], customer_rank[e_account]))]
        fired = []
        wait = cooldown // dt.timedelta(microseconds=1)
        last_customer, last_fired = -1, 0
        for evaluation, customer, at in zip(ranked.tolist(), customer_rank[self.e_account[ranked]].tolist(),
                                            self.e_time[ranked].tolist(), strict=True):
            if customer == last_customer and at - last_fired < wait:
                continue
            last_customer, last_fired = customer, at
            fired.append(evaluation)
        return np.array(fired, np.int64)

    def firing(self, evaluation: int) -> Firing:
        """Evaluation `evaluation`'s firing, with the values it read and its posting (the page's ids needed)."""
        assert self.page.transaction_ids is not None
        read: dict[str, int | None] = {}
        self._program.read(self, self._cache, evaluation, read)
        account = int(self.e_account[evaluation])
        transaction = int(self.e_transaction[evaluation])
        return Firing(self.page.account_ids[account], self.page.customer_ids[account],
                      dt.date.fromordinal(int(self.e_day[evaluation])), _at(int(self.e_time[evaluation])),
                      self.page.transaction_ids[transaction] if transaction >= 0 else None,
                      {text: "" if value is None else format(from_scaled(value), "f") for text, value in read.items()})


# --- the condition over the grid ------------------------------------------------------------------------


class _Node:
    def matched(self, grid: _Grid, cache: dict[Any, tuple[Ints, Bools]]) -> Bools:
        raise NotImplementedError

    def read(self, grid: _Grid, cache: dict[Any, tuple[Ints, Bools]], n: int, read: dict[str, int | None]) -> bool:
        """Evaluation n again as scaled_replay reads it (AND and OR stop at the part that decides), noting the
        values read."""
        raise NotImplementedError


@dataclass(frozen=True)
class _All(_Node):
    parts: tuple[_Node, ...]

    def matched(self, grid: _Grid, cache: dict[Any, tuple[Ints, Bools]]) -> Bools:
        result = self.parts[0].matched(grid, cache)
        for part in self.parts[1:]:
            result = result & part.matched(grid, cache)
        return result

    def read(self, grid: _Grid, cache: dict[Any, tuple[Ints, Bools]], n: int, read: dict[str, int | None]) -> bool:
        return all(part.read(grid, cache, n, read) for part in self.parts)


@dataclass(frozen=True)
class _Any(_Node):
    parts: tuple[_Node, ...]

    def matched(self, grid: _Grid, cache: dict[Any, tuple[Ints, Bools]]) -> Bools:
        result = self.parts[0].matched(grid, cache)
        for part in self.parts[1:]:
            result = result | part.matched(grid, cache)
        return result

    def read(self, grid: _Grid, cache: dict[Any, tuple[Ints, Bools]], n: int, read: dict[str, int | None]) -> bool:
        return any(part.read(grid, cache, n, read) for part in self.parts)


@dataclass(frozen=True)
class _Not(_Node):
    part: _Node

    def matched(self, grid: _Grid, cache: dict[Any, tuple[Ints, Bools]]) -> Bools:
        return ~self.part.matched(grid, cache)

    def read(self, grid: _Grid, cache: dict[Any, tuple[Ints, Bools]], n: int, read: dict[str, int | None]) -> bool:
        return not self.part.read(grid, cache, n, read)


@dataclass(frozen=True)
class _Leaf(_Node):
    """A metric compared, over one window or (FOR n MONTHS) each of the last n months: `texts` the names its
    values are shown under, `windows` their window keys."""

    name: MetricName
    texts: tuple[str, ...]
    windows: tuple[tuple[str, int], ...]
    passes: Callable[[Ints], Bools]

    def _values(self, grid: _Grid, cache: dict[Any, tuple[Ints, Bools]], window: tuple[str, int]
                ) -> tuple[Ints, Bools]:
        key = (self.name, window)
        if key not in cache:
            cache[key] = grid.values(self.name, window)
        return cache[key]

    def matched(self, grid: _Grid, cache: dict[Any, tuple[Ints, Bools]]) -> Bools:
        result: Bools | None = None
        for window in self.windows:
            value, has = self._values(grid, cache, window)
            holds = has & self.passes(value)
            result = holds if result is None else result & holds
        assert result is not None
        return result

    def read(self, grid: _Grid, cache: dict[Any, tuple[Ints, Bools]], n: int, read: dict[str, int | None]) -> bool:
        for text, window in zip(self.texts, self.windows, strict=True):
            value, has = self._values(grid, cache, window)
            if not has[n]:
                read[_text(text, grid, window, n)] = None
                return False
            read[_text(text, grid, window, n)] = int(value[n])
            if not bool(self.passes(value[n:n + 1])[0]):
                return False
        return True


def _text(text: str, grid: _Grid, window: tuple[str, int], n: int) -> str:
    """A FOR leaf's value is shown under its month: `{}` stands for that month's year and number."""
    if "{}" not in text:
        return text
    first = dt.date.fromordinal(int(grid.windows[window][0][n]))
    return text.format(f"{first.year:04d}-{first.month:02d}")


def _compile(condition: Condition) -> _Node:
    if isinstance(condition, AllOf):
        return _All(tuple(_compile(part) for part in condition.parts))
    if isinstance(condition, AnyOf):
        return _Any(tuple(_compile(part) for part in condition.parts))
    if isinstance(condition, Negation):
        return _Not(_compile(condition.part))
    assert isinstance(condition, MetricCompare)
    metric = condition.metric
    passes = scaled_test(condition.comparator, condition.amount)
    if condition.months:
        months = tuple(("back", n) for n in range(1, condition.months + 1))
        return _Leaf(metric.name, (f"{metric.name.value}({{}})",) * condition.months, months, passes)
    return _Leaf(metric.name, (str(metric),), (_window_key(condition),), passes)


def _window_key(leaf: MetricCompare) -> tuple[str, int]:
    window = leaf.metric.window
    if window is None:
        return ("none", 0)
    if window.kind is WindowKind.DAYS:
        return ("days", window.days)
    if window.kind is WindowKind.MONTH_TO_DATE:
        return ("month", 0)
    return ("back", 1)


def _window_keys(condition: Condition) -> set[tuple[str, int]]:
    match condition:
        case AllOf(parts) | AnyOf(parts):
            return set().union(*(_window_keys(part) for part in parts))
        case Negation(part):
            return _window_keys(part)
        case MetricCompare() if condition.months:
            return {("back", n) for n in range(1, condition.months + 1)}
        case MetricCompare() if condition.metric.window is not None:
            return {_window_key(condition)}
    return set()


def _bounds(key: tuple[str, int], day: Ints) -> tuple[Ints, Ints]:
    """The first and last day (ordinals) of window `key` evaluated on each day: ("days", n) the n days ending
    with it, ("month", 0) its month to date, ("back", n) the whole calendar month n months before its own."""
    kind, n = key
    if kind == "days":
        return day - (n - 1), day
    month = (day - EPOCH_ORDINAL).astype("datetime64[D]").astype("datetime64[M]")
    if kind == "month":
        return month.astype("datetime64[D]").astype(np.int64) + EPOCH_ORDINAL, day
    first = (month - n).astype("datetime64[D]").astype(np.int64) + EPOCH_ORDINAL
    last = (month - n + 1).astype("datetime64[D]").astype(np.int64) + EPOCH_ORDINAL - 1
    return first, last


# --- array helpers -----------------------------------------------------------------------------------------


class _SparseMin:
    """Range minimums over one array in O(1) a query: level k holds the minimum of 2^k cells from each."""

    def __init__(self, values: Ints) -> None:
        self.levels = [values]
        width = 1
        while 2 * width <= len(values):
            below = self.levels[-1]
            self.levels.append(np.minimum(below[:-width], below[width:]))
            width *= 2

    def query(self, low: Ints, high: Ints) -> Ints:
        """The minimum over the cells [low, high] of each pair; _NONE where high < low."""
        length = high - low + 1
        empty = length <= 0
        length = np.where(empty, 1, length)
        level = np.floor(np.log2(length)).astype(np.int64)
        result = np.full(len(low), _NONE)
        for k in np.unique(level).tolist():
            at = level == k
            values = self.levels[k]
            result[at] = np.minimum(values[np.where(empty[at], 0, low[at])],
                                    values[np.where(empty[at], 0, high[at] - (1 << k) + 1)])
        return np.where(empty, _NONE, result)


def _running_max(group: Ints, values: Ints) -> Ints:
    """The running maximum of `values` within each run of equal, ascending `group` ids."""
    if not len(values):
        return values
    unique, rank = np.unique(values, return_inverse=True)
    span = len(unique)
    return unique[np.maximum.accumulate(group * span + rank) - group * span]


def _running_min(group: Ints, values: Ints) -> Ints:
    """The running minimum of `values` within each run of equal, ascending `group` ids."""
    if not len(values):
        return values
    unique, rank = np.unique(values, return_inverse=True)
    span = len(unique)
    shift = (group[-1] - group) * span  # later groups below every earlier one: the minimum restarts
    lowest: Ints = unique[np.minimum.accumulate(shift + rank) - shift]
    return lowest


def _index_within(counts: Ints) -> Ints:
    """0, 1, ..., count - 1 for each count, concatenated."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts


def _ints(values: Sequence[int]) -> Ints:
    return np.array(values, dtype=np.int64)


def _micros(at: dt.datetime) -> int:
    return (at - EPOCH) // dt.timedelta(microseconds=1)


def _at(micros: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=micros)


def _day(ordinal: int) -> dt.date | None:
    return dt.date.fromordinal(ordinal) if ordinal else None


