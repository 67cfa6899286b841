"""SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE on the real Berka data set, end to end: the data set as
`engagectl import berka` loads it (imported once per run, tests/support/berka_template.py; the import
itself is tests/e2e/test_berka_import.py's subject), bank default and per-user durations and thresholds
through SubscriptionsService, the monthly batch on the real arq worker, and every customer's feed
compared with figures computed here.

The expectation is computed straight from the .asc files, independently of clients.berka and of the
server's code: each account's end-of-day balance is the balance of the day's last row in the bank's
chain, the owner comes from the OWNER disposition, and the arithmetic is exact (fractions)."""

from __future__ import annotations

import asyncio
import bisect
import calendar
import datetime as dt
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from arq import Worker
from sqlalchemy import select

from engage.insights.v1 import insights_service_pb2 as pb
from engage.subscriptions.v1 import subscriptions_service_pb2 as subs
from engage.type.v1 import date_pb2
from server.domain.auth import Role
from server.store.models import AccountRow, DailyBalanceRow, FeedItemRow
from tests.support.berka_template import BERKA, BERKA_TENANT
from tests.support.builders import amount_of
from workers.settings import worker_settings

NAME = "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE"
AS_OF = dt.date(1994, 4, 1)
# customer id % 3 -> months of the duration; 0 keeps the bank default (set to three months).
MONTHS_BY_REMAINDER = {0: 3, 1: 6, 2: 12}
DURATION_NAMES = {3: "LAST_THREE_MONTHS", 6: "LAST_SIX_MONTHS", 12: "LAST_TWELVE_MONTHS"}
DURATION_ENUMS = {3: pb.DURATION_LAST_THREE_MONTHS, 6: pb.DURATION_LAST_SIX_MONTHS,
                  12: pb.DURATION_LAST_TWELVE_MONTHS}
DEFAULT_THRESHOLD = "10.00"
# A row's balance may differ from the previous balance plus its amount by this much (rounded interest).
TOLERANCE = Decimal("0.10")
CONCURRENCY = 50

pytestmark = pytest.mark.skipif(not (BERKA / "trans.asc").is_file(),
                                reason=f"the Berka data set is not at {BERKA}")


@pytest.fixture
def database_url(berka_database_url: str) -> str:
    """PostgreSQL, with the Berka data set imported (tenant BERKA_TENANT)."""
    return berka_database_url


@pytest.fixture
def tenant() -> str:
    return BERKA_TENANT


# -- the expectation, from the raw files ---------------------------------------------------------------


def table(name: str) -> list[list[str]]:
    """Whole rows, quotes stripped; a row with missing fields (the cut last line of trans.asc) is left out."""
    lines = (BERKA / name).read_text().splitlines()
    width = len(lines[0].split(";"))
    return [[f.strip('"') for f in line.split(";")] for line in lines[1:] if len(line.split(";")) == width]


def yymmdd(text: str) -> dt.date:
    return dt.date(1900 + int(text[:2]), int(text[2:4]), int(text[4:6]))


def signed(row: list[str]) -> Decimal:
    return Decimal(row[5]) if row[3] == "PRIJEM" else -Decimal(row[5])


def day_closing(rows: list[list[str]], previous: Decimal | None) -> Decimal:
    """The balance of the day's last row in the chain: the one row no other row of the day starts from.
    A day whose rows form a cycle (-1400 then +1400) has no such row: it ends where previous closing
    plus the day's amounts lands."""
    ends = [row for row in rows
            if not any(other is not row and abs(Decimal(other[6]) - signed(other) - Decimal(row[6])) <= TOLERANCE
                       for other in rows)]
    if len(ends) == 1:
        return Decimal(ends[0][6])
    assert previous is not None, rows
    target = previous + sum((signed(row) for row in rows), Decimal(0))
    return Decimal(min(rows, key=lambda row: abs(Decimal(row[6]) - target))[6])


def month_ends(as_of: dt.date, count: int) -> list[dt.date]:
    """The last days of the `count` whole months before as_of's month, oldest first."""
    ends, year, month = [], as_of.year, as_of.month
    for _ in range(count):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        ends.append(dt.date(year, month, calendar.monthrange(year, month)[1]))
    return ends[::-1]


def half_up(value: Fraction) -> Decimal:
    """Exactly rounded half away from zero to 2 places."""
    cents = int(abs(value) * 100 + Fraction(1, 2))
    return Decimal(cents if value >= 0 else -cents).scaleb(-2)


@dataclass(frozen=True)
class Figures:
    total: Decimal
    average: Decimal
    change: Decimal
    percent: Decimal

    def generated(self, threshold: Decimal) -> bool:
        return self.average > 0 and self.change > 0 and self.percent > threshold


@dataclass
class BerkaFacts:
    customers: list[str]
    owned: dict[str, list[str]]  # customer -> accounts they own
    closings: dict[str, list[tuple[dt.date, Decimal]]]  # account -> end-of-day balances, date order
    accounts_without_rows: list[str]
    opened: dict[str, dt.date]  # account -> the day it was opened

    def balance(self, account_id: str, day: dt.date, *, before: bool) -> Decimal:
        """The latest closing on (before: strictly before) the day; 0 when there is none yet."""
        rows = self.closings.get(account_id, [])
        search = bisect.bisect_left if before else bisect.bisect_right
        count = search(rows, day, key=lambda row: row[0])
        return rows[count - 1][1] if count else Decimal(0)

    def figures(self, customer_id: str, months: int, as_of: dt.date = AS_OF) -> Figures | None:
        accounts = self.owned.get(customer_id, [])
        if not accounts:
            return None
        total = sum((self.balance(a, as_of, before=True) for a in accounts), Decimal(0))
        month_totals = [sum((self.balance(a, end, before=False) for a in accounts), Decimal(0))
                        for end in month_ends(as_of, months)]
        average = half_up(Fraction(sum(month_totals, Decimal(0))) / months)
        change = total - average
        percent = half_up(Fraction(change) * 100 / Fraction(average)) if average else Decimal(0)
        return Figures(total, average, change, percent)


def read_facts() -> BerkaFacts:
    customers = [row[0] for row in table("client.asc")]
    owned: dict[str, list[str]] = defaultdict(list)
    for _, client_id, account_id, kind in table("disp.asc"):
        if kind == "OWNER":
            owned[client_id].append(account_id)
    by_day: dict[str, dict[dt.date, list[list[str]]]] = defaultdict(lambda: defaultdict(list))
    for row in table("trans.asc"):
        by_day[row[1]][yymmdd(row[2])].append(row)
    closings: dict[str, list[tuple[dt.date, Decimal]]] = {}
    for account_id, days in by_day.items():
        previous: Decimal | None = None
        closings[account_id] = []
        for day in sorted(days):
            previous = day_closing(days[day], previous)
            closings[account_id].append((day, previous))
    opened = {row[0]: yymmdd(row[3]) for row in table("account.asc")}
    without = sorted(a for a in opened if a not in closings)
    return BerkaFacts(customers, dict(owned), closings, without, opened)


# -- helpers -------------------------------------------------------------------------------------------


async def in_groups(call: Callable[..., Awaitable[Any]], arguments: Iterable[Any], size: int = CONCURRENCY
                    ) -> list[Any]:
    """call(*each) for every argument tuple, at most `size` at a time. A grpc.aio call starts when it is
    made, not when it is awaited: each is made only once a slot is free."""
    slots = asyncio.Semaphore(size)

    async def one(each: tuple[Any, ...]) -> Any:
        async with slots:
            return await call(*each)

    return await asyncio.gather(*(one(each) for each in arguments))


def as_date(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def configuration(months: int | None, threshold: str | None) -> subs.Configuration:
    config = subs.Configuration(entity_type="ACCOUNT")
    if months is not None:
        config.duration = DURATION_NAMES[months]
    if threshold is not None:
        config.threshold.append(subs.Threshold(name="CHANGE", type="PERCENT", value=threshold))
    return config


async def run_worker(settings: Any) -> Worker:
    worker = Worker(**(worker_settings(settings) | {"burst": True, "poll_delay": 0, "handle_signals": False}))
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


async def stored_items(services: Any, tenant: str) -> dict[str, list[FeedItemRow]]:
    async with services.database.sessions() as session:
        rows = (await session.execute(select(FeedItemRow).where(
            FeedItemRow.tenant_id == tenant, FeedItemRow.insight_name == NAME))).scalars().all()
    found: dict[str, list[FeedItemRow]] = defaultdict(list)
    for row in rows:
        found[row.customer_id].append(row)
    return found


def pick_threshold_overrides(facts: BerkaFacts, months_of: dict[str, int]) -> dict[str, str]:
    """Per duration, customers whose figures sit where the threshold decides: 0 < % <= 10 with 0.00
    (generated), 10 < % <= 50 with 50.00 (not), and one with exactly their percent (not: the
    percent must exceed it) and one a cent below it (generated)."""
    chosen: dict[str, str] = {}
    for months in DURATION_NAMES:
        candidates = [(c, f) for c in facts.customers if months_of[c] == months
                      and (f := facts.figures(c, months)) is not None and f.average > 0 and f.change > 0]
        low = [c for c, f in candidates if f.percent <= 10][:2]
        middle = [c for c, f in candidates if 10 < f.percent <= 50][:3]
        chosen |= {c: "0.00" for c in low} | {c: "50.00" for c in middle[:2]}
        exact, below = [(c, f) for c, f in candidates if 10 < f.percent < 500 and c not in middle[:2]][:2]
        chosen[exact[0]] = str(exact[1].percent)
        chosen[below[0]] = str(below[1].percent - Decimal("0.01"))
    return chosen


# -- the test ------------------------------------------------------------------------------------------


async def test_savings_insight_on_the_berka_data_set(server, services, settings, tenant):
    started = time.monotonic()
    facts = read_facts()
    months_of = {c: MONTHS_BY_REMAINDER[int(c) % 3] for c in facts.customers}
    thresholds = pick_threshold_overrides(facts, months_of)
    # The overrides decide: all but the three "a cent below" ones come out otherwise than at the default.
    flipped = [c for c, value in thresholds.items() if facts.figures(c, months_of[c]).generated(Decimal(value))
               != facts.figures(c, months_of[c]).generated(Decimal(DEFAULT_THRESHOLD))]
    assert (len(thresholds), len(flipped)) == (18, 15)
    service_token = server.token(tenant, Role.SERVICE, "loader")

    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as admin, \
            server.stubs(service_token) as service:
        bank = await admin.subscriptions.UpdateBankSubscriptions(subs.UpdateBankSubscriptionsRequest(
            customer_subscription=[subs.InsightSubscription(insight_name=NAME,
                                                            customer_configuration=[configuration(3, None)])]))
        [saved] = bank.customer_subscription
        assert [c.duration for c in saved.customer_configuration] == ["LAST_THREE_MONTHS"]

        def update_user(customer_id: str, months: int | None, threshold: str | None) -> Awaitable[Any]:
            return service.subscriptions.UpdateUserSubscriptions(subs.UpdateUserSubscriptionsRequest(
                customer_id=customer_id, user_subscription=[subs.InsightSubscription(
                    insight_name=NAME, user_configuration=[configuration(months, threshold)])]))

        # The duration first, then (a separate change of one field) the threshold.
        await in_groups(update_user, [(c, months_of[c], None) for c in facts.customers if months_of[c] != 3])
        await in_groups(update_user, [(c, None, value) for c, value in thresholds.items()])
        for customer_id in sorted(thresholds)[:3]:
            [view] = (await service.subscriptions.GetUserSubscriptions(subs.GetUserSubscriptionsRequest(
                customer_id=customer_id, insight_names=[NAME]))).user_subscription
            [config] = view.user_configuration
            assert (config.duration, [t.value for t in config.threshold]) == (
                DURATION_NAMES[months_of[customer_id]], [thresholds[customer_id]])
        timings = {"subscriptions": time.monotonic() - started}

        # Accounts without a single row (this trans.asc ends on 1994-03-31) were opened on the as-of date or
        # later: no balance yet. The importer stores them with balance 0 and no history, so they count 0.
        assert facts.accounts_without_rows and min(facts.opened[a] for a in facts.accounts_without_rows) >= AS_OF
        async with services.database.sessions() as session:
            idle = (await session.execute(select(AccountRow.account_id, AccountRow.current_balance).where(
                AccountRow.tenant_id == tenant, AccountRow.account_id.in_(facts.accounts_without_rows)))).all()
            with_history = set((await session.execute(select(DailyBalanceRow.account_id).where(
                DailyBalanceRow.tenant_id == tenant,
                DailyBalanceRow.account_id.in_(facts.accounts_without_rows)))).scalars())
        assert sorted(a for a, _ in idle) == facts.accounts_without_rows and not with_history
        assert {balance for _, balance in idle} == {Decimal(0)}

        batch = await admin.insights.RunInsightBatch(pb.RunInsightBatchRequest(as_of=as_date(AS_OF), chunk_size=500))
        assert (batch.total_chunks, batch.state) == ((len(facts.customers) + 499) // 500, pb.BATCH_STATE_RUNNING)
        await run_worker(settings)
        done = await admin.insights.GetInsightBatch(pb.GetInsightBatchRequest(name=batch.name))
        timings["batch"] = time.monotonic() - started

        expected = {c: f for c in facts.customers if (f := facts.figures(c, months_of[c])) is not None
                    and f.generated(Decimal(thresholds.get(c, DEFAULT_THRESHOLD)))}
        assert (done.state, done.done_chunks, done.users_evaluated, done.items_generated) == (
            pb.BATCH_STATE_SUCCEEDED, batch.total_chunks, len(facts.customers), len(expected))

        # Every customer's items, from the store: exactly the expected customers, with exactly their figures.
        stored = await stored_items(services, tenant)
        assert sorted(stored) == sorted(expected)
        mismatches = []
        for customer_id, rows in stored.items():
            [row] = rows
            want, months = expected[customer_id], months_of[customer_id]
            payload = row.payload
            [change] = payload["changeValue"]
            got = (row.period, payload["accountDerived"]["totalAvailableBalance"]["amount"],
                   payload["accountDerived"]["averageAvailableBalance"]["amount"], change["changeAmount"]["amount"],
                   change["changePercent"], payload["subscription"]["duration"],
                   [(t["name"], t["value"]) for t in payload["subscription"]["threshold"]],
                   sorted(a["accountId"] for a in payload["accounts"]),
                   {payload["accountDerived"]["totalAvailableBalance"]["currency"], change["changeAmount"]["currency"]},
                   {a["container"] for a in payload["accounts"]})
            wanted = ("1994-04", str(want.total), str(want.average), str(want.change), str(want.percent),
                      DURATION_NAMES[months], [("CHANGE", thresholds.get(customer_id, DEFAULT_THRESHOLD))],
                      sorted(facts.owned[customer_id]), {"CZK"}, {"BANK"})
            if got != wanted:
                mismatches.append((customer_id, got, wanted))
        assert not mismatches, mismatches[:5]

        # A sample through GetFeed: every threshold override and every 40th customer.
        sample = sorted(set(thresholds) | set(facts.customers[::40]))
        feeds = await in_groups(lambda c: service.insights.GetFeed(pb.GetFeedRequest(
            customer_id=c, insight_names=[NAME])), [(c,) for c in sample])
        for customer_id, feed in zip(sample, feeds, strict=True):
            if customer_id not in expected:
                assert not feed.feed, customer_id
                continue
            [item] = feed.feed
            want, months = expected[customer_id], months_of[customer_id]
            [change] = item.change_values
            assert (item.insight_name, item.period, amount_of(item.account_derived.total_available_balance),
                    amount_of(item.account_derived.average_available_balance), amount_of(change.change_amount),
                    change.change_percent, item.subscription.duration,
                    [(t.name, t.value) for t in item.subscription.thresholds]) == (
                NAME, "1994-04", str(want.total), str(want.average), str(want.change), str(want.percent),
                DURATION_ENUMS[months], [("CHANGE", thresholds.get(customer_id, DEFAULT_THRESHOLD))]), customer_id
        assert any(c in expected for c in sample) and any(c not in expected for c in sample)

        # The month's batch again is the same batch and adds nothing; nor does a trigger on the 3rd.
        again = await admin.insights.RunInsightBatch(pb.RunInsightBatchRequest(as_of=as_date(AS_OF), chunk_size=500))
        assert (again.batch_id, again.state, again.items_generated) == (batch.batch_id, pb.BATCH_STATE_SUCCEEDED,
                                                                        len(expected))
        await run_worker(settings)
        after = await admin.insights.GetInsightBatch(pb.GetInsightBatchRequest(name=batch.name))
        assert (after.state, after.users_evaluated, after.items_generated) == (
            pb.BATCH_STATE_SUCCEEDED, len(facts.customers), len(expected))
        # Per duration two customers with the item and two without, two threshold overrides, one owning nothing.
        on_demand = [c for months in DURATION_NAMES for wanted in (True, False)
                     for c in [c for c in facts.customers if months_of[c] == months and c in facts.owned
                               and (c in expected) is wanted][:2]]
        on_demand += [*sorted(thresholds)[:2], next(c for c in facts.customers if c not in facts.owned)]
        triggered = await in_groups(lambda c: service.insights.TriggerInsights(pb.TriggerInsightsRequest(
            customer_id=c, insight_names=[NAME], as_of=as_date(dt.date(1994, 4, 3)))), [(c,) for c in on_demand])
        assert [list(t.generated) for t in triggered] == [[]] * len(on_demand) and len(on_demand) == 15
        assert {c: len(rows) for c, rows in (await stored_items(services, tenant)).items()} == \
            {c: 1 for c in expected}

    timings["total"] = time.monotonic() - started
    per_duration = {DURATION_NAMES[m]: sum(1 for c in expected if months_of[c] == m) for m in DURATION_NAMES}
    print(f"\nberka savings insight: {len(expected)} of {len(facts.customers)} customers {per_duration}; "
          f"threshold overrides {thresholds}; timings {({k: round(v, 1) for k, v in timings.items()})}")

