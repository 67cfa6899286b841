"""`python -m tests.bench`: the entry point of `make bench` (see docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import sys
from pathlib import Path
from typing import Any

import tests.bench
from server.logging import configure_logging
from server.services.insights import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE
from tests.bench.bus import DEFAULT_CONCURRENCY
from tests.bench.cpu import machine_speed_ms
from tests.bench.redis_queue import resolve_redis
from tests.bench.report import write_json
from tests.bench.run import BenchOptions, InsightsOptions, run_backend, run_insights_backend
from tests.bench.seed import ALERT_CATEGORY, ALERT_MIN_AMOUNT
from tests.bench.workload import AMOUNT_PROFILES, Workload

BACKENDS = ("sqlite", "postgresql")
SUITES = ("ingest", "insights", "goals", "products", "personas", "triggers")
TRIGGER_PARTS = ("throughput", "alongside", "latency", "backtest")
DEFAULT_INSIGHT_USERS = "10000,100000"
DEFAULT_BUS = ",".join(f"{backend}={workers}x{jobs}" for backend, (workers, jobs) in DEFAULT_CONCURRENCY.items())


def _numbers(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part]


def _concurrency(text: str) -> dict[str, tuple[int, int]]:
    if text == "none":
        return {}
    found = {}
    for part in text.split(","):
        backend, _, figures = part.partition("=")
        workers, _, jobs = figures.partition("x")
        if backend not in BACKENDS or int(workers) < 1 or int(jobs) < 1:
            raise ValueError(part)
        found[backend] = (int(workers), int(jobs))
    return found


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=tests.bench.__doc__)
    parser.add_argument("--suite", default=",".join(SUITES),
                        help="comma-separated: ingest,insights,goals,products,personas,triggers (default all; goals, "
                             "personas and triggers on PostgreSQL only)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--output", type=Path, default=Path("var/bench.json"))
    ingest = parser.add_argument_group("ingest")
    ingest.add_argument("--transactions", type=int, default=200_000, help="transactions to ingest (default 200000)")
    ingest.add_argument("--accounts", type=int, default=2_000, help="accounts they are spread over (default 2000)")
    ingest.add_argument("--batch-size", type=int, default=500, help="transactions per stream message (default 500)")
    ingest.add_argument("--profile-server", type=Path, default=None, metavar="DIR",
                        help="run the server under cProfile and write DIR/server-<backend>.prof")
    ingest.add_argument("--bus-alongside", action="store_true",
                        help="also stream each amount profile with the bus's workers running alongside the server, "
                             "as deployed, and report whether the backlog of events grows")
    ingest.add_argument("--bus", default=DEFAULT_BUS, metavar="BACKEND=WxJ,...",
                        help="by backend, the `python -m workers` processes (W) and jobs each (J) that drain the "
                             f"stream's domain events through the bus afterwards (default {DEFAULT_BUS}; "
                             "'none': no bus run)")
    ingest.add_argument("--amounts", default="both", choices=(*AMOUNT_PROFILES, "both"),
                        help="the transactions' amounts: realistic (a retail bank's, after the Berka data; see "
                             "tests/bench/amounts.py) or newsworthy (~80 %% reach the 1,000 EUR insight thresholds, "
                             "balances drift negative: the bus's worst case). Default both: ingestion and the bare "
                             "load on newsworthy, then a realistic stream too, each drained through the bus")
    insights = parser.add_argument_group("insights")
    insights.add_argument("--insight-users", default=DEFAULT_INSIGHT_USERS, metavar="N,N",
                          help=f"users of each monthly batch, a fresh database each (default {DEFAULT_INSIGHT_USERS})")
    insights.add_argument("--insight-chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                          help=f"users per chunk job (default {DEFAULT_CHUNK_SIZE}, the service's default)")
    goals = parser.add_argument_group("goals")
    goals.add_argument("--goal-transactions", type=int, default=100_000,
                       help="realistic transactions ingested without and with goals (default 100000)")
    goals.add_argument("--goal-accounts", type=int, default=2_000,
                       help="accounts they are spread over, each a target account with 5 goals (default 2000)")
    goals.add_argument("--tracker-goals", type=int, default=100_000,
                       help="goals the Goal Tracker is generated for (default 100000; 0: none)")
    goals.add_argument("--goal-modes", default="alongside,after",
                       help="alongside: the bus's workers run while the server ingests (the goals are judged on "
                            "it); after: they start once it has stopped (default both)")
    goals.add_argument("--goal-repeats", type=int, default=1,
                       help="pairs of runs (without goals, then with) per mode, judged on their medians (default 1)")
    products = parser.add_argument_group("products")
    products.add_argument("--quote-rate", type=int, default=500, help="QuoteProduct requests a second (default 500)")
    products.add_argument("--quote-seconds", type=int, default=20, help="how long they are sent (default 20)")
    products.add_argument("--quote-servers", type=int, default=1,
                          help="`python -m server` processes on the one database, each on its own port, the "
                               "client sending to them in turn (a load balancer's round robin; default 1)")
    personas = parser.add_argument_group("personas")
    personas.add_argument("--persona-customers", type=int, default=100_000,
                          help="customers the personas are evaluated over (default 100000)")
    personas.add_argument("--persona-samples", type=int, default=200,
                          help="attribute changes timed until membership reflects them (default 200)")
    triggers = parser.add_argument_group("triggers")
    triggers.add_argument("--trigger-customers", type=int, default=100_000,
                          help="customers (one deposit account each) the 50 rules watch (default 100000)")
    triggers.add_argument("--trigger-transactions", type=int, default=100_000,
                          help="postings ingested and drained for the throughput (default 100000)")
    triggers.add_argument("--trigger-rates", default="100,1000", metavar="N,N",
                          help="transactions a second offered while the banner latency is sampled, one pair of "
                               "runs (server in-process, queue only) each (default 100,1000)")
    triggers.add_argument("--trigger-seconds", type=float, default=20.0,
                          help="how long they are offered, each of the two latency runs (default 20)")
    triggers.add_argument("--trigger-backtest-customers", type=int, default=10_000,
                          help="customers with a year of history the backtest replays (default 10000; the goal "
                               "is stated for 100000, about 30 million rows, seeded in some 4 minutes when quiet)")
    triggers.add_argument("--trigger-backtest-repeats", type=int, default=1,
                          help="times the backtest is timed over the one seeded history, judged on the median "
                               "(default 1)")
    triggers.add_argument("--trigger-parts", default=",".join(TRIGGER_PARTS),
                          help="comma-separated: throughput,alongside,latency,backtest (default all; alongside: the "
                               "throughput with the bus running during the stream, on a database seeded afresh)")
    arguments = parser.parse_args(argv)
    for name, given, known in (("backends", arguments.backends, BACKENDS), ("suite", arguments.suite, SUITES)):
        unknown = set(given.split(",")) - set(known)
        if unknown:
            parser.error(f"unknown {name}: {', '.join(sorted(unknown))}")
    if min(arguments.transactions, arguments.accounts, arguments.batch_size) < 1:
        parser.error("--transactions, --accounts and --batch-size must be positive")
    if arguments.trigger_backtest_repeats < 1:
        parser.error("--trigger-backtest-repeats must be positive")
    try:
        arguments.bus = _concurrency(arguments.bus)
    except ValueError:
        parser.error("--bus takes BACKEND=WORKERSxJOBS separated by commas, e.g. postgresql=2x20,sqlite=1x1")
    try:
        arguments.insight_users = _numbers(arguments.insight_users)
    except ValueError:
        parser.error("--insight-users takes numbers separated by commas")
    if not arguments.insight_users or min(arguments.insight_users) < 1:
        parser.error("--insight-users must be positive")
    if not 1 <= arguments.insight_chunk_size <= MAX_CHUNK_SIZE:
        parser.error(f"--insight-chunk-size must be 1-{MAX_CHUNK_SIZE}")
    return arguments


async def _ingest(arguments: argparse.Namespace, redis_url: str, run_dir: Path) -> dict[str, Any]:
    headline = "newsworthy" if arguments.amounts == "both" else arguments.amounts
    workload = Workload(transactions=arguments.transactions, accounts=arguments.accounts, amounts=headline)
    more_amounts = ("realistic",) if arguments.amounts == "both" and arguments.bus else ()
    if arguments.profile_server:
        arguments.profile_server.mkdir(parents=True, exist_ok=True)
    options = BenchOptions(workload=workload, batch_size=arguments.batch_size, redis_url=redis_url, run_dir=run_dir,
                           profile_dir=arguments.profile_server, bus_concurrency=arguments.bus,
                           more_amounts=more_amounts, bus_alongside=arguments.bus_alongside)
    print(f"Engage ingest bench: {workload.transactions:,} transactions in batches of {arguments.batch_size} over "
          f"{workload.accounts:,} accounts; `python -m server` and this client as separate processes "
          f"on {os.cpu_count()} cores; every batch writes a TransactionsPosted domain event (postings live); "
          f"{headline} amounts" + (f", then a {', '.join(more_amounts)} stream for the bus" if more_amounts else ""))
    if arguments.bus:
        concurrency = ", ".join(f"{backend} {workers} `python -m workers` x {jobs} jobs"
                                for backend, (workers, jobs) in arguments.bus.items())
        print(f"then the bus ({concurrency}) drains the events the server announced, once it has stopped, through "
              f"server.bootstrap's event_handlers (EVENT "
              f"insights subscribed by default; one transaction alert on {ALERT_CATEGORY} debits of "
              f"{ALERT_MIN_AMOUNT} EUR or more, bound to an e-mail event; no customer has a contact, so matches "
              "record skipped deliveries and nothing is sent)")
    results = {backend: await run_backend(backend, options) for backend in arguments.backends.split(",")}
    return {"parameters": {"transactions": workload.transactions, "accounts": workload.accounts,
                           "amounts": headline, "more_amounts_for_the_bus": list(more_amounts),
                           "batch_size": arguments.batch_size, "profiled": bool(arguments.profile_server),
                           "bus_workers_and_jobs": arguments.bus,
                           "alert": {"directions": ["DEBIT"], "categories": [ALERT_CATEGORY],
                                     "min_amount": ALERT_MIN_AMOUNT}},
            "results": results}


async def _insights(arguments: argparse.Namespace, redis_url: str, run_dir: Path) -> dict[str, Any]:
    from tests.bench.insights_batch import ACCOUNTS_PER_USER, JOBS_PER_WORKER, MONTHS, SAVINGS, WORKERS

    options = InsightsOptions(users=arguments.insight_users, chunk_size=arguments.insight_chunk_size,
                              redis_url=redis_url, run_dir=run_dir)
    sizes = " and ".join(f"{users:,}" for users in options.users)
    print(f"\nEngage insight batch bench: monthly {SAVINGS} over {sizes} users ({ACCOUNTS_PER_USER} accounts "
          f"each, {MONTHS} month ends of balances); {WORKERS} `python -m workers` processes ({JOBS_PER_WORKER} jobs "
          f"each) on {os.cpu_count()} cores; the bare ceiling is one INSERT ... SELECT")
    results = {backend: await run_insights_backend(backend, options) for backend in arguments.backends.split(",")}
    return {"parameters": {"users": options.users, "accounts_per_user": ACCOUNTS_PER_USER, "months": MONTHS,
                           "workers": WORKERS, "jobs_per_worker": JOBS_PER_WORKER, "chunk_size": options.chunk_size},
            "results": results}


async def _goals(arguments: argparse.Namespace, redis_url: str, run_dir: Path) -> dict[str, Any]:
    from tests.bench.goals import run_goals

    workload = Workload(transactions=arguments.goal_transactions, accounts=arguments.goal_accounts,
                        accounts_per_customer=1, amounts="realistic")
    options = BenchOptions(workload=workload, batch_size=arguments.batch_size, redis_url=redis_url, run_dir=run_dir)
    return await run_goals(options, arguments.tracker_goals, tuple(arguments.goal_modes.split(",")),
                           max(1, arguments.goal_repeats))


async def _bench(arguments: argparse.Namespace) -> dict[str, Any]:
    run_dir = Path("var/bench") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    redis_url, embedded_redis = resolve_redis(run_dir / "redis")
    speed = machine_speed_ms()
    print(f"machine speed: {speed} ms for the fixed Python workload of tests/bench/cpu.py (lower is faster; "
          "compare runs of different days by it); load average " + " ".join(f"{n:.1f}" for n in os.getloadavg()))
    document: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform(),
                    "speed_ms": speed, "load_average_at_start": [round(n, 2) for n in os.getloadavg()]}}
    suites = arguments.suite.split(",")
    try:
        if "ingest" in suites:
            document["ingest"] = await _ingest(arguments, redis_url, run_dir)
        if "insights" in suites:
            document["insights"] = await _insights(arguments, redis_url, run_dir)
        if "goals" in suites and "postgresql" in arguments.backends.split(","):
            document["goals"] = await _goals(arguments, redis_url, run_dir)
        if "products" in suites:
            from tests.bench.products import run_products

            document["products"] = await run_products(arguments.backends.split(","), redis_url, run_dir,
                                                      arguments.quote_rate, arguments.quote_seconds,
                                                      profile_dir=arguments.profile_server,
                                                      processes=arguments.quote_servers)
        if "personas" in suites and "postgresql" in arguments.backends.split(","):
            from tests.bench.personas import run_personas

            document["personas"] = await run_personas(arguments.persona_customers, arguments.persona_samples,
                                                      redis_url, run_dir)
        if "triggers" in suites and "postgresql" in arguments.backends.split(","):
            from tests.bench.triggers import run_triggers

            document["triggers"] = await run_triggers(
                arguments.trigger_customers, arguments.trigger_transactions, _numbers(arguments.trigger_rates),
                arguments.trigger_seconds, arguments.trigger_backtest_customers,
                set(arguments.trigger_parts.split(",")), redis_url, run_dir, arguments.profile_server,
                arguments.trigger_backtest_repeats)
    finally:
        if embedded_redis is not None:
            embedded_redis.stop()
    document["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return document


def _mismatches(document: dict[str, Any]) -> list[str]:
    found = []
    for backend, result in document.get("insights", {}).get("results", {}).items():
        for users, figures in result.get("sizes", {}).items():
            if not figures["items_match_bare"]:
                found.append(f"{backend} {users} users: {figures['items_generated']} items vs bare "
                             f"{figures['bare_items']}")
    return found


def main(argv: list[str] | None = None) -> None:
    arguments = _arguments(argv)
    configure_logging("WARNING", "console")  # the services the bench runs in-process: only what goes wrong
    document = asyncio.run(_bench(arguments))
    write_json(arguments.output, document)
    print(f"\nwrote {arguments.output}")
    mismatches = _mismatches(document)
    if mismatches:
        sys.exit("MISMATCH between the batch and the bare statement: " + "; ".join(mismatches))


if __name__ == "__main__":
    main()
