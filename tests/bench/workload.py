"""The rows the bench sends: the same seeded data as wire messages for IngestTransactions and as
plain rows for the bare bulk load, so both paths store exactly the same thing."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

from google.protobuf import timestamp_pb2

from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.type.v1 import money_pb2
from tests.bench.amounts import RealisticAmounts

CURRENCY = "EUR"
CATEGORIES = ("GROCERIES", "TRANSPORT", "RENT", "SALARY", "RESTAURANTS", "UTILITIES", "CASH", "TRAVEL")
FIRST_POST_TIME = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SECONDS_IN_YEAR = 366 * 24 * 3600
# newsworthy: uniform amounts up to 5,000 EUR, 70 % debits, so ~80 % of postings reach the 1,000 EUR
# LARGE_* thresholds and balances drift negative (LOW_BALANCE_WARNING): the bus's worst case.
# realistic: a retail bank's day, shaped after the Berka data (see tests/bench/amounts.py).
AMOUNT_PROFILES = ("realistic", "newsworthy")


@dataclass(frozen=True)
class TransactionSpec:
    transaction_id: str
    account_id: str
    cents: int  # always positive; direction gives the sign
    direction: str  # CREDIT | DEBIT
    posted_at: dt.datetime
    description: str
    category: str

    @property
    def signed_scaled(self) -> int:
        """The stored value: whole ten-thousandths, negative for debits (see server.store.types)."""
        scaled = self.cents * 100
        return scaled if self.direction == "CREDIT" else -scaled


@dataclass(frozen=True)
class Workload:
    transactions: int
    accounts: int
    accounts_per_customer: int = 2
    seed: int = 20260101
    amounts: str = "newsworthy"  # one of AMOUNT_PROFILES

    @property
    def customers(self) -> int:
        return -(-self.accounts // self.accounts_per_customer)

    def customer_id(self, number: int) -> str:
        return f"cust-{number:06d}"

    def account_id(self, number: int) -> str:
        return f"acct-{number:06d}"

    def customer_messages(self) -> list[pb.Customer]:
        return [pb.Customer(customer_id=self.customer_id(n), attributes={"segment": "retail"})
                for n in range(self.customers)]

    def account_messages(self) -> list[pb.Account]:
        return [pb.Account(account_id=self.account_id(n), customer_id=self.customer_id(n // self.accounts_per_customer),
                           currency_code=CURRENCY, type=pb.ACCOUNT_TYPE_CHECKING, container=pb.CONTAINER_BANK)
                for n in range(self.accounts)]

    def specs(self) -> Iterator[TransactionSpec]:
        if self.amounts == "realistic":
            yield from self._realistic_specs()
            return
        # Accounts drawn at random, as a feed ordered by time would interleave them: a batch of 500
        # touches hundreds of accounts, which is what the balance updates have to cope with.
        rng = random.Random(self.seed)
        for number in range(self.transactions):
            credit = rng.random() < 0.3
            yield TransactionSpec(
                transaction_id=f"txn-{number:09d}", account_id=self.account_id(rng.randrange(self.accounts)),
                cents=rng.randrange(1, 500_000), direction="CREDIT" if credit else "DEBIT",
                posted_at=FIRST_POST_TIME + dt.timedelta(seconds=rng.randrange(SECONDS_IN_YEAR)),
                description=f"card payment {rng.randrange(100_000):05d}", category=rng.choice(CATEGORIES))

    def _realistic_specs(self) -> Iterator[TransactionSpec]:
        # A feed ordered by time over the year, so each account's salary opens its month and the running
        # balance the server keeps is the one the amounts were drawn against.
        rng = random.Random(self.seed)
        amounts = RealisticAmounts(rng)
        for number in range(self.transactions):
            account_id = self.account_id(rng.randrange(self.accounts))
            posted_at = FIRST_POST_TIME + dt.timedelta(seconds=number * SECONDS_IN_YEAR // self.transactions)
            drawn = amounts.draw(account_id, posted_at)
            yield TransactionSpec(
                transaction_id=f"txn-{number:09d}", account_id=account_id, cents=drawn.cents,
                direction=drawn.direction, posted_at=posted_at,
                description=f"{drawn.description} {rng.randrange(100_000):05d}", category=drawn.category)

    def transaction_messages(self) -> list[pb.Transaction]:
        return [to_message(spec) for spec in self.specs()]


def to_message(spec: TransactionSpec) -> pb.Transaction:
    posted = timestamp_pb2.Timestamp()
    posted.FromDatetime(spec.posted_at)
    return pb.Transaction(
        transaction_id=spec.transaction_id, account_id=spec.account_id,
        amount=money_pb2.Money(currency_code=CURRENCY, units=spec.cents // 100, nanos=spec.cents % 100 * 10_000_000),
        direction=pb.DIRECTION_CREDIT if spec.direction == "CREDIT" else pb.DIRECTION_DEBIT, post_time=posted,
        description=spec.description, category=spec.category)
