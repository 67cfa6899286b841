"""What a demo data set is made from: the seed and the size, and the calendar it covers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

# Euro-like prices times this give believable amounts in currencies with smaller units.
_PRICE_LEVELS = {"CZK": 25, "PLN": 4, "SEK": 11, "NOK": 11, "DKK": 7, "HUF": 400, "RON": 5, "MXN": 20, "ZAR": 20}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_MONTHS = 120


def default_until(today: dt.date | None = None) -> dt.date:
    """The last day of the previous month (UTC): the newest complete month."""
    today = today or dt.datetime.now(dt.UTC).date()
    return today.replace(day=1) - dt.timedelta(days=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after day's month (negative goes back)."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(day: dt.date) -> dt.date:
    return add_months(day, 1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class DemoSpec:
    customers: int
    months: int
    seed: int
    until: dt.date
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if not 1 <= self.months <= MAX_MONTHS:
            raise ValueError(f"months must be between 1 and {MAX_MONTHS}")
        if not _CURRENCY.match(self.currency):
            raise ValueError("currency must be a three-letter ISO 4217 code such as EUR")

    @property
    def start(self) -> dt.date:
        """The first day of the oldest month: `months` calendar months end with until's month."""
        return add_months(self.until, -(self.months - 1))

    @property
    def price_level(self) -> Decimal:
        return Decimal(_PRICE_LEVELS.get(self.currency, 1))

    def days(self) -> Iterator[dt.date]:
        day = self.start
        while day <= self.until:
            yield day
            day += dt.timedelta(days=1)

    def customer_seed(self, index: int) -> str:
        """Each customer gets a random stream of its own: customer 3 is the same whether 5 or 500 are made.
        random.Random hashes a str seed with SHA-512, so this is stable across runs and machines."""
        return f"engage-demo:{self.seed}:{index}"
