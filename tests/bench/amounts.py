"""The realistic amount profile: a retail bank's postings, shaped after the real Berka data
(/work/shared/data/berka/trans.asc, 49,102 whole rows of 1993-01 to 1994-03; `python -m
tests.bench.berka_amounts` recomputes the figures below from it).

Each kind of posting keeps Berka's share of rows and the log-normal fit of its amounts (mean `mu` and
standard deviation `sigma` of ln(CZK)), converted at CZK_PER_EUR. That keeps Berka's 1993 price level:
a median cash withdrawal of 3,920 CZK is 157 EUR. The partial file has no card payments to speak of
(12 VYBER KARTOU rows): its customers spent through cash withdrawals, so those are the everyday debits.

Per account, as in Berka: one salary credit a month (its first posting of a month), a fixed amount drawn
once from Berka's incoming transfers; and balances that stay positive (0.19 % of Berka's rows leave a
negative balance): a debit the balance cannot cover becomes a cash deposit, as its owner tops it up."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

# The Czech National Bank's rate of 2024 (about 25 CZK per EUR), applied to 1993 amounts as they are.
CZK_PER_EUR = 25


@dataclass(frozen=True)
class PostingKind:
    berka: str  # Berka's type / operation / k_symbol
    direction: str
    category: str
    description: str
    share: float  # of Berka's rows
    mu: float  # of ln(amount in CZK)
    sigma: float

    def cents(self, rng: random.Random) -> int:
        czk = math.exp(rng.gauss(self.mu, self.sigma))
        return max(1, round(czk * 100 / CZK_PER_EUR))


# Berka's kinds of at least 1 % of rows (type/operation/k_symbol), but its incoming transfers and
# pensions: those are the salary.
KINDS = (
    PostingKind("VYDAJ/VYBER", "DEBIT", "CASH", "cash withdrawal", 0.274, 8.310, 1.252),
    PostingKind("PRIJEM/VKLAD", "CREDIT", "CASH", "cash deposit", 0.199, 8.836, 1.445),
    PostingKind("PRIJEM/UROK", "CREDIT", "INTEREST", "interest", 0.193, 4.663, 0.790),
    PostingKind("VYDAJ/VYBER/SLUZBY", "DEBIT", "FEES", "statement fee", 0.111, 2.760, 0.310),
    PostingKind("VYDAJ/PREVOD NA UCET/SIPO", "DEBIT", "RENT", "household payment", 0.073, 8.075, 0.867),
    PostingKind("VYDAJ/PREVOD NA UCET", "DEBIT", "UTILITIES", "transfer out", 0.040, 6.830, 1.446),
    PostingKind("VYBER/VYBER", "DEBIT", "CASH", "cash withdrawal", 0.013, 9.238, 0.643),
    PostingKind("VYDAJ/PREVOD NA UCET/POJISTNE", "DEBIT", "INSURANCE", "insurance", 0.013, 5.950, 1.888),
)
CASH_DEPOSIT = KINDS[1]
# PRIJEM/PREVOD Z UCTU without k_symbol: 2,002 rows, median 3,972 CZK.
SALARY = PostingKind("PRIJEM/PREVOD Z UCTU", "CREDIT", "SALARY", "salary", 0.041, 9.158, 1.125)


@dataclass(frozen=True)
class Drawn:
    cents: int
    direction: str
    category: str
    description: str


class RealisticAmounts:
    """Draws the postings of a feed ordered by time, keeping every account's balance and salary month."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.salary_cents: dict[str, int] = {}
        self.salary_month: dict[str, tuple[int, int]] = {}
        self.balance_cents: dict[str, int] = {}
        self.weights = [kind.share for kind in KINDS]

    def draw(self, account_id: str, posted_at: dt.datetime) -> Drawn:
        month = (posted_at.year, posted_at.month)
        if self.salary_month.get(account_id) != month:
            self.salary_month[account_id] = month
            cents = self.salary_cents.setdefault(account_id, SALARY.cents(self.rng))
            return self._post(account_id, SALARY, cents)
        kind = self.rng.choices(KINDS, self.weights)[0]
        cents = kind.cents(self.rng)
        if kind.direction == "DEBIT" and cents > self.balance_cents.get(account_id, 0):
            kind, cents = CASH_DEPOSIT, CASH_DEPOSIT.cents(self.rng)
        return self._post(account_id, kind, cents)

    def _post(self, account_id: str, kind: PostingKind, cents: int) -> Drawn:
        signed = cents if kind.direction == "CREDIT" else -cents
        self.balance_cents[account_id] = self.balance_cents.get(account_id, 0) + signed
        return Drawn(cents, kind.direction, kind.category, kind.description)
