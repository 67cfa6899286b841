"""Who the demo customers are: attributes, income, fixed costs, habits and accounts."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from clients.demo_data import catalog
from clients.demo_data.amounts import ZERO, cents, draw, round_to, share
from clients.demo_data.spec import DemoSpec

# Mean purchases a day (the weights of `purchases_per_day` in the simulation): 0, 1, 1, 2, 2, 3.
PURCHASES_PER_DAY = Decimal("1.5")
DAYS_PER_MONTH = Decimal("30.4")


@dataclass(frozen=True)
class Bill:
    description: str
    category: str
    amount: Decimal
    day: int
    # Energy bills follow the season; rent and subscriptions do not.
    seasonal: bool = False


@dataclass(frozen=True)
class AccountPlan:
    account_id: str
    kind: str  # "checking", "savings" or "credit_card"
    name: str
    open_date: dt.date
    opening_balance: Decimal
    attributes: dict[str, str]


@dataclass
class CustomerProfile:
    index: int
    customer_id: str
    segment: catalog.Segment
    attributes: dict[str, str]
    income: Decimal
    income_description: str
    pay_day: int  # day of the month; 0 means its last day
    stretched: bool
    overdraft_limit: Decimal
    bills: list[Bill]
    savings_transfer: Decimal
    savings_rate: Decimal  # yearly interest on the savings account
    card_limit: Decimal
    card_share: float  # of purchases paid by credit card
    card_repayment_day: int
    # Multiplies the catalog's purchase ranges so that spending fits the customer's budget.
    spend_scale: Decimal
    accounts: list[AccountPlan] = field(default_factory=list)

    def account(self, kind: str) -> AccountPlan | None:
        return next((a for a in self.accounts if a.kind == kind), None)


def _mean_purchase() -> Decimal:
    weights = sum(c.weight for c in catalog.SPENDING)
    return sum(((c.low + c.high) / 2 * c.weight for c in catalog.SPENDING), Decimal(0)) / weights


def make_profile(spec: DemoSpec, index: int) -> CustomerProfile:
    rng = random.Random(spec.customer_seed(index) + ":profile")
    level = spec.price_level
    segment = rng.choices(catalog.SEGMENTS, weights=[s.weight for s in catalog.SEGMENTS])[0]
    age = rng.randint(*segment.ages)
    income = round_to(draw(rng, Decimal(segment.income[0]), Decimal(segment.income[1])) * level, Decimal(5) * level)
    stretched = rng.random() < segment.stretched
    homeowner = rng.random() < segment.homeowners
    housing = "OWNED" if homeowner and segment.pension else ("MORTGAGE" if homeowner else "RENT")
    first_year_as_adult = spec.start.year - age + 18
    since_year = rng.randint(max(first_year_as_adult, spec.start.year - 25), spec.start.year - 1)
    since = dt.date(since_year, rng.randint(1, 12), rng.randint(1, 28))
    employer = rng.choice(catalog.EMPLOYERS)

    bills = _bills(rng, income, housing, level)
    savings_wanted = rng.random() < (0.5 if segment.name == "STUDENT" else 0.82)
    savings_transfer = ZERO if stretched or not savings_wanted else round_to(income * share(rng, 4, 15), 10 * level)
    fixed = sum((b.amount for b in bills), ZERO) + savings_transfer
    spend_ratio = share(rng, 104, 112) if stretched else share(rng, 78, 94)
    budget = max(income * spend_ratio - fixed, income * Decimal("0.12"))
    spend_scale = (budget / (DAYS_PER_MONTH * PURCHASES_PER_DAY * _mean_purchase() * level)).quantize(Decimal("0.001"))

    card_wanted = rng.random() < {"AFFLUENT": 0.8, "STUDENT": 0.1}.get(segment.name, 0.35)
    profile = CustomerProfile(
        index=index, customer_id=f"demo-c{index:04d}", segment=segment,
        attributes={
            "birth_year": str(spec.start.year - age), "segment": segment.name, "city": rng.choice(catalog.CITIES),
            "occupation": rng.choice(segment.occupations), "household_size": str(rng.randint(*segment.household)),
            "housing": housing, "customer_since": since.isoformat(), "channel": rng.choice(catalog.CHANNELS),
            "demo_seed": str(spec.seed)},
        income=income,
        income_description="Pension - State Pension Fund" if segment.pension else f"Salary - {employer}",
        pay_day=rng.choice((1, 15, 25, 25, 27, 28, 0, 0)),
        stretched=stretched,
        overdraft_limit=round_to(income * share(rng, 30, 80), 100 * level),
        bills=bills, savings_transfer=savings_transfer, savings_rate=share(rng, 5, 25) / 10,
        card_limit=round_to(income * share(rng, 50, 150), 500 * level) if card_wanted else ZERO,
        card_share=rng.uniform(0.3, 0.6), card_repayment_day=rng.randint(18, 24), spend_scale=spend_scale)
    if not segment.pension:
        profile.attributes["employer"] = employer
    profile.accounts = _accounts(rng, spec, profile, since, savings_wanted or savings_transfer > 0)
    return profile


def _bills(rng: random.Random, income: Decimal, housing: str, level: Decimal) -> list[Bill]:
    bills = []
    if housing == "RENT":
        landlord = rng.choice(catalog.LANDLORDS)
        bills.append(Bill(f"Rent - {landlord}", "RENT", round_to(income * share(rng, 24, 38), 10 * level),
                          rng.randint(1, 5)))
    elif housing == "MORTGAGE":
        bills.append(Bill("Mortgage repayment", "MORTGAGE", round_to(income * share(rng, 18, 30), 10 * level),
                          rng.randint(1, 5)))
    bills += [
        Bill("Electricity and gas", "UTILITIES", cents(draw(rng, Decimal(55), Decimal(150)) * level),
             rng.randint(10, 18), seasonal=True),
        Bill("Internet", "UTILITIES", cents(draw(rng, Decimal(25), Decimal(45)) * level), rng.randint(18, 22)),
        Bill("Mobile phone", "UTILITIES", cents(draw(rng, Decimal(12), Decimal(40)) * level), rng.randint(6, 9)),
    ]
    for name, price in rng.sample(catalog.SUBSCRIPTIONS, rng.randint(0, 3)):
        bills.append(Bill(name, "SUBSCRIPTIONS", cents(price * level), rng.randint(1, 28)))
    return bills


def _accounts(rng: random.Random, spec: DemoSpec, profile: CustomerProfile, since: dt.date,
              with_savings: bool) -> list[AccountPlan]:
    number = f"demo-a{profile.index:04d}"
    income = profile.income
    opening = income * (share(rng, 2, 20) if profile.stretched else share(rng, 40, 160))
    accounts = [AccountPlan(f"{number}-chk", "checking", "Everyday Checking", since, round_to(opening, Decimal(1)),
                            {"overdraft_limit": str(profile.overdraft_limit)})]
    days_known = (spec.start - since).days
    if with_savings:
        saved = income * (share(rng, 0, 50) if profile.stretched else share(rng, 50, 1000))
        opened = since + dt.timedelta(rng.randint(0, days_known - 1))
        accounts.append(AccountPlan(f"{number}-sav", "savings", "Savings", opened, cents(saved),
                                    {"interest_rate": str(profile.savings_rate)}))
    if profile.card_limit:
        accounts.append(AccountPlan(f"{number}-cc", "credit_card", "Visa Credit Card",
                                    since + dt.timedelta(rng.randint(0, days_known - 1)), ZERO,
                                    {"credit_limit": str(profile.card_limit)}))
    return accounts
