"""A customer's money, day by day: every posting on each of their accounts and each end-of-day balance."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from clients.demo_data import catalog
from clients.demo_data.amounts import ZERO, cents, draw, round_to
from clients.demo_data.profiles import CustomerProfile
from clients.demo_data.spec import DemoSpec, month_end

OVERDRAFT_YEARLY_RATE = Decimal("0.12")
# Energy costs more in winter: multiplier by month.
_SEASON = {1: Decimal("1.35"), 2: Decimal("1.3"), 3: Decimal("1.15"), 4: Decimal("1.0"), 5: Decimal("0.85"),
           6: Decimal("0.75"), 7: Decimal("0.75"), 8: Decimal("0.75"), 9: Decimal("0.85"), 10: Decimal("1.0"),
           11: Decimal("1.15"), 12: Decimal("1.3")}
_SPEND_WEIGHTS = [c.weight for c in catalog.SPENDING]


@dataclass(frozen=True)
class Posting:
    account_id: str
    at: dt.datetime
    amount: Decimal  # signed: positive is money into the account
    description: str
    category: str
    order: int  # creation order: breaks ties between postings at the same second


@dataclass(frozen=True)
class EndOfDay:
    account_id: str
    day: dt.date
    balance: Decimal


def _at(day: dt.date, seconds: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(seconds=seconds)


def pay_date(profile: CustomerProfile, month_start: dt.date) -> dt.date:
    """The pay day in this month; on a weekend it moves to the nearest weekday inside the month."""
    day = month_end(month_start) if profile.pay_day == 0 else month_start.replace(day=profile.pay_day)
    step = 1 if day.day <= 7 else -1
    while day.weekday() >= 5:
        day += dt.timedelta(days=step)
    return day


class Simulation:
    def __init__(self, spec: DemoSpec, profile: CustomerProfile) -> None:
        self.spec = spec
        self.profile = profile
        self.rng = random.Random(spec.customer_seed(profile.index) + ":activity")
        self.balances = {a.account_id: ZERO for a in profile.accounts}
        self.postings: list[Posting] = []
        self.end_of_days: list[EndOfDay] = []
        checking, savings, card = (profile.account(kind) for kind in ("checking", "savings", "credit_card"))
        assert checking is not None
        self.checking = checking.account_id
        self.savings = savings.account_id if savings else None
        self.card = card.account_id if card else None
        self._overdraft_interest = ZERO
        self._month_events: dict[dt.date, str] = {}

    def run(self) -> Simulation:
        for day in self.spec.days():
            if day == self.spec.start:
                self._open(day)
            if day.day == 1 or day == self.spec.start:
                self._plan_month(day)
            self._scheduled(day)
            self._card_spending(day)
            self._end_of_day(day)
        return self

    def post(self, account_id: str, at: dt.datetime, amount: Decimal, description: str, category: str) -> None:
        self.balances[account_id] += amount
        self.postings.append(Posting(account_id, at, amount, description, category, len(self.postings)))

    def transfer(self, source: str, target: str, at: dt.datetime, amount: Decimal, out_text: str, in_text: str,
                 category: str) -> None:
        self.post(source, at, -amount, out_text, category)
        self.post(target, at, amount, in_text, category)

    # -- the calendar ---------------------------------------------------------------------------

    def _open(self, day: dt.date) -> None:
        # The service starts every account at 0, so what it held before the period arrives as a credit.
        for account in self.profile.accounts:
            if account.opening_balance:
                self.post(account.account_id, _at(day, 0), account.opening_balance, "Opening balance",
                          "OPENING_BALANCE")

    def _plan_month(self, day: dt.date) -> None:
        """Occasional big money in or out: at most one of each a month, on a random day."""
        last = month_end(day).day
        self._month_events = {}
        if self.rng.random() < 0.08:
            self._month_events[day.replace(day=self.rng.randint(1, last))] = "deposit"
        if self.rng.random() < 0.07:
            self._month_events.setdefault(day.replace(day=self.rng.randint(1, last)), "withdrawal")

    def _scheduled(self, day: dt.date) -> None:
        profile, rng = self.profile, self.rng
        if day == pay_date(profile, day.replace(day=1)):
            paid = _at(day, rng.randint(5 * 3600, 7 * 3600))
            self.post(self.checking, paid, profile.income, profile.income_description,
                      "PENSION" if profile.segment.pension else "SALARY")
            if self.savings and profile.savings_transfer and self.balances[self.checking] > profile.savings_transfer:
                self.transfer(self.checking, self.savings, paid + dt.timedelta(hours=2), profile.savings_transfer,
                              "Standing order to savings", "Standing order from checking", "SAVINGS")
        for bill in profile.bills:
            if day.day == bill.day:
                amount = cents(bill.amount * _SEASON[day.month]) if bill.seasonal else bill.amount
                self.post(self.checking, _at(day, rng.randint(6 * 3600, 10 * 3600)), -amount, bill.description,
                          bill.category)
        if self.card and day.day == profile.card_repayment_day and self.balances[self.card] < 0:
            self.transfer(self.checking, self.card, _at(day, 8 * 3600), -self.balances[self.card],
                          "Credit card repayment", "Payment received - thank you", "CARD_REPAYMENT")
        event = self._month_events.get(day)
        if event == "deposit":
            self._large_deposit(day)
        elif event == "withdrawal":
            self._large_withdrawal(day)

    def _large_deposit(self, day: dt.date) -> None:
        description, category = self.rng.choice(catalog.LARGE_DEPOSITS)
        amount = round_to(draw(self.rng, Decimal(400), Decimal(6000)) * self.spec.price_level, Decimal(10))
        self.post(self.checking, _at(day, self.rng.randint(9 * 3600, 17 * 3600)), amount, description, category)

    def _large_withdrawal(self, day: dt.date) -> None:
        description, category = self.rng.choice(catalog.LARGE_WITHDRAWALS)
        amount = round_to(draw(self.rng, Decimal(300), Decimal(3000)) * self.spec.price_level, Decimal(10))
        at = _at(day, self.rng.randint(9 * 3600, 17 * 3600))
        if self.savings and self.balances[self.savings] >= amount and self.rng.random() < 0.4:
            self.post(self.savings, at, -amount, "Transfer to external account", "TRANSFER")
        elif self.balances[self.checking] - amount >= -self.profile.overdraft_limit / 2:
            self.post(self.checking, at, -amount, description, category)

    # -- everyday spending ----------------------------------------------------------------------

    def _card_spending(self, day: dt.date) -> None:
        rng, profile = self.rng, self.profile
        count = rng.choice((0, 1, 1, 2, 2, 3))
        times = sorted(rng.randint(7 * 3600, 23 * 3600 - 1) for _ in range(count))
        for seconds in times:
            category = rng.choices(catalog.SPENDING, weights=_SPEND_WEIGHTS)[0]
            amount = cents(draw(rng, category.low, category.high) * profile.spend_scale * self.spec.price_level)
            if category.cash:
                amount = round_to(amount, 10 * self.spec.price_level)
            amount = max(amount, Decimal("0.50"))
            merchant = rng.choice(category.merchants)
            on_card = self.card and not category.cash and rng.random() < profile.card_share
            if on_card and self.balances[self.card] - amount >= -profile.card_limit:  # type: ignore[index]
                self.post(self.card, _at(day, seconds), -amount, merchant, category.name)  # type: ignore[arg-type]
            elif self.balances[self.checking] - amount >= -profile.overdraft_limit:
                self.post(self.checking, _at(day, seconds), -amount, merchant, category.name)
            # Otherwise the card is declined: nothing is posted.

    # -- the end of the day ---------------------------------------------------------------------

    def _end_of_day(self, day: dt.date) -> None:
        checking = self.balances[self.checking]
        if checking < 0:
            self._overdraft_interest += -checking * OVERDRAFT_YEARLY_RATE / 365
        if day == month_end(day):
            self._month_end(day)
        for account_id, balance in self.balances.items():
            self.end_of_days.append(EndOfDay(account_id, day, balance))

    def _month_end(self, day: dt.date) -> None:
        charge = cents(self._overdraft_interest)
        self._overdraft_interest = ZERO
        if charge > 0:
            self.post(self.checking, _at(day, 23 * 3600 + 58 * 60), -charge, "Overdraft interest", "FEES")
        if self.savings and self.balances[self.savings] > 0:
            interest = cents(self.balances[self.savings] * self.profile.savings_rate / 12)
            if interest > 0:
                self.post(self.savings, _at(day, 23 * 3600 + 59 * 60), interest, "Interest", "INTEREST")
