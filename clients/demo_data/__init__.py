"""Deterministic, realistic demonstration data for Engage (pure: builds messages, sends nothing).

The same DemoSpec (customers, months, seed, until, currency) always gives the same customers,
accounts, transactions and balances, to the id and the cent. Customer i draws from random streams
seeded with (seed, i) only, so customer 3 is the same whether 5 or 500 customers are made.

What is generated for each customer `demo-cNNNN`:

- attributes: birth_year, segment (STUDENT, YOUNG_PROFESSIONAL, FAMILY, MASS_MARKET, AFFLUENT, SENIOR),
  city, occupation, household_size, housing (RENT, MORTGAGE, OWNED), customer_since, channel,
  employer (not for pensioners), demo_seed;
- accounts: `demo-aNNNN-chk` (CHECKING, BANK) always, `demo-aNNNN-sav` (SAVINGS, BANK) usually,
  `demo-aNNNN-cc` (CREDIT, CREDIT_CARD) sometimes; upserted without balances;
- transactions over `months` calendar months ending on `until`: an "Opening balance" credit on the
  first day (the service starts accounts at 0 and adds each accepted transaction), salary or pension
  on a pay day (category SALARY or PENSION), rent or mortgage in the first days of the month,
  utilities and subscriptions, card purchases most days (GROCERIES, RESTAURANTS, TRANSPORT,
  SHOPPING, ENTERTAINMENT, HEALTH, TRAVEL, CASH), a standing order to savings after payday
  (SAVINGS, a debit on checking and a credit on savings), the credit card repaid in full each month
  (CARD_REPAYMENT), savings interest and overdraft interest at month end (INTEREST, FEES), and now
  and then a large deposit or withdrawal. Some customers spend more than they earn and run into
  overdraft before payday; purchases beyond the overdraft or card limit are declined (not posted).
  Each transaction carries the running balance after it.
- end-of-day balances: one per account for every day of the period (days without activity repeat
  the previous balance), equal to the sum of the account's transactions up to the end of that day.

Ids of transactions are `{account_id}-{yyyymmdd}-{nn}`. Seed one data set per tenant: a different
seed or period writes other transactions onto the same accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clients.demo_data.messages import account_message, balance_messages, customer_message, transaction_messages
from clients.demo_data.profiles import CustomerProfile, make_profile
from clients.demo_data.simulation import Simulation
from clients.demo_data.spec import DemoSpec, default_until
from engage.ingest.v1 import ingest_service_pb2 as pb

__all__ = ["Activity", "CustomerProfile", "DemoData", "DemoSpec", "accounts_of", "activity_of", "customer_message",
           "default_until", "generate", "profiles"]


@dataclass
class Activity:
    transactions: list[pb.Transaction] = field(default_factory=list)
    balances: list[pb.DailyBalance] = field(default_factory=list)


@dataclass
class DemoData:
    customers: list[pb.Customer] = field(default_factory=list)
    accounts: list[pb.Account] = field(default_factory=list)
    transactions: list[pb.Transaction] = field(default_factory=list)
    balances: list[pb.DailyBalance] = field(default_factory=list)


def profiles(spec: DemoSpec) -> list[CustomerProfile]:
    return [make_profile(spec, index) for index in range(1, spec.customers + 1)]


def accounts_of(spec: DemoSpec, profile: CustomerProfile) -> list[pb.Account]:
    return [account_message(profile, plan, spec.currency) for plan in profile.accounts]


def activity_of(spec: DemoSpec, profile: CustomerProfile) -> Activity:
    """One customer's transactions and end-of-day balances (a few thousand messages a year at most)."""
    simulation = Simulation(spec, profile).run()
    return Activity(transaction_messages(simulation.postings, spec.currency),
                    balance_messages(simulation.end_of_days, spec.currency))


def generate(spec: DemoSpec) -> DemoData:
    """The whole data set in memory; the CLI streams customer by customer instead."""
    data = DemoData()
    for profile in profiles(spec):
        data.customers.append(customer_message(profile))
        data.accounts += accounts_of(spec, profile)
        activity = activity_of(spec, profile)
        data.transactions += activity.transactions
        data.balances += activity.balances
    return data
