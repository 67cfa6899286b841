"""The backtest's pre-filter in the database (server.services.triggers.backtest: each account's last day
computed in SQL, its postings read up to it), with the scaled replay of balance conditions, gives the same
result as reading every account whole and replaying it with the general replay, and the same last days as
the pre-filter on the whole history, on random stored histories and rules, on SQLite and PostgreSQL:
running balances stored or not (or not matching the amounts), fed balances, history before the warm-up."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, text, update

from server.bootstrap import Services
from server.config import Settings
from server.domain.auth import Caller, Role
from server.domain.segments.attributes import AttributeCatalogue
from server.domain.triggers import backtest as backtest_domain
from server.domain.triggers.parser import parse_condition
from server.domain.triggers.prefilter import can_bound, last_possible_day, trail_of
from server.domain.triggers.replay import AccountHistory
from server.domain.triggers.rules import (
    DEFAULT_COOLDOWN,
    Audience,
    AudienceKind,
    BankNotificationAction,
    RuleDefinition,
)
from server.services.triggers import backtest as backtest_service
from server.services.triggers.backtest import TriggerBacktestService, _Audience, _Pager
from server.services.triggers.rules import TriggerRulesService
from server.store.db import open_database
from server.store.models import AccountBalanceMonthRow, AccountRow, CustomerRow, DailyBalanceRow, TransactionRow
from server.store.repositories.balance_months import fill_statement
from server.store.repositories.trigger_backtest import TriggerBacktestRepository
from server.store.uow import UnitOfWork

FIRST = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)

thresholds = st.sampled_from(["-50", "0", "100", "250.5", "1000"])
comparators = st.sampled_from(["<", "<=", ">", ">="])
windows = st.sampled_from(["1d", "3d", "10d", "month", "last_month"])
leaf = st.one_of(
    st.builds("average_collected_balance({}) {} {}".format, windows, comparators, thresholds),
    st.builds("available_balance {} {}".format, st.sampled_from(["<", "=", "!="]), thresholds),
    st.builds("min_balance(last_month) {} {} FOR 3 MONTHS".format, comparators, thresholds),
    st.builds("min_balance({}) {} {}".format, windows, comparators, thresholds),
    st.builds("balance {} {}".format, comparators, thresholds),
    st.builds("average_collected_balance(last_month) {} {} FOR 2 MONTHS".format, comparators, thresholds),
    st.sampled_from(["overdraft", "overdraft_count(month) >= 1", "withdrawal > 100", "NOT balance < 100",
                     "change(balance, 7d) < -200", "NOT holds('OVERDRAFT_PROTECTION')"]))
conditions = st.one_of(leaf, st.builds("{} AND {}".format, leaf, leaf), st.builds("{} OR {}".format, leaf, leaf))

# (day offset from FIRST, hour, amount in cents, running balance: stored / not stored / off by 7)
transactions = st.lists(st.tuples(st.integers(-70, 80), st.integers(0, 23),
                                  st.sampled_from([-90_000, -20_000, -3_000, -500, 1_000, 9_000, 40_000, 150_000]),
                                  st.sampled_from(["stored", "stored", "stored", "none", "off"])), max_size=20)
fed_days = st.lists(st.tuples(st.integers(-70, 80), st.integers(-500, 3_000)), max_size=4)
accounts = st.tuples(st.integers(-1_000, 5_000), transactions, fed_days)
customers = st.lists(st.lists(accounts, min_size=1, max_size=2), min_size=1, max_size=3)


async def _store(services: Services, tenant: str, prefix: str, customers_: list) -> list[str]:  # type: ignore[type-arg]
    customer_rows, account_rows, transaction_rows, balance_rows = [], [], [], []
    for c, accounts_ in enumerate(customers_):
        customer_id = f"{prefix}c{c}"
        customer_rows.append({"tenant_id": tenant, "customer_id": customer_id, "attributes": {}, "created_at": NOW,
                              "updated_at": NOW})
        for a, (start_balance, moves, fed) in enumerate(accounts_):
            account_id = f"{prefix}c{c}a{a}"
            balance = Decimal(start_balance)
            for n, (offset, hour, cents, running) in enumerate(sorted(moves, key=lambda m: (m[0], m[1]))):
                amount = Decimal(cents) / 100
                balance += amount
                transaction_rows.append({
                    "tenant_id": tenant, "transaction_id": f"{account_id}t{n}", "account_id": account_id,
                    "signed_amount": amount, "direction": "CREDIT" if amount > 0 else "DEBIT", "currency": "EUR",
                    "posted_at": dt.datetime.combine(FIRST + dt.timedelta(days=offset), dt.time(hour), tzinfo=dt.UTC),
                    "description": "", "category": "", "ingested_at": NOW,
                    "running_balance": {"stored": balance, "none": None, "off": balance + 7,
                                        "off_500": Decimal(500)}[running]})
            account_rows.append({"tenant_id": tenant, "account_id": account_id, "customer_id": customer_id,
                                 "authorized_customer_ids": [], "account_type": "CHECKING", "container": "BANK",
                                 "currency": "EUR", "current_balance": balance, "available_balance": balance - 20,
                                 "attributes": {}, "created_at": NOW, "updated_at": NOW})
            balance_rows += [{"tenant_id": tenant, "account_id": account_id, "currency": "EUR",
                              "balance_date": FIRST + dt.timedelta(days=offset), "balance": Decimal(value)}
                             for offset, value in dict(fed).items()]
    async with UnitOfWork(services.database, tenant) as uow:
        for table, rows in ((CustomerRow, customer_rows), (AccountRow, account_rows),
                            (TransactionRow, transaction_rows), (DailyBalanceRow, balance_rows)):
            if rows:
                await uow.session.execute(insert(table), rows)
        # Stored past ingestion, as the bench's COPY: the month bounds filled as the migration fills them.
        await uow.session.execute(text(fill_statement(uow.session.bind.dialect.name)))
        await uow.commit()
    return [row["customer_id"] for row in customer_rows]



async def _rule(services: Services, tenant: str, customers_: list, condition: str,  # type: ignore[type-arg]
                name: str, cooldown: dt.timedelta = DEFAULT_COOLDOWN) -> tuple[Caller, str]:
    """The customers stored under a prefix of their own (each example its own in the one tenant) and a rule
    over them: the admin who made it and its id."""
    prefix = uuid.uuid4().hex[:8]
    customer_ids = await _store(services, tenant, prefix, customers_)
    admin = Caller(tenant_id=tenant, subject="admin", role=Role.BANK_ADMIN)
    rule_id = f"r{prefix}"
    await TriggerRulesService(services.database).create_rule(admin, rule_id, RuleDefinition(
        display_name=name, description="", audience=Audience(AudienceKind.CUSTOMERS, tuple(customer_ids)),
        condition=condition, actions=(BankNotificationAction("note"),), cooldown=cooldown))
    return admin, rule_id


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(condition=conditions, customers_=customers, start_offset=st.integers(0, 40), length=st.integers(0, 45),
       cooldown_days=st.sampled_from([0, 3, 20]))
async def test_the_pre_filtered_backtest_gives_the_full_backtests_result(
        services: Services, tenant: str, condition: str, customers_: list,  # type: ignore[type-arg]
        start_offset: int, length: int, cooldown_days: int) -> None:
    admin, rule_id = await _rule(services, tenant, customers_, condition, "Pre-filter",
                                 dt.timedelta(days=cooldown_days))
    start = FIRST + dt.timedelta(days=start_offset)
    end = start + dt.timedelta(days=length)
    # Pre-filtered with the scaled replay where the condition allows it, against whole and general.
    results = [await TriggerBacktestService(services.database, lambda: NOW, prefilter=fast, scaled=fast).backtest(
        admin, rule_id, start, end) for fast in (True, False)]
    assert results[0] == results[1]


async def _both(services: Services, tenant: str, condition: str, accounts_: list, start: int, end: int  # type: ignore[type-arg]
                ) -> list[dict]:  # type: ignore[type-arg]
    admin, rule_id = await _rule(services, tenant, [accounts_], condition, "Edge")
    return [await TriggerBacktestService(services.database, lambda: NOW, prefilter=fast, scaled=fast).backtest(
        admin, rule_id, FIRST + dt.timedelta(days=start), FIRST + dt.timedelta(days=end))
        for fast in (True, False)]


async def test_a_fed_balance_above_the_threshold_among_balances_below_it(services: Services, tenant: str) -> None:
    # Balances of 10 and 11 around a fed 5,000 for day 5: the average over that day is above 1,000.
    cut, full = await _both(services, tenant, "average_collected_balance(1d) > 1000",
                            [(0, [(2, 9, 1_000, "stored"), (8, 9, 100, "stored")], [(5, 5_000)])], 0, 10)
    assert full["firingCount"] == 1
    assert cut == full


async def test_a_balance_carried_into_the_periods_first_re_check(services: Services, tenant: str) -> None:
    # -50 from day 0 is carried into 00:00 of day 1 (the period's first day and the day of the next
    # posting, whose stored running balance jumps to 500).
    cut, full = await _both(services, tenant, "balance < 0 AND average_collected_balance(1d) < 0",
                            [(0, [(0, 9, -5_000, "stored"), (1, 12, 700, "off_500")], [])], 1, 3)
    assert full["firingCount"] == 1
    assert cut == full


async def test_a_withdrawal_on_the_last_day_the_condition_can_hold(services: Services, tenant: str) -> None:
    # Day 1 is the last day min_balance(1d) < 0 can hold: its lowest balance is the -50 carried from day 0
    # (the stored running balance after its withdrawal jumps to 500), so that withdrawal fires.
    cut, full = await _both(services, tenant, "min_balance(1d) < 0 AND withdrawal > 100",
                            [(0, [(0, 9, -5_000, "stored"), (1, 12, -20_000, "off_500")], [])], 1, 3)
    assert full["firingCount"] == 1
    assert cut == full


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(condition=conditions, customers_=customers, start_offset=st.integers(0, 40), length=st.integers(0, 45))
async def test_the_database_cuts_each_account_where_the_pre_filter_does(
        services: Services, tenant: str, condition: str, customers_: list,  # type: ignore[type-arg]
        start_offset: int, length: int) -> None:
    # The bound the store computes in SQL (TriggerBacktestRepository.threshold_days) against the pre-filter's
    # own on the whole history read: the same last day for every account, no posting read after it, and
    # no account read whose last day is before the period.
    _, rule_id = await _rule(services, tenant, customers_, condition, "Bound")
    start = FIRST + dt.timedelta(days=start_offset)
    end = start + dt.timedelta(days=length)
    parsed = parse_condition(condition, AttributeCatalogue.of(()))

    async def read(prefilter: bool, by_month: bool = True) -> dict[str, AccountHistory]:
        async with UnitOfWork(services.database, tenant) as uow:
            rule = await uow.trigger_rules.get(rule_id)
            assert rule is not None
            service = TriggerBacktestService(services.database, lambda: NOW, prefilter=prefilter)
            reads = TriggerBacktestRepository(uow.session, tenant)
            reads.by_month = by_month
            pager = _Pager(await _Audience.of(uow, rule))
            return {h.opening.account_id: h async for page in service._histories(
                uow, reads, pager, itertools.count(), parsed, start, end, None) for h in page}

    # On PostgreSQL the last passing month's postings only (account_balance_months), against the aggregate over
    # every posting; then again with every month's bounds wider than its postings' (as deletes leave them).
    cut, by_aggregate, full = await read(True), await read(True, by_month=False), await read(False)
    assert cut == by_aggregate
    async with UnitOfWork(services.database, tenant) as uow:
        months = AccountBalanceMonthRow
        await uow.session.execute(update(months).where(
            months.tenant_id == tenant, months.account_id.in_(list(full))).values(
            low=months.low - 10**10, high=months.high + 10**10))
        await uow.commit()
    assert await read(True) == by_aggregate
    # An account whose postings were written without their months (past the bounds' upkeep) is read whole.
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.session.execute(delete(months).where(months.tenant_id == tenant))
        await uow.commit()
    assert await read(True) == by_aggregate
    for account_id, history in full.items():
        last = last_possible_day(parsed, trail_of(history)) if can_bound(parsed) else None
        if last is not None and last < start:
            assert account_id not in cut
            continue
        assert cut[account_id].last_day == last
        until = end if last is None else min(end, last)
        assert cut[account_id].postings == tuple(p for p in history.postings if p.booking_date <= until)
        assert cut[account_id].opening == history.opening


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(condition=conditions, customers_=st.lists(st.lists(accounts, min_size=1, max_size=2), min_size=4, max_size=7))
async def test_pages_read_on_two_sessions_or_one_give_one_result(
        services: Services, settings: Settings, tenant: str, condition: str, customers_: list,  # type: ignore[type-arg]
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A page a customer and the ids listed two pages at a time: pages alternate between the two sessions, a
    # lane's listing serves the other's pages. With a pool of one connection the backtest reads on one
    # session (no wait for a second connection it could never get) and gives the same result. A sample of
    # two firings: the pages read once it is full come without their transaction ids, counted only.
    monkeypatch.setattr(backtest_service, "CUSTOMERS_PER_CHUNK", 1)
    monkeypatch.setattr(backtest_service, "PAGES_LISTED", 2)
    monkeypatch.setattr(backtest_domain, "SAMPLE_SIZE", 2)
    admin, rule_id = await _rule(services, tenant, customers_, condition, "Lanes", dt.timedelta(days=3))
    start, end = FIRST, FIRST + dt.timedelta(days=60)
    lanes = await TriggerBacktestService(services.database, lambda: NOW).backtest(admin, rule_id, start, end)
    whole = await TriggerBacktestService(services.database, lambda: NOW, prefilter=False, scaled=False).backtest(
        admin, rule_id, start, end)
    single = open_database(settings.database_url, pool_size=1, pool_timeout=0.2)
    try:
        one = await TriggerBacktestService(single, lambda: NOW).backtest(admin, rule_id, start, end)
    finally:
        await single.dispose()
    assert lanes == whole == one
