"""Unusual activity: an amount judged against the customer's own history of the same kind of
transaction (docs/services/engagement.md#unusual-activity). Pure: the history comes from the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

DEFAULT_PERCENTILE = Decimal(99)
DEFAULT_DAYS = 90
# Fewer same-kind transactions than this in the window and there is no baseline to speak of: 10 is the
# fewest whose 99th percentile is not simply the largest of a handful of withdrawals.
DEFAULT_MIN_HISTORY = 10
MAX_DAYS = 730
MAX_MIN_HISTORY = 1000


@dataclass(frozen=True)
class Baseline:
    """Above the `percentile` of the customer's same-kind transactions of the last `days` days, when
    there are at least `min_history` of them."""

    percentile: Decimal = DEFAULT_PERCENTILE
    days: int = DEFAULT_DAYS
    min_history: int = DEFAULT_MIN_HISTORY


def percentile(values: Sequence[Decimal], p: Decimal) -> Decimal:
    """The p-th percentile (0-100) of the values, interpolated linearly between the two nearest ranks
    (NumPy's default "linear" method, Excel's PERCENTILE.INC): the smallest value at 0, the largest at 100.
    Exact Decimal arithmetic; `values` must not be empty."""
    if not values:
        raise ValueError("no values")
    if not Decimal(0) <= p <= Decimal(100):
        raise ValueError("p must be within 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / Decimal(100)
    lower = int(rank)  # rank is not negative: int() floors it
    if lower + 1 >= len(ordered):
        return ordered[-1]
    fraction = rank - lower
    return ordered[lower] + (ordered[lower + 1] - ordered[lower]) * fraction


def above_baseline(amount: Decimal, history: Sequence[Decimal], baseline: Baseline) -> bool | None:
    """Whether the amount is strictly above the baseline of the history (amounts without sign); None when
    the history is shorter than `min_history`: the customer has no baseline yet."""
    if len(history) < baseline.min_history or not history:
        return None
    return amount > percentile(history, baseline.percentile)
