"""The triggers suite (`python -m tests.bench --suite triggers --backends postgresql`): the three goals of
real-time triggers (docs/triggers.md, issue 20), on PostgreSQL.

Seed (not timed): --trigger-customers customers written straight into a fresh database, one deposit
account each with a balance and a day series of the last months (a row every week or so, as ingestion
would have left), a quarter of them holding OVERDRAFT_PROTECTION, a third of the accounts SAVINGS; the
persona `savers` (holds('SAVINGS')) evaluated; then RULES active rules (RULE_TEMPLATES: balance and average
crossings, minimum balance, change, overdraft, FOR 2 MONTHS, deposits and withdrawals, holds(); every
fifth with the persona as audience), created, submitted and approved through TriggerRulesService.

Throughput: --trigger-transactions postings dated over the last day, in time order, accounts drawn at
random, through `python -m server` (IngestTransactions, batches of 500), then drained by `python -m
workers` processes (every TransactionsPosted handler, trigger_rules first) until the outbox is empty.
Figure: transactions / (ingest seconds + bus seconds) (goal >= GOAL_TX_PER_SECOND). Alongside (as deployed),
on a database seeded afresh: the workers run while the server ingests; figure: transactions / (from the
stream's first request to the last event processed).

Latency: with the server and the workers running, each of --trigger-rates transactions a second offered for
--trigger-seconds (as BATCHES_PER_SECOND IngestTransactions calls a second), and every SAMPLE_EVERY s one
withdrawal over SAMPLE_AMOUNT on a fresh customer, which the rule `sample` turns into a banner; from its
IngestTransactions response, the time until BannersService.ListBanners returns the banner (goal p99 <=
GOAL_P99_MS). Run twice: with the trigger handler run in the server right after the commit
(ENGAGE_TRIGGERS_IN_PROCESS, the default) and without (the queue only).

Backtest: --trigger-backtest-customers customers with a year and a month of history each (a salary on the
1st, debits on most days), one BacktestTriggerRule over the year (goal <= GOAL_BACKTEST_SECONDS)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from sqlalchemy import func, insert, select

from clients.stubs import connect
from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.triggers.v1 import banners_service_pb2 as bpb
from engage.type.v1 import money_pb2
from server.bootstrap import build_services
from server.config import Settings
from server.domain.auth import Caller, Role
from server.domain.triggers.rules import Audience, AudienceKind, BankNotificationAction, BannerAction, RuleDefinition
from server.process_tuning import tune_garbage_collector
from server.security.tokens import mint_token
from server.store.db import open_database
from server.store.models import AccountRow, CustomerRow, DomainEventRow, HoldingRow
from server.store.triggers_models import BannerRow, TriggerAccountDayRow, TriggerFiringRow
from tests.bench.bus import DEFAULT_CONCURRENCY, BusFigures, BusWorkers
from tests.bench.cpu import machine_busy_seconds
from tests.bench.databases import BenchDatabase, PostgresServer
from tests.bench.personas import _percentiles, _start_workers, _stop
from tests.bench.redis_queue import clear_queue
from tests.bench.run import JWT_SECRET, TENANT_ID
from tests.bench.server_process import ServerProcess

GOAL_TX_PER_SECOND = 10_000
GOAL_P99_MS = 50.0
GOAL_BACKTEST_SECONDS = 10.0
INSERT_ROWS = 5_000
BATCH_SIZE = 500
CURRENCY = "EUR"
HISTORY_DAYS = 120
PERSONA = ("savers", "holds('SAVINGS')")
WEEK = dt.timedelta(days=7)
# The latency samples: withdrawals no background posting reaches, each on a customer of its own.
SAMPLE_RULE = "sample"
SAMPLE_AMOUNT = 9_500
SAMPLE_EVERY = 0.5
BATCHES_PER_SECOND = 10  # the offered load arrives as this many IngestTransactions a second
POLL_SECONDS = 0.001
DRAIN_BOUND_SECONDS = 60.0
GIVE_UP_SECONDS = 30.0  # a sample's banner not readable by then is counted at this
# Ten kinds of condition; rule n takes template n % 10 with its thresholds moved by n // 10.
RULE_TEMPLATES = (
    lambda k: f"balance < {100 + 25 * k}",
    lambda k: f"NOT holds('OVERDRAFT_PROTECTION') AND average_collected_balance(30d) < {100 + 50 * k}",
    lambda k: f"average_collected_balance(last_month) > {55_000 + 1_000 * k} FOR 2 MONTHS",
    lambda k: f"withdrawal > {3_000 + 500 * k}",
    lambda k: f"deposit > {60 + 10 * k}% OF balance",
    lambda k: "overdraft" if k == 0 else f"balance < -{50 * k}",
    lambda k: f"min_balance({20 + 5 * k}d) < {-20 * k}",
    lambda k: f"change(balance, 30d) < -{60 + 5 * k}%",
    lambda k: f"withdrawal > {400 + 50 * k}% OF average_transaction",
    lambda k: f"balance > {58_000 + 500 * k} AND holds('SAVINGS')",
)
RULES = 50


def _settings(database: BenchDatabase, run_dir: Path) -> Settings:
    return Settings(database_url=database.url, jwt_secret=JWT_SECRET, var_dir=run_dir)


def _customer(n: int) -> str:
    return f"tc{n:07d}"


def _account(n: int) -> str:
    return f"ta{n:07d}"


def _level(draw: random.Random) -> Decimal:
    """An account's usual balance, log-uniform from 300 to 60,000: most hold a few thousand."""
    return Decimal(round(300 * 200 ** draw.random(), 2)).quantize(Decimal("0.01"))


def _share(draw: random.Random, level: Decimal, low: float, high: float) -> Decimal:
    return (level * Decimal(draw.uniform(low, high))).quantize(Decimal("0.01"))


def _rows(customers: int, today: dt.date) -> tuple[list[tuple[Any, list[dict[str, Any]]]], dict[str, Decimal]]:
    """The tables' rows, and each account's usual balance (the postings' amounts scale with it)."""
    draw = random.Random(20)
    now = dt.datetime.now(dt.UTC)
    people: list[dict[str, Any]] = []
    accounts: list[dict[str, Any]] = []
    holdings: list[dict[str, Any]] = []
    days: list[dict[str, Any]] = []
    levels: dict[str, Decimal] = {}
    for n in range(customers):
        customer_id, account_id = _customer(n), _account(n)
        people.append({"tenant_id": TENANT_ID, "customer_id": customer_id, "attributes": {}, "created_at": now,
                       "updated_at": now})
        level = levels[account_id] = _level(draw)
        day = today - dt.timedelta(days=HISTORY_DAYS)
        balance = level
        while day < today - dt.timedelta(days=1):
            balance = level + _share(draw, level, -0.1, 0.1)
            days.append({"tenant_id": TENANT_ID, "account_id": account_id, "day": day, "closing_balance": balance,
                         "fed_balance": None, "min_balance": balance - _share(draw, level, 0, 0.1), "postings": 3,
                         "posting_total": _share(draw, level, 0.1, 0.5), "overdraft_began": False})
            day += dt.timedelta(days=draw.randrange(5, 10))
        accounts.append({"tenant_id": TENANT_ID, "account_id": account_id, "customer_id": customer_id,
                         "account_type": "CHECKING", "container": "BANK", "currency": CURRENCY, "provider_name": "",
                         "account_name": "Current", "open_date": None, "authorized_customer_ids": [],
                         "attributes": {}, "current_balance": balance, "available_balance": balance,
                         "created_at": now, "updated_at": now})
        for kind, share, on_account in (("OVERDRAFT_PROTECTION", 4, False), ("SAVINGS", 3, True)):
            if draw.randrange(share) == 0:
                holdings.append({"tenant_id": TENANT_ID, "holding_id": f"{kind[:2]}{n:07d}", "kind": kind,
                                 "customer_id": None if on_account else customer_id,
                                 "account_id": account_id if on_account else None, "amount": None,
                                 "currency": None, "start_date": None, "attributes": {}, "updated_at": now})
    return [(CustomerRow, people), (AccountRow, accounts), (HoldingRow, holdings),
            (TriggerAccountDayRow, days)], levels


def _definition(number: int, condition: str) -> RuleDefinition:
    audience = Audience(AudienceKind.PERSONA, reference_id=PERSONA[0]) if number % 5 == 4 else Audience.everyone()
    if number % 4 == 3:
        action: Any = BankNotificationAction(f"rule {number}: {condition}")
    else:
        action = BannerAction(f"Offer {number}", "Something for you", "See", "https://bank.example/offer", WEEK * 4)
    return RuleDefinition(display_name=f"Rule {number}", description="", audience=audience, condition=condition,
                          actions=(action,), cooldown=dt.timedelta(days=30))


def rule_conditions() -> list[str]:
    """RULES - 1 of the mix, and the latency samples' rule last."""
    return [RULE_TEMPLATES[n % 10](n // 10) for n in range(RULES - 1)] + [f"withdrawal > {SAMPLE_AMOUNT - 1}"]


async def seed(database: BenchDatabase, customers: int, run_dir: Path) -> tuple[dict[str, Decimal], float]:
    """Returns the accounts' balances and the seconds the rules' persona took to evaluate."""
    today = dt.datetime.now(dt.UTC).date()
    rows, balances = _rows(customers, today)
    services = await build_services(_settings(database, run_dir), with_queue=False)
    try:
        await services.tenants.create(TENANT_ID, "Bench bank")
    finally:
        await services.close()
    store = open_database(database.url, pool_size=2)
    try:
        for table, table_rows in rows:
            for start in range(0, len(table_rows), INSERT_ROWS):
                async with store.sessions() as session:
                    await session.execute(insert(table), table_rows[start:start + INSERT_ROWS])
                    await session.commit()
    finally:
        await store.dispose()
    services = await build_services(_settings(database, run_dir), with_queue=False)
    ana = Caller(tenant_id=TENANT_ID, subject="ana", role=Role.BANK_ADMIN)
    ben = Caller(tenant_id=TENANT_ID, subject="ben", role=Role.BANK_ADMIN)
    try:
        began = time.perf_counter()
        await services.personas.create_persona(ana, PERSONA[0], "Savers", "", PERSONA[1])
        async with services.database.sessions() as session:
            pending = list(await session.scalars(select(DomainEventRow.event_id).where(
                DomainEventRow.processed_at.is_(None)).order_by(DomainEventRow.event_id)))
        for event_id in pending:
            await services.bus.process(event_id)
        persona_seconds = time.perf_counter() - began
        for number, condition in enumerate(rule_conditions()):
            rule_id = SAMPLE_RULE if number == RULES - 1 else f"rule_{number:02d}"
            definition = _definition(number, condition)
            if rule_id == SAMPLE_RULE:
                definition = RuleDefinition(
                    display_name="Large withdrawal", description="", audience=Audience.everyone(),
                    condition=condition, cooldown=dt.timedelta(0),
                    actions=(BannerAction("Large withdrawal", "Talk to us", "See", "https://bank.example/w", WEEK),))
            await services.trigger_rules.create_rule(ana, rule_id, definition)
            await services.trigger_rules.submit(ana, rule_id)
            await services.trigger_rules.approve(ben, rule_id)
    finally:
        await services.close()
    return balances, persona_seconds


def _timestamp(at: dt.datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return stamp


def _money(cents: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code=CURRENCY, units=cents // 100, nanos=cents % 100 * 10_000_000)


class Postings:
    """Background postings: accounts at random, amounts scaled to each account's usual balance (most
    debits a few percent of it, one in twenty a fifth to a half, a salary-sized credit now and then),
    none reaching the samples' rule."""

    def __init__(self, levels: dict[str, Decimal], seed: int, prefix: str) -> None:
        self._draw = random.Random(seed)
        self._accounts = sorted(levels)
        self._levels = levels
        self._prefix = prefix
        self._number = 0

    def next(self, at: dt.datetime) -> ipb.Transaction:
        draw = self._draw
        self._number += 1
        account_id = draw.choice(self._accounts)
        level = self._levels[account_id]
        credit = draw.random() < 0.25
        if credit:
            amount = _share(draw, level, 0.3, 0.6) if draw.random() < 0.2 else _share(draw, level, 0.005, 0.05)
        else:
            amount = _share(draw, level, 0.2, 0.5) if draw.random() < 0.05 else _share(draw, level, 0.005, 0.05)
        cents = max(1, min(int(amount * 100), (SAMPLE_AMOUNT - 1_000) * 100))
        return ipb.Transaction(
            transaction_id=f"{self._prefix}{self._number:09d}", account_id=account_id,
            amount=_money(cents), direction=ipb.DIRECTION_CREDIT if credit else ipb.DIRECTION_DEBIT,
            post_time=_timestamp(at), description="card payment", category="GROCERIES")


async def _count(database: BenchDatabase, model: Any) -> int:
    store = open_database(database.url, pool_size=1)
    try:
        async with store.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await store.dispose()


async def _until_drained(database: BenchDatabase, bound: float = DRAIN_BOUND_SECONDS) -> float | None:
    """Seconds until the workers caught up with the offered load (no unprocessed event), so that the next
    run starts clean; None if they had not within `bound`."""
    store = open_database(database.url, pool_size=1)
    began = time.perf_counter()
    try:
        while time.perf_counter() - began < bound:
            async with store.sessions() as session:
                if not await session.scalar(select(func.count()).select_from(DomainEventRow).where(
                        DomainEventRow.processed_at.is_(None))):
                    return round(time.perf_counter() - began, 1)
            await asyncio.sleep(0.5)
        return None
    finally:
        await store.dispose()


async def _days_closing_off(database: BenchDatabase) -> int:
    """Accounts whose latest day with a posting does not close on the account's balance now: the day series
    took an earlier posting after a later one (the bench feeds no end-of-day balance). 0 when trigger_rules
    applied every account's postings in commit order."""
    latest = (select(TriggerAccountDayRow.account_id, func.max(TriggerAccountDayRow.day).label("day"))
              .where(TriggerAccountDayRow.closing_balance.is_not(None))
              .group_by(TriggerAccountDayRow.account_id).subquery())
    query = (select(func.count()).select_from(TriggerAccountDayRow)
             .join(latest, (latest.c.account_id == TriggerAccountDayRow.account_id)
                   & (latest.c.day == TriggerAccountDayRow.day))
             .join(AccountRow, AccountRow.account_id == TriggerAccountDayRow.account_id)
             .where(TriggerAccountDayRow.closing_balance != AccountRow.current_balance))
    store = open_database(database.url, pool_size=1)
    try:
        async with store.sessions() as session:
            return int(await session.scalar(query) or 0)
    finally:
        await store.dispose()


def _token() -> str:
    return mint_token(Settings(jwt_secret=JWT_SECRET), tenant=TENANT_ID, role=Role.SERVICE, subject="bench",
                      ttl=dt.timedelta(hours=4))


async def throughput_run(database: BenchDatabase, postgres: PostgresServer, transactions: int,
                         levels: dict[str, Decimal], redis_url: str, run_dir: Path, profile_dir: Path | None,
                         alongside: bool = False) -> dict[str, Any]:
    """The stream ingested, then the bus drained (`alongside`: the bus's workers running meanwhile)."""
    queue_name = f"engage:bench:{uuid.uuid4().hex[:12]}"
    first = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    step = dt.timedelta(days=1) / transactions
    postings = Postings(levels, 31, "tt")
    messages = [postings.next(first + step * n) for n in range(transactions)]
    mode = "alongside" if alongside else "after"
    server = ServerProcess(database_url=database.url, redis_url=redis_url, jwt_secret=JWT_SECRET,
                           queue_name=queue_name, log_path=run_dir / f"triggers-server-{mode}.log",
                           profile_path=profile_dir / f"triggers-server-{mode}.prof" if profile_dir else None,
                           # The queue does all: the figure is the bus's (the server's own runs would overlap
                           # the stream and blur ingest + bus apart; under a bulk load they mostly give way).
                           extra_env={"ENGAGE_TRIGGERS_IN_PROCESS": "false"})
    workers, jobs = DEFAULT_CONCURRENCY["postgresql"]
    bus_workers = BusWorkers(database, redis_url, queue_name, workers, jobs, run_dir, postgres,
                             log_label=f"triggers-{mode}")

    # The server's CPU over the stream, and the whole machine's from the stream's start to the drain's end:
    # how much of the two cores the run kept busy (other processes' load included).
    server_cpu: list[float] = []  # at the stream's start and end
    machine_before: list[float] = []  # busy CPU seconds and perf_counter at the stream's start

    async def ingest() -> tuple[ipb.IngestTransactionsResponse, float, dt.datetime, float]:
        await server.start()
        try:
            async with connect(server.address, _token()) as stubs:

                async def requests() -> AsyncIterator[ipb.IngestTransactionsRequest]:
                    for start in range(0, len(messages), BATCH_SIZE):
                        yield ipb.IngestTransactionsRequest(transactions=messages[start:start + BATCH_SIZE])

                load_before = os.getloadavg()[0]
                machine_before.extend((machine_busy_seconds(), time.perf_counter()))
                server_cpu.append(server.cpu_seconds())
                started_at, began = dt.datetime.now(dt.UTC), time.perf_counter()
                response = await stubs.ingest.IngestTransactions(requests())
                return response, time.perf_counter() - began, started_at, load_before
        finally:
            server_cpu.append(server.cpu_seconds())
            await server.stop()

    bus: BusFigures
    try:
        if alongside:
            async with bus_workers:
                await bus_workers.ready()
                response, ingest_seconds, started_at, load_before = await ingest()
                bus = await bus_workers.wait_drained()
            seconds = ((bus.last_processed_at - started_at).total_seconds() if bus.last_processed_at
                       else ingest_seconds)
        else:
            response, ingest_seconds, started_at, load_before = await ingest()
            async with bus_workers:
                bus = await bus_workers.wait_drained()
            seconds = ingest_seconds + bus.seconds
        machine_cpu = machine_busy_seconds() - machine_before[0]
        machine_cores = machine_cpu / (time.perf_counter() - machine_before[1])
    finally:
        await clear_queue(redis_url, queue_name)
    per_second = transactions / seconds if seconds else 0.0
    return {"mode": mode, "transactions": transactions, "accepted": response.accepted_count,
            "rejected": response.rejected_count, "ingest_seconds": round(ingest_seconds, 3),
            "bus_seconds": round(bus.seconds, 3), "bus_wall_seconds_with_worker_start": round(bus.wall_seconds, 3),
            "seconds": round(seconds, 3), "transactions_per_second": round(per_second),
            "drained": bus.drained, "handler_failures": bus.handler_failures,
            "worker_cpu_seconds": round(bus.worker_cpu_seconds, 3),
            "server_cpu_seconds": round(server_cpu[1] - server_cpu[0], 3),
            # From the stream's first request to the last event processed (after: with the workers' start between).
            "machine_busy_cpu_seconds": round(machine_cpu, 3), "machine_busy_cores": round(machine_cores, 2),
            "database_cpu_seconds": None if bus.database_cpu_seconds is None else round(bus.database_cpu_seconds, 3),
            "firings": await _count(database, TriggerFiringRow), "banners": await _count(database, BannerRow),
            "days_closing_off": await _days_closing_off(database),
            "load_average_at_start": round(load_before, 2),
            "goal": {"goal": GOAL_TX_PER_SECOND, "value": round(per_second), "met": per_second >= GOAL_TX_PER_SECOND}}


def _print_throughput(figures: dict[str, Any]) -> None:
    timing = (f"stream + bus alongside {figures['seconds']:.2f} s (ingest alone took {figures['ingest_seconds']:.2f} s)"
              if figures["mode"] == "alongside" else
              f"ingest {figures['ingest_seconds']:.2f} s + bus {figures['bus_seconds']:.2f} s")
    cpu = figures["database_cpu_seconds"]
    print(f"  throughput ({figures['mode']}): {figures['transactions']:,} postings, {timing}: "
          f"{figures['transactions_per_second']:,} tx/s (goal >= {GOAL_TX_PER_SECOND:,}: "
          f"{'met' if figures['goal']['met'] else 'NOT met'}); workers' CPU {figures['worker_cpu_seconds']:.2f} s, "
          f"their PostgreSQL's {'-' if cpu is None else f'{cpu:.2f}'} s, the server's "
          f"{figures['server_cpu_seconds']:.2f} s, the machine's {figures['machine_busy_cpu_seconds']:.2f} s "
          f"({figures['machine_busy_cores']:.2f} of {os.cpu_count()} cores busy); {figures['firings']:,} firings, "
          f"{figures['banners']:,} banners; {figures['days_closing_off']:,} days closing off the balance (must be 0); "
          f"load {figures['load_average_at_start']}")


async def _banner_count(stubs: Any, customer_id: str) -> int:
    listed = await stubs.banners.ListBanners(bpb.ListBannersRequest(parent=f"customers/{customer_id}"))
    return sum(1 for b in listed.banners if b.title == "Large withdrawal")


async def latency_run(database: BenchDatabase, levels: dict[str, Decimal], rate: int, seconds: float, redis_url: str,
                      run_dir: Path, in_process: bool, label: str) -> dict[str, Any]:
    queue_name = f"engage:bench:{uuid.uuid4().hex[:12]}"
    workers, jobs = DEFAULT_CONCURRENCY["postgresql"]
    server = ServerProcess(database_url=database.url, redis_url=redis_url, jwt_secret=JWT_SECRET,
                           queue_name=queue_name, log_path=run_dir / f"triggers-latency-{label}-server.log",
                           extra_env={"ENGAGE_TRIGGERS_IN_PROCESS": "true" if in_process else "false"})
    processes: list[asyncio.subprocess.Process] = []
    draw = random.Random(label)
    sampled = draw.sample(range(len(levels)), k=int(seconds / SAMPLE_EVERY) + 1)
    latencies: list[float] = []
    given_up: list[str] = []
    failed_samples: list[str] = []
    sent = failed = 0
    try:
        processes = await _start_workers(database, redis_url, queue_name, workers, jobs, run_dir)
        await server.start()
        await asyncio.sleep(3)  # the workers' start-up (imports, the relay's first sweep)
        async with connect(server.address, _token()) as stubs:
            postings = Postings(levels, 41 + len(label), f"tl{label}-")

            async def ingest(transactions: list[ipb.Transaction]) -> ipb.IngestTransactionsResponse:
                async def requests() -> AsyncIterator[ipb.IngestTransactionsRequest]:
                    yield ipb.IngestTransactionsRequest(transactions=transactions)
                return await stubs.ingest.IngestTransactions(requests())

            async def background() -> None:
                nonlocal sent, failed
                if not rate:  # the samples alone: the path's own latency
                    return
                batch_size = max(1, rate // BATCHES_PER_SECOND)
                began = time.perf_counter()
                tasks: set[asyncio.Task[Any]] = set()
                while time.perf_counter() - began < seconds:
                    await asyncio.sleep(max(0.0, began + sent / rate - time.perf_counter()))
                    batch = [postings.next(dt.datetime.now(dt.UTC)) for _ in range(batch_size)]
                    sent += batch_size
                    task = asyncio.create_task(ingest(batch))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if tasks:
                    failed += sum(isinstance(r, Exception)
                                  for r in await asyncio.gather(*tasks, return_exceptions=True))

            async def sample(number: int, n: int) -> None:
                customer_id = _customer(n)
                transaction = ipb.Transaction(
                    transaction_id=f"ts{label}-{number:06d}", account_id=_account(n),
                    amount=_money(SAMPLE_AMOUNT * 100),
                    direction=ipb.DIRECTION_DEBIT, post_time=_timestamp(dt.datetime.now(dt.UTC)),
                    description="cash", category="CASH")
                before = await _banner_count(stubs, customer_id)
                try:
                    response = await ingest([transaction])
                except grpc.aio.AioRpcError:
                    failed_samples.append(customer_id)
                    return
                accepted = time.perf_counter()
                assert response.accepted_count == 1, response
                while await _banner_count(stubs, customer_id) == before:
                    if time.perf_counter() - accepted > GIVE_UP_SECONDS:
                        given_up.append(customer_id)  # counted at the bound: the percentiles are at least that
                        break
                    await asyncio.sleep(POLL_SECONDS)
                latencies.append((time.perf_counter() - accepted) * 1000)

            async def samples() -> None:
                """One at a time, each polled back to back (one call outstanding: the polls load the server
                no more than a customer's app refreshing would)."""
                began = time.perf_counter()
                for number, n in enumerate(sampled):
                    if time.perf_counter() - began >= seconds:
                        break
                    await asyncio.sleep(max(0.0, began + number * SAMPLE_EVERY - time.perf_counter()))
                    await sample(number, n)

            load_before = os.getloadavg()[0]
            await asyncio.gather(background(), samples())
        backlog_seconds = await _until_drained(database)
    finally:
        await server.stop()
        await _stop(processes)
        await clear_queue(redis_url, queue_name)
    figures = _percentiles(latencies)
    return {"in_process": in_process, "offered_per_second": rate, "backlog_drained_seconds": backlog_seconds,
            "seconds": seconds, "background_sent": sent, "background_calls_failed": failed,
            "samples_failed": len(failed_samples),
            "samples": len(latencies), "not_within_give_up_seconds": len(given_up),
            **figures, "load_average_at_start": round(load_before, 2),
            "goal": {"goal_p99_ms": GOAL_P99_MS, "value": figures["p99_ms"], "met": figures["p99_ms"] <= GOAL_P99_MS}}


async def backtest_run(postgres: PostgresServer, customers: int, run_dir: Path, repeats: int = 1) -> dict[str, Any]:
    """Seeds the history once, then times the backtest `repeats` times over it (the seed takes far longer
    than a backtest): judged on the median run, every run reported."""
    from tests.bench.trigger_backtest import time_backtest
    from tests.bench.trigger_backtest_seed import copy_history

    database = await postgres.fresh("triggers_backtest")
    end = dt.date(2026, 11, 30)
    start = end - dt.timedelta(days=364)
    try:
        services = await build_services(_settings(database, run_dir), with_queue=False)
        try:
            await services.tenants.create(TENANT_ID, "Bench bank")
        finally:
            await services.close()
        began = time.perf_counter()
        written = await copy_history(database.postgres_dsn, database.url, TENANT_ID, accounts=customers,
                                     first=start - dt.timedelta(days=31), end=end)
        seed_seconds = time.perf_counter() - began
        store = open_database(database.url, pool_size=2)
        try:
            # The backtest runs in `python -m server`, whose collector is tuned at start: so here.
            tune_garbage_collector()
            load_before = os.getloadavg()[0]
            runs = [await time_backtest(store, TENANT_ID, start=start, end=end) for _ in range(repeats)]
        finally:
            await store.dispose()
    finally:
        await postgres.drop(database)
    median = statistics.median(r["seconds"] for r in runs)
    return {"customers": customers, "transactions": written, "seed_seconds": round(seed_seconds, 1), **runs[0],
            "seconds": median, "runs": [r["seconds"] for r in runs], "load_average_at_start": round(load_before, 2),
            "goal": {"goal_seconds": GOAL_BACKTEST_SECONDS, "value": median, "met": median <= GOAL_BACKTEST_SECONDS}}


async def run_triggers(customers: int, transactions: int, rates: list[int], seconds: float, backtest_customers: int,
                       parts: set[str], redis_url: str, run_dir: Path, profile_dir: Path | None = None,
                       backtest_repeats: int = 1) -> dict[str, Any]:
    postgres = PostgresServer()
    reason = await postgres.unavailable_reason()
    if reason:
        print(f"\n== triggers: skipped: {reason}")
        return {"skipped": reason}
    run_dir.mkdir(parents=True, exist_ok=True)
    workers, jobs = DEFAULT_CONCURRENCY["postgresql"]
    document: dict[str, Any] = {"parameters": {
        "customers": customers, "rules": rule_conditions(), "persona": PERSONA[1], "transactions": transactions,
        "rates": rates, "seconds": seconds, "backtest_customers": backtest_customers,
        "backtest_repeats": backtest_repeats,
        "workers_and_jobs": [workers, jobs]}}
    print(f"\nEngage triggers bench (PostgreSQL): {customers:,} customers, {RULES} active rules; "
          f"`python -m server` + {workers} `python -m workers` x {jobs} jobs; {os.cpu_count()} cores")
    if parts & {"throughput", "latency"}:
        database = await postgres.fresh("triggers")
        try:
            began = time.perf_counter()
            levels, persona_seconds = await seed(database, customers, run_dir)
            print(f"  seeded in {time.perf_counter() - began:.1f} s (persona {persona_seconds:.1f} s)")
            if "throughput" in parts:
                document["throughput"] = figures = await throughput_run(
                    database, postgres, transactions, levels, redis_url, run_dir, profile_dir)
                _print_throughput(figures)
            if "latency" in parts:
                document["latency"] = {}
                for rate_now, in_process in [(r, mode) for r in rates for mode in (True, False)]:
                    label = f"{'in_process' if in_process else 'queue'}_{rate_now}"
                    figures = await latency_run(database, levels, rate_now, seconds, redis_url, run_dir,
                                                in_process, label)
                    document["latency"][label] = figures
                    print(f"  latency ({label}, {rate_now:,} tx/s offered for {seconds:.0f} s, {figures['samples']} "
                          f"samples, {figures['not_within_give_up_seconds']} over {GIVE_UP_SECONDS:.0f} s): "
                          f"p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms, p99 "
                          f"{figures['p99_ms']:.1f} ms, max {figures['max_ms']:.1f} ms (goal p99 <= "
                          f"{GOAL_P99_MS:.0f} ms: {'met' if figures['goal']['met'] else 'NOT met'}); load "
                          f"{figures['load_average_at_start']}")
        finally:
            await postgres.drop(database)
    if "alongside" in parts:  # on a database of its own: the stream above would have moved its series
        database = await postgres.fresh("triggers")
        try:
            levels, _ = await seed(database, customers, run_dir)
            document["throughput_alongside"] = figures = await throughput_run(
                database, postgres, transactions, levels, redis_url, run_dir, profile_dir, alongside=True)
            _print_throughput(figures)
        finally:
            await postgres.drop(database)
    if "backtest" in parts:
        figures = await backtest_run(postgres, backtest_customers, run_dir, backtest_repeats)
        document["backtest"] = figures
        each = f" (median of {', '.join(f'{s:.2f}' for s in figures['runs'])})" if backtest_repeats > 1 else ""
        print(f"  backtest: one rule over a year of {backtest_customers:,} customers ({figures['transactions']:,} "
              f"transactions): {figures['seconds']:.2f} s{each}, {figures['firings']:,} firings (goal <= "
              f"{GOAL_BACKTEST_SECONDS:.0f} s: {'met' if figures['goal']['met'] else 'NOT met'}); load "
              f"{figures['load_average_at_start']}")
    return document

