"""End-of-day balances from the bank's running balance, and the check that they add up.

Pure: no gRPC, no files. Rows of one account and day are not in trans_id order in the Berka feed
(month-end interest and the statement fee often come the other way round), so the day's closing
balance is the balance of the last row of the day's *chain*: the order in which every row starts
where the previous one ended. Interest is rounded, so "starts where it ended" allows TOLERANCE."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

# A row's balance may differ from the previous balance plus its amount by up to this (rounded interest).
TOLERANCE = Decimal("0.10")
# Orderings tried per day before giving up: a day holds a handful of rows, this only stops pathologies.
MAX_SEARCH_STEPS = 20_000


@dataclass(frozen=True)
class Posting:
    account_id: str
    day: dt.date
    transaction_id: str
    signed_amount: Decimal  # credits positive, debits negative
    balance: Decimal  # the bank's running balance after the row

    @property
    def opening(self) -> Decimal:
        """The balance just before this row, by its own figures."""
        return self.balance - self.signed_amount


@dataclass(frozen=True)
class DailyClosing:
    account_id: str
    day: dt.date
    balance: Decimal


@dataclass(frozen=True)
class CheckFailure:
    """A day whose closing balance is not the previous closing plus the day's amounts."""

    account_id: str
    day: dt.date
    expected: Decimal
    derived: Decimal
    rows: int

    def __str__(self) -> str:
        return (f"account {self.account_id} on {self.day.isoformat()}: closing {self.derived} but previous "
                f"closing + {self.rows} amount(s) = {self.expected}")


@dataclass
class BalanceDerivation:
    closings: list[DailyClosing] = field(default_factory=list)
    failures: list[CheckFailure] = field(default_factory=list)
    days_checked: int = 0
    # Days whose rows do not continue from the previous closing (chain restarted from the rows alone).
    restarted_days: int = 0
    # Days whose rows form no chain at all: the closing is the row nearest to previous closing + amounts.
    unchained_days: int = 0

    def last_balances(self) -> dict[str, Decimal]:
        """Each account's last closing balance: the bank's final running balance."""
        return {c.account_id: c.balance for c in self.closings}  # closings are in date order per account


def _trans_order(posting: Posting) -> tuple[int, str]:
    return len(posting.transaction_id), posting.transaction_id  # numeric order for digit ids


def chain_day(postings: Sequence[Posting], previous_close: Decimal | None) -> list[Posting] | None:
    """One day's rows of one account in chain order: the first starts at previous_close (anywhere
    when None), each next one where the last ended, all within TOLERANCE. Of several fitting
    orders the one with the smallest total gap wins, then the one nearest trans_id order.
    None when no order fits."""
    rows = sorted(postings, key=_trans_order)
    best: tuple[Decimal, list[Posting]] | None = None
    steps = 0

    def extend(path: list[Posting], remaining: list[Posting], at: Decimal | None, gap_so_far: Decimal) -> None:
        nonlocal best, steps
        if best is not None and gap_so_far >= best[0]:
            return  # cannot beat what we have; an equal one found later is further from trans_id order
        if not remaining:
            best = (gap_so_far, path)
            return
        steps += 1
        if steps > MAX_SEARCH_STEPS:
            return
        for position, row in enumerate(remaining):
            gap = Decimal(0) if at is None else abs(row.opening - at)
            if gap <= TOLERANCE:
                extend([*path, row], remaining[:position] + remaining[position + 1:], row.balance, gap_so_far + gap)

    extend([], rows, previous_close, Decimal(0))
    return None if best is None else best[1]


def _nearest_row(rows: Sequence[Posting], expected: Decimal) -> Posting:
    """Fallback when no chain exists: the row whose balance is nearest the arithmetic closing,
    the later trans_id on a tie."""
    ordered = sorted(rows, key=_trans_order)
    return min(reversed(ordered), key=lambda row: abs(row.balance - expected))


def derive_daily_balances(postings: Iterable[Posting]) -> BalanceDerivation:
    """Closing balance of every (account, day) with rows, in account then date order, and the check
    that each equals the previous closing plus the day's amounts within TOLERANCE per row."""
    by_day: dict[str, dict[dt.date, list[Posting]]] = defaultdict(lambda: defaultdict(list))
    for posting in postings:
        by_day[posting.account_id][posting.day].append(posting)

    derivation = BalanceDerivation()
    for account_id in sorted(by_day, key=lambda a: (len(a), a)):
        previous: Decimal | None = None
        for day in sorted(by_day[account_id]):
            rows = by_day[account_id][day]
            day_sum = sum((row.signed_amount for row in rows), Decimal(0))
            chain = chain_day(rows, previous)
            if chain is None and previous is not None:
                derivation.restarted_days += 1
                chain = chain_day(rows, None)
            if chain is not None:
                opening = previous if previous is not None else chain[0].opening
                closing = chain[-1].balance
            else:
                derivation.unchained_days += 1
                opening = previous if previous is not None else min(rows, key=_trans_order).opening
                closing = _nearest_row(rows, opening + day_sum).balance
            expected = opening + day_sum
            derivation.days_checked += 1
            if abs(closing - expected) > TOLERANCE * len(rows):
                derivation.failures.append(CheckFailure(account_id, day, expected, closing, len(rows)))
            derivation.closings.append(DailyClosing(account_id, day, closing))
            previous = closing
    return derivation
