"""Micro-benchmark of the trigger engine alone (no store): apply_posting + evaluate per posting, evaluate per
rule with metrics shared at one posting, and replay per account-year. Not part of the suite's report:

    .venv/bin/python -m tests.bench.trigger_engine [day rows, default 35]

Figures are best of 5 runs; a loaded machine shows them higher."""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
import timeit
from decimal import Decimal

from server.domain.events import Money, Posting
from server.domain.ingest.model import Direction
from server.domain.segments.evaluate import CustomerFacts
from server.domain.segments.expression import Comparator, Holds
from server.domain.triggers.condition import (
    AllOf,
    Condition,
    Metric,
    MetricCompare,
    MetricName,
    Negation,
    PostingCompare,
    RelativeTo,
    SegmentLeaf,
    Window,
    WindowKind,
)
from server.domain.triggers.evaluate import AccountMetrics, evaluate
from server.domain.triggers.replay import AccountHistory, replay
from server.domain.triggers.series import AccountSnapshot, apply_posting

ACB_30 = Metric(MetricName.AVERAGE_COLLECTED_BALANCE, Window(WindowKind.DAYS, 30))
CONDITIONS: dict[str, Condition] = {
    "example 1 (acb 30d, holds)": AllOf((Negation(SegmentLeaf(Holds("OVERDRAFT_PROTECTION"))),
                                         MetricCompare(ACB_30, Comparator.LT, Decimal(100)))),
    "example 2 (last_month FOR 2)": MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE,
                                                         Window(WindowKind.LAST_MONTH)), Comparator.GT,
                                                  Decimal(1000), months=2),
    "deposit > 50% OF balance": PostingCompare(Direction.CREDIT, Comparator.GT, Decimal(50), RelativeTo.BALANCE),
    "overdraft": MetricCompare(Metric(MetricName.BALANCE), Comparator.LT, Decimal(0)),
}
FACTS = CustomerFacts()


def _posting(day: dt.date, amount: Decimal, balance: Decimal, number: int, account: str = "a") -> Posting:
    return Posting(f"t{number}", account, f"c-{account}", "CHECKING", "BANK", Money(amount, "USD"),
                   Money(balance, "USD"), dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC),
                   Direction.CREDIT if amount >= 0 else Direction.DEBIT)


def _account(rows: int) -> tuple[AccountSnapshot, Decimal]:
    account = AccountSnapshot("a", "c-a", "USD", Decimal(1000), Decimal(1000))
    balance = Decimal(1000)
    first = dt.date(2026, 1, 1)
    for number in range(rows):
        balance += Decimal("1.25")
        account, _ = apply_posting(account, _posting(first + dt.timedelta(days=number), Decimal("1.25"), balance,
                                                     number))
    return account, balance


def per_posting(rows: int) -> None:
    account, balance = _account(rows)
    day = account.days[-1].day
    postings = []
    for number in range(5000):
        amount = Decimal("-3.10") if number % 2 else Decimal("3.15")
        balance += amount
        postings.append(_posting(day, amount, balance, 10_000 + number))

    def run(condition: Condition | None) -> float:
        snapshot = account
        started = time.perf_counter()
        for posting in postings:
            before = snapshot
            snapshot, row = apply_posting(snapshot, posting)
            if condition is not None:
                evaluate(condition, snapshot=snapshot, as_of=row.day, posting=posting, before=before, facts=FACTS)
        return (time.perf_counter() - started) / len(postings) * 1e6

    print(f"apply_posting + evaluate per posting ({rows} day rows):")
    for name, condition in [*CONDITIONS.items(), ("apply_posting alone", None)]:
        print(f"  {name:32s} {min(run(condition) for _ in range(5)):6.1f} us")
    metrics = AccountMetrics(account, day)
    condition = CONDITIONS["example 1 (acb 30d, holds)"]
    number = 20_000
    shared = min(timeit.repeat(lambda: evaluate(condition, snapshot=account, as_of=day, posting=None, before=None,
                                                facts=FACTS, metrics=metrics), number=number, repeat=5))
    print(f"  {'one more rule, metrics shared':32s} {shared / number * 1e6:6.1f} us")


def per_account_year() -> None:
    randomizer = random.Random(1)
    histories = []
    for index in range(200):
        account = f"a{index}"
        balance = Decimal(5000)
        postings = []
        day = dt.date(2025, 12, 1)
        while day < dt.date(2027, 1, 1):
            day += dt.timedelta(days=randomizer.randint(1, 3))
            amount = Decimal(randomizer.randint(-1500, 1500))
            balance += amount
            postings.append(_posting(day, amount, balance, len(postings), account))
        histories.append(AccountHistory(AccountSnapshot(account, f"c-{account}", "USD", Decimal(5000),
                                                        Decimal(5000)), tuple(postings)))
    print("replay per account-year (~200 postings, cool-down 7 days):")
    for name, condition in [("acb(30d) < 5000 (daily re-check)", MetricCompare(ACB_30, Comparator.LT, Decimal(5000))),
                            ("withdrawal > 1000", PostingCompare(Direction.DEBIT, Comparator.GT, Decimal(1000))),
                            ("example 2 (monthly)", CONDITIONS["example 2 (last_month FOR 2)"])]:
        started = time.perf_counter()
        firings = list(replay(condition, histories, start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31),
                              cooldown=dt.timedelta(days=7)))
        elapsed = (time.perf_counter() - started) / len(histories) * 1e3
        print(f"  {name:32s} {elapsed:6.2f} ms  ({len(firings)} firings)")


if __name__ == "__main__":
    per_posting(int(sys.argv[1]) if len(sys.argv) > 1 else 35)
    per_account_year()
