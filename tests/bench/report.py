"""Figures as a person reads them, with the goals beside them, and as var/bench.json."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.bus import BACKLOG_SAMPLE_SECONDS, BusFigures, OutboxFigures
from tests.bench.ingest import IngestFigures
from tests.bench.insights_batch import BatchFigures

# Goals: ingestion keeps up with a bank's feed on PostgreSQL, and costs no more than ten times the
# raw bulk load of the same rows.
GOAL_POSTGRES_TX_PER_SECOND = 25_000
GOAL_SHARE_OF_BARE = 0.10
# Goals of the monthly insight batch: users evaluated per second on PostgreSQL with 2 workers, time
# within 3x the bare INSERT ... SELECT, and worker memory flat as users grow (the largest size may use
# at most a quarter more than the smallest).
GOAL_POSTGRES_USERS_PER_SECOND = 20_000
# The issue sets the batch's rate and ratio goals for this size; the others are for the memory comparison.
GOAL_INSIGHTS_USERS = 100_000
GOAL_INSIGHTS_RATIO_TO_BARE = 3.0
GOAL_RSS_GROWTH = 1.25
BARE_METHODS = {"postgresql": "COPY (asyncpg copy_records_to_table), one transaction",
                "sqlite": "sqlite3 executemany, one transaction"}


@dataclass
class AlongsideRun:
    """The same stream ingested while the bus's workers ran (tests.bench.run._stream_alongside)."""

    ingest: IngestFigures  # slower than alone: the workers share the machine
    bus: BusFigures  # its CPU counts from the workers' start-up done
    backlog: list[tuple[float, int]]  # (seconds into the stream, TransactionsPosted events unfinished)

    @property
    def lag_seconds(self) -> float | None:
        """From the stream's last response to the last event processed."""
        started, last = self.ingest.stream_started_at, self.bus.last_processed_at
        if started is None or last is None:
            return None
        return (last - started).total_seconds() - self.ingest.seconds

    @property
    def per_second(self) -> float:
        """Transactions over the time from the stream's first request to the last event processed."""
        lag = self.lag_seconds
        return self.ingest.transactions / (self.ingest.seconds + max(lag or 0.0, 0.0))

    @property
    def keeps_up(self) -> bool:
        """The backlog did not grow over the stream: at its end no more events waited than at some point of
        its first half, give or take the batch just committed. A bus slower than ingestion falls further
        behind with every batch."""
        if not self.bus.drained or not self.backlog:
            return False
        half = self.backlog[-1][0] / 2
        first_half = [behind for at, behind in self.backlog if at <= half] or [0]
        return self.backlog[-1][1] <= max(first_half) + 1

    def as_dict(self) -> dict[str, Any]:
        bus, ingest = self.bus, self.ingest
        return {"ingest_transactions_per_second": round(ingest.per_second),
                "ingest_seconds": round(self.ingest.seconds, 3),
                "lag_seconds": None if self.lag_seconds is None else round(self.lag_seconds, 3),
                "transactions_per_second_with_bus": round(self.per_second),
                "backlog_events": [[round(at, 2), behind] for at, behind in self.backlog],
                "keeps_up_with_ingest": self.keeps_up, "drained": bus.drained,
                "server_cpu_us_per_transaction": round(ingest.microseconds_per_row(ingest.server_cpu_seconds), 1),
                "worker_cpu_us_per_posting": round(bus.microseconds_per_posting(bus.worker_cpu_seconds), 1),
                "database_cpu_us_per_posting_workers": None if bus.database_cpu_seconds is None
                else round(bus.microseconds_per_posting(bus.database_cpu_seconds), 1),
                "feed_items": bus.feed_items, "handler_failures": bus.handler_failures}


@dataclass
class AmountsRun:
    """One amount profile's stream and, after it, its bus run."""

    amounts: str  # tests.bench.workload.AMOUNT_PROFILES
    ingest: IngestFigures
    outbox: OutboxFigures | None = None  # the domain events the stream wrote
    bus: BusFigures | None = None  # None: the run had no bus workers
    load_average: float | None = None  # the machine's 1-minute load average as the bus started
    alongside: AlongsideRun | None = None  # with --bus-alongside

    @property
    def bus_keeps_up(self) -> bool | None:
        """Whether the handlers process postings at least as fast as ingestion stores them."""
        if self.bus is None:
            return None
        return self.bus.drained and self.bus.postings_per_second >= self.ingest.per_second

    def per_posting(self) -> dict[str, float | None]:
        bus = self.bus
        if bus is None or not bus.postings:
            return {}
        return {"feed_items": bus.feed_items / bus.postings, "alert_triggers": bus.alert_triggers / bus.postings,
                "worker_cpu_us": bus.microseconds_per_posting(bus.worker_cpu_seconds),
                "database_cpu_us": None if bus.database_cpu_seconds is None
                else bus.microseconds_per_posting(bus.database_cpu_seconds)}

    def as_dict(self) -> dict[str, Any]:
        per_posting = {name: None if value is None else round(value, 4 if "cpu" not in name else 1)
                       for name, value in self.per_posting().items()}
        return {"ingest_transactions_per_second": round(self.ingest.per_second),
                "ingest_seconds": round(self.ingest.seconds, 3), "rejected": self.ingest.rejected,
                "load_average_at_bus_start": None if self.load_average is None else round(self.load_average, 2),
                "outbox": None if self.outbox is None else self.outbox.as_dict(),
                "bus": None if self.bus is None else self.bus.as_dict() | {"keeps_up_with_ingest": self.bus_keeps_up},
                "per_posting": per_posting,
                "alongside": None if self.alongside is None else self.alongside.as_dict()}


@dataclass
class BackendResult:
    backend: str
    runs: list[AmountsRun]  # the first is the headline ingest, the one the bare load repeats
    bare_seconds: float

    @property
    def ingest(self) -> IngestFigures:
        return self.runs[0].ingest

    @property
    def outbox(self) -> OutboxFigures | None:
        return self.runs[0].outbox

    @property
    def bus(self) -> BusFigures | None:
        return self.runs[0].bus

    @property
    def bus_keeps_up(self) -> bool | None:
        return self.runs[0].bus_keeps_up

    @property
    def bare_per_second(self) -> float:
        return self.ingest.transactions / self.bare_seconds

    @property
    def share_of_bare(self) -> float:
        return self.ingest.per_second / self.bare_per_second

    def goals(self) -> dict[str, dict[str, Any]]:
        goals = {"ingest_share_of_bare": {"goal": GOAL_SHARE_OF_BARE, "value": round(self.share_of_bare, 4),
                                          "met": self.share_of_bare >= GOAL_SHARE_OF_BARE}}
        if self.backend == "postgresql":
            goals["ingest_tx_per_second"] = {"goal": GOAL_POSTGRES_TX_PER_SECOND,
                                             "value": round(self.ingest.per_second),
                                             "met": self.ingest.per_second >= GOAL_POSTGRES_TX_PER_SECOND}
        for run in self.runs:
            if run.bus is not None:
                name = "bus_keeps_up_with_ingest" if run is self.runs[0] else f"bus_keeps_up_with_ingest_{run.amounts}"
                goals[name] = {"goal": round(run.ingest.per_second), "value": round(run.bus.postings_per_second),
                               "met": bool(run.bus_keeps_up)}
            if run.alongside is not None:
                goals[f"bus_keeps_up_alongside_{run.amounts}"] = {
                    "goal": "backlog not growing", "value": run.alongside.backlog[-1][1] if run.alongside.backlog
                    else None, "met": run.alongside.keeps_up}
        return goals

    def as_dict(self) -> dict[str, Any]:
        figures = self.ingest
        return {
            "ingest": {"transactions": figures.transactions, "seconds": round(figures.seconds, 3),
                       "transactions_per_second": round(figures.per_second),
                       "accepted": figures.accepted, "duplicate": figures.duplicate, "rejected": figures.rejected,
                       "first_rejections": figures.first_rejections,
                       "setup_seconds": round(figures.setup_seconds, 3),
                       "server_cpu_seconds": round(figures.server_cpu_seconds, 3),
                       "server_core_share": round(figures.server_core_share, 3),
                       "client_cpu_seconds": round(figures.client_cpu_seconds, 3),
                       "server_cpu_us_per_row": round(figures.microseconds_per_row(figures.server_cpu_seconds), 1),
                       "database_cpu_seconds": None if figures.database_cpu_seconds is None
                       else round(figures.database_cpu_seconds, 3),
                       "database_cpu_us_per_row": None if figures.database_cpu_seconds is None
                       else round(figures.microseconds_per_row(figures.database_cpu_seconds), 1),
                       "machine_busy_cpu_seconds": round(figures.machine_busy_cpu_seconds, 3),
                       "other_cpu_seconds": round(figures.other_cpu_seconds, 3),
                       "server_peak_rss_bytes": figures.server_peak_rss_bytes},
            "bare": {"method": BARE_METHODS[self.backend], "seconds": round(self.bare_seconds, 3),
                     "transactions_per_second": round(self.bare_per_second)},
            "ingest_share_of_bare": round(self.share_of_bare, 4),
            "domain_events_written": self.outbox is not None and self.outbox.events > 0,
            "outbox": None if self.outbox is None else self.outbox.as_dict(),
            "bus": None if self.bus is None else self.bus.as_dict() | {"keeps_up_with_ingest": self.bus_keeps_up},
            "amounts": self.runs[0].amounts,
            "by_amounts": {run.amounts: run.as_dict() for run in self.runs},
            "goals": self.goals(),
        }


def _met(flag: bool) -> str:
    return "met" if flag else "NOT MET"


def print_result(result: BackendResult) -> None:
    figures = result.ingest
    goals = result.goals()
    print(f"\n== {result.backend}")
    rate_goal = goals.get("ingest_tx_per_second")
    goal_note = f"   goal >= {GOAL_POSTGRES_TX_PER_SECOND:,}: {_met(rate_goal['met'])}" if rate_goal else ""
    print(f"  ingest  {figures.per_second:>10,.0f} tx/s  ({figures.transactions:,} in {figures.seconds:.2f} s; "
          f"accepted {figures.accepted:,}, duplicate {figures.duplicate:,}, rejected {figures.rejected:,}){goal_note}")
    print(f"  bare    {result.bare_per_second:>10,.0f} tx/s  ({result.bare_seconds:.2f} s, "
          f"{BARE_METHODS[result.backend]})")
    share = goals["ingest_share_of_bare"]
    print(f"  ingest/bare {result.share_of_bare:>6.1%}   goal >= {GOAL_SHARE_OF_BARE:.0%}: {_met(share['met'])}")
    print(f"  server  peak RSS {figures.server_peak_rss_bytes / 2**20:,.0f} MiB, "
          f"CPU {figures.server_cpu_seconds:.1f} s = {figures.server_core_share:.0%} of one core; "
          f"client CPU {figures.client_cpu_seconds:.1f} s; set-up (customers, accounts) {figures.setup_seconds:.2f} s")
    cost = f"  CPU per transaction: server {figures.microseconds_per_row(figures.server_cpu_seconds):.0f} us"
    if figures.database_cpu_seconds is not None:
        cost += (f", PostgreSQL {figures.microseconds_per_row(figures.database_cpu_seconds):.0f} us "
                 f"({figures.database_cpu_seconds:.1f} CPU-s in the server's connections)")
    print(cost + "  (steadier than tx/s when other programs share the machine)")
    print(f"  machine busy {figures.machine_busy_cpu_seconds:.1f} CPU-s over {figures.seconds:.1f} s on "
          f"{os.cpu_count()} cores; besides server and client (the database, anything else running) "
          f"{figures.other_cpu_seconds:.1f} CPU-s")
    if figures.rejected:
        print(f"  first rejections: {figures.first_rejections}")
    if result.outbox is not None:
        _print_outbox(result.outbox, figures.seconds)
    for run in result.runs:
        if run is not result.runs[0]:
            print(f"  -- {run.amounts} amounts: ingest {run.ingest.per_second:,.0f} tx/s "
                  f"({run.ingest.transactions:,} in {run.ingest.seconds:.2f} s, rejected {run.ingest.rejected:,})")
            if run.outbox is not None:
                _print_outbox(run.outbox, run.ingest.seconds)
        if run.bus is not None:
            _print_bus(run, run.bus)
    if len([run for run in result.runs if run.bus is not None]) > 1:
        _print_amounts_side_by_side(result.runs)


def _print_outbox(outbox: OutboxFigures, seconds: float) -> None:
    if not outbox.events:
        print("  events  NONE written: the stream's postings reached no outbox")
        return
    line = (f"  events  written: {outbox.events:,} TransactionsPosted ({outbox.postings:,} postings), "
            f"{outbox.payload_bytes / outbox.events / 1024:,.0f} KiB of payload per batch = "
            f"{outbox.payload_bytes / outbox.postings:,.0f} B per posting, "
            f"{outbox.payload_bytes / seconds / 2**20:,.1f} MiB/s")
    if outbox.table_bytes is not None and outbox.transactions_table_bytes:
        line += (f"; domain_events {outbox.table_bytes / 2**20:,.0f} MiB on disk beside transactions' "
                 f"{outbox.transactions_table_bytes / 2**20:,.0f} MiB")
    print(line)


def _print_bus(result: AmountsRun, bus: BusFigures) -> None:
    per = result.per_posting()
    keeps_up = "kept up" if result.bus_keeps_up else "did NOT keep up"
    if not bus.drained:
        keeps_up = f"STALLED with {bus.unprocessed_events:,} events unprocessed; did NOT keep up"
    print(f"  bus     {bus.postings_per_second:>10,.0f} postings/s  ({bus.postings:,} postings in "
          f"{bus.posted_events:,} events, {bus.seconds:.2f} s; {bus.workers} `python -m workers` x "
          f"{bus.jobs_per_worker} jobs; {result.amounts} amounts): "
          f"{keeps_up} with ingest ({result.ingest.per_second:,.0f} tx/s)")
    cost = f"CPU per posting: workers {bus.microseconds_per_posting(bus.worker_cpu_seconds):.0f} us"
    if bus.database_cpu_seconds is not None:
        cost += f", PostgreSQL {bus.microseconds_per_posting(bus.database_cpu_seconds):.0f} us"
    print(f"          handlers made {bus.feed_items:,} feed items ({bus.feed_item_events:,} FeedItemsCreated "
          f"events) and {bus.alert_triggers:,} alert triggers ({bus.deliveries:,} deliveries); {bus.events:,} "
          f"events in all; per posting {per['feed_items']:.3f} feed items, {per['alert_triggers']:.4f} alerts")
    load = "" if result.load_average is None else f"; load average {result.load_average:.1f} as it started"
    print(f"          {cost}{load}; {bus.wall_seconds:.1f} s with the workers' start-up; resent by the sweep "
          f"{bus.resent_events:,}, handler failures {bus.handler_failures:,}")
    if result.alongside is not None:
        _print_alongside(result.alongside)


def _print_alongside(run: AlongsideRun) -> None:
    bus, lag = run.bus, run.lag_seconds
    behind = [b for _, b in run.backlog]
    verdict = "kept up (backlog not growing)" if run.keeps_up else "did NOT keep up (backlog growing)"
    database = "" if bus.database_cpu_seconds is None else \
        f" + PostgreSQL {bus.microseconds_per_posting(bus.database_cpu_seconds):.0f}"
    print(f"  alongside: the same stream with the bus's workers running: ingest {run.ingest.per_second:,.0f} tx/s "
          f"({run.ingest.seconds:.2f} s), the last event processed {lag or 0:.2f} s after the stream's end: "
          f"{run.per_second:,.0f} tx/s with the bus; events behind (every {BACKLOG_SAMPLE_SECONDS} s): "
          f"max {max(behind, default=0)}, at the end {behind[-1] if behind else '-'}: {verdict}; workers "
          f"{bus.microseconds_per_posting(bus.worker_cpu_seconds):.0f}{database} us CPU per posting"
          f"{'' if bus.drained else ', NOT drained'}")


def _print_amounts_side_by_side(runs: list[AmountsRun]) -> None:
    print("  bus by amount profile (CPU per posting is steadier than postings/s on a shared machine):")
    print(f"    {'amounts':<11} {'ingest tx/s':>11} {'bus post/s':>10} {'feed/post':>9} {'alerts/post':>11} "
          f"{'CPU us/post workers+PG':>22} {'load':>5}  bus vs ingest")
    for run in runs:
        if run.bus is None:
            continue
        per = run.per_posting()
        database = "-" if per["database_cpu_us"] is None else f"{per['database_cpu_us']:.0f}"
        cpu = f"{per['worker_cpu_us']:.0f} + {database}"
        kept = "kept up" if run.bus_keeps_up else "did NOT keep up"
        load = "-" if run.load_average is None else f"{run.load_average:.1f}"
        print(f"    {run.amounts:<11} {run.ingest.per_second:>11,.0f} {run.bus.postings_per_second:>10,.0f} "
              f"{per['feed_items']:>9.3f} {per['alert_triggers']:>11.4f} {cpu:>22} {load:>5}  {kept}")


def print_skipped(backend: str, reason: str) -> None:
    print(f"\n== {backend}\n  skipped: {reason}")


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def insights_goals(backend: str, by_size: dict[int, BatchFigures]) -> dict[str, dict[str, Any]]:
    goals: dict[str, dict[str, Any]] = {}
    for users, figures in sorted(by_size.items()):
        goals[f"{users}_items_match_bare"] = {"goal": True, "value": figures.items_match, "met": figures.items_match}
        if users != GOAL_INSIGHTS_USERS:
            continue  # another size: for the memory comparison, and a reading
        ratio = figures.ratio_to_bare
        goals[f"{users}_ratio_to_bare"] = {"goal": GOAL_INSIGHTS_RATIO_TO_BARE, "value": round(ratio, 2),
                                           "met": ratio <= GOAL_INSIGHTS_RATIO_TO_BARE}
        if backend == "postgresql":
            goals[f"{users}_users_per_second"] = {"goal": GOAL_POSTGRES_USERS_PER_SECOND,
                                                  "value": round(figures.users_per_second),
                                                  "met": figures.users_per_second >= GOAL_POSTGRES_USERS_PER_SECOND}
    if len(by_size) > 1:
        smallest, largest = by_size[min(by_size)], by_size[max(by_size)]
        growth = max(largest.worker_peak_rss_bytes) / max(smallest.worker_peak_rss_bytes)
        goals["worker_rss_growth"] = {"goal": GOAL_RSS_GROWTH, "value": round(growth, 2),
                                      "met": growth <= GOAL_RSS_GROWTH}
    return goals


def print_insights(backend: str, figures: BatchFigures) -> None:
    mib = ", ".join(f"{p / 2**20:.0f}" for p in figures.worker_peak_rss_bytes)
    rate_goal = ratio_goal = ""
    if figures.users != GOAL_INSIGHTS_USERS:
        rate_goal = f"   (the goals are set for {GOAL_INSIGHTS_USERS:,} users)"
    else:
        ratio_goal = (f"   goal <= {GOAL_INSIGHTS_RATIO_TO_BARE:.0f}x: "
                      f"{_met(figures.ratio_to_bare <= GOAL_INSIGHTS_RATIO_TO_BARE)}")
        if backend == "postgresql":
            met = figures.users_per_second >= GOAL_POSTGRES_USERS_PER_SECOND
            rate_goal = f"   goal >= {GOAL_POSTGRES_USERS_PER_SECOND:,}: {_met(met)}"
    print(f"  {figures.users:>7,} users  {figures.users_per_second:>8,.0f} users/s ({figures.seconds:.2f} s, "
          f"{figures.items_generated:,} items, chunks of {figures.chunk_size:,}){rate_goal}")
    print(f"           bare INSERT ... SELECT {figures.bare_seconds:.2f} s ({figures.bare_items:,} rows): batch/bare "
          f"{figures.ratio_to_bare:.1f}x{ratio_goal}")
    cost = f"CPU per user: workers {figures.microseconds_per_user(figures.worker_cpu_seconds):.0f} us"
    if figures.database_cpu_seconds is not None:
        cost += f", PostgreSQL {figures.microseconds_per_user(figures.database_cpu_seconds):.0f} us"
    print(f"           {cost}; worker peak RSS {mib} MiB; data loaded in {figures.load_seconds:.0f} s (not timed)")
    print(f"           payloads of the first {figures.payloads_compared:,} users' items, batch vs bare: "
          f"{figures.payloads_differ:,} differ")
    if not figures.items_match:
        print(f"  !!! MISMATCH: the batch generated {figures.items_generated:,} items, the bare statement "
              f"{figures.bare_items:,} rows, {figures.payloads_differ:,} of {figures.payloads_compared:,} payloads "
              "differ: the two do not compute the same thing")


def print_rss_growth(goals: dict[str, dict[str, Any]]) -> None:
    growth = goals.get("worker_rss_growth")
    if growth:
        print(f"  worker peak RSS, largest size / smallest: {growth['value']:.2f}   goal <= {GOAL_RSS_GROWTH}: "
              f"{_met(growth['met'])}")
