"""Prometheus metrics of the server and the workers, each process serving its own registry on a port of
its own (ENGAGE_METRICS_PORT, ENGAGE_WORKER_METRICS_PORT; 0 = off). One place defines them; each is
recorded in one place: the RPC interceptor, the workers' channel gateway and job runner, the services
through their ActivityMetrics port (the adapter below), and, read when scraped, the queue in Redis and
the outbox in the database (the server's ScrapeTimeFigures). docs/operations-metrics.md lists them."""

from __future__ import annotations

import asyncio
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from server.domain.engagement.entities import Delivery, DeliveryState
from server.domain.insights.feed import Origin
from server.domain.operations import OutboxFigures, QueueFigures

RPC_REQUESTS = Counter("engage_rpc_requests", "gRPC calls answered, by method and status code",
                       ["method", "code"])
RPC_SECONDS = Histogram("engage_rpc_duration_seconds", "Time to answer a gRPC call, by method", ["method"],
                        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LOOP_LAG_SECONDS = Histogram("engage_event_loop_lag_seconds", "How much later than due the server's event loop ran "
                             "a timer: what every call waits behind the work before it (server.loop_watch)",
                             buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
GC_PAUSE_SECONDS = Histogram("engage_gc_pause_seconds", "Garbage collections of the process and how long each "
                             "stopped it, by generation (server.loop_watch)", ["generation"],
                             buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25))
SENDS = Counter("engage_delivery_sends", "Sends to a provider, by channel, provider and outcome (SENT, "
                "TEMPORARY_FAILURE: tried again later, PERMANENT_FAILURE)", ["channel", "provider", "outcome"])
DELIVERIES_RECORDED = Counter(
    "engage_deliveries_recorded", "Outcomes recorded by the workers, by channel, provider and the delivery's new "
    "state: QUEUED (to be tried again), SENT, FAILED, DEAD_LETTER (out of tries)", ["channel", "provider", "state"])
SEND_SECONDS = Histogram("engage_delivery_send_duration_seconds", "Time a provider took to take a message",
                         ["channel", "provider"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
JOBS = Counter("engage_jobs", "arq jobs run, by function and outcome: ok, retry (the job asked to run again), "
               "cancelled (stopped with its worker; run again), failed (raised, timed out, or out of tries)",
               ["function", "outcome"])
JOB_SECONDS = Histogram("engage_job_duration_seconds", "Time a job's function ran, by function", ["function"],
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
INSIGHTS_GENERATED = Counter("engage_insights_generated", "Insights generated (feed items committed), by insight "
                             "and origin: SCHEDULE (a batch), EVENT (a posting), ON_DEMAND", ["insight", "origin"])
RULE_FIRINGS = Counter("engage_rule_firings", "Trigger rule firings committed, by tenant and rule", ["tenant", "rule"])
WEBHOOK_ATTEMPTS = Counter("engage_webhook_attempts", "Bank-notification webhook POSTs, by the delivery's status "
                           "after it: DELIVERED, PENDING (to be retried), FAILED (out of tries)", ["status"])

T = TypeVar("T")

# A scrape waits at most this long for Redis and the database; past it the figures say they are not up.
SCRAPE_READ_TIMEOUT_SECONDS = 2.0


def count_recorded(delivery: Delivery, state: DeliveryState) -> None:
    DELIVERIES_RECORDED.labels(str(delivery.channel), delivery.provider, str(state)).inc()


def count_job(function: str, outcome: str, seconds: float | None) -> None:
    """One job's end (workers.worker); `seconds` None: its function never ran (expired, out of tries)."""
    JOBS.labels(function, outcome).inc()
    if seconds is not None:
        JOB_SECONDS.labels(function).observe(seconds)


class PrometheusActivityMetrics:
    """server.services.activity_metrics.ActivityMetrics, counted in this process's registry."""

    def insights_generated(self, origin: Origin, insight_names: Iterable[str]) -> None:
        for name, count in Tally(insight_names).items():
            INSIGHTS_GENERATED.labels(name, origin.value).inc(count)

    def rules_fired(self, tenant_id: str, rule_ids: Iterable[str]) -> None:
        for rule_id, count in Tally(rule_ids).items():
            RULE_FIRINGS.labels(tenant_id, rule_id).inc(count)

    def webhook_attempted(self, status: str) -> None:
        WEBHOOK_ATTEMPTS.labels(status).inc()


class ScrapeTimeFigures(Collector):
    """The queue (Redis) and the outbox (database) as they are when Prometheus scrapes, read on the
    process's event loop from the metrics thread. Registered by the server alone: every worker would
    export the same deployment-wide figures again. A read that does not answer within
    SCRAPE_READ_TIMEOUT_SECONDS (a slow Redis, a busy database, a blocked loop) is reported as not up
    rather than holding the scrape."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue_name: str,
                 read_queue: Callable[[], Awaitable[QueueFigures]],
                 read_outbox: Callable[[], Awaitable[OutboxFigures]]) -> None:
        self._loop = loop
        self._queue_name = queue_name
        self._read_queue = read_queue
        self._read_outbox = read_outbox

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return _families(QueueFigures(self._queue_name, reachable=False), OutboxFigures(readable=False),
                         with_samples=False)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        queue, outbox = self._read()
        return _families(queue, outbox, with_samples=True)

    def _read(self) -> tuple[QueueFigures, OutboxFigures]:
        async def both() -> tuple[QueueFigures, OutboxFigures]:
            queue, outbox = await asyncio.gather(self._bounded(self._read_queue()),
                                                 self._bounded(self._read_outbox()), return_exceptions=True)
            return (queue if isinstance(queue, QueueFigures) else QueueFigures(self._queue_name, False, repr(queue)),
                    outbox if isinstance(outbox, OutboxFigures) else OutboxFigures(False, repr(outbox)))

        future = asyncio.run_coroutine_threadsafe(both(), self._loop)
        try:
            return future.result(SCRAPE_READ_TIMEOUT_SECONDS + 1)  # the loop itself did not get to it
        except Exception as exc:
            future.cancel()
            return QueueFigures(self._queue_name, False, repr(exc)), OutboxFigures(False, repr(exc))

    @staticmethod
    async def _bounded(read: Awaitable[T]) -> T:
        async with asyncio.timeout(SCRAPE_READ_TIMEOUT_SECONDS):
            return await read


def _families(queue: QueueFigures, outbox: OutboxFigures, *, with_samples: bool) -> Iterator[GaugeMetricFamily]:
    name = [queue.queue_name]
    up = GaugeMetricFamily("engage_queue_up", "1 when Redis answered this scrape's read of the queue, else 0",
                           labels=["queue"])
    jobs = GaugeMetricFamily("engage_queue_jobs", "Jobs in the arq queue, by state: queued (due, waiting for a "
                             "worker), running, deferred (due later)", labels=["queue", "state"])
    oldest = GaugeMetricFamily("engage_queue_oldest_job_age_seconds", "How long the oldest due job not yet "
                               "running has waited (0 when none waits)", labels=["queue"])
    outbox_up = GaugeMetricFamily("engage_outbox_up", "1 when the database answered this scrape's read of the "
                                  "outbox, else 0")
    pending = GaugeMetricFamily("engage_outbox_pending_events", "Domain events committed and not yet handled by "
                                "every handler (abandoned ones apart; counted up to 100,000)")
    lag = GaugeMetricFamily("engage_outbox_oldest_pending_age_seconds", "Age of the oldest pending domain event: "
                            "the outbox's lag (0 when none is pending)")
    abandoned = GaugeMetricFamily("engage_outbox_abandoned_events", "Domain events given up after their resends "
                                  "(the outbox's dead letters; counted up to 100,000)")
    if with_samples:
        up.add_metric(name, 1 if queue.reachable else 0)
        outbox_up.add_metric([], 1 if outbox.readable else 0)
        if queue.reachable:
            for state, count in (("queued", queue.queued), ("running", queue.running), ("deferred", queue.deferred)):
                jobs.add_metric([*name, state], count)
            oldest.add_metric(name, queue.oldest_queued_age.total_seconds())
        if outbox.readable:
            pending.add_metric([], outbox.pending)
            lag.add_metric([], outbox.oldest_pending_age.total_seconds())
            abandoned.add_metric([], outbox.abandoned)
    yield from (up, jobs, oldest, outbox_up, pending, lag, abandoned)


@dataclass(frozen=True)
class MetricsEndpoint:
    port: int  # the one bound: the port asked for, or the OS's choice for 0
    stop: Callable[[], None]  # closes the socket and unregisters the endpoint's collectors


def serve_metrics(host: str, port: int, collectors: Sequence[Collector] = ()) -> MetricsEndpoint:
    """Serves this process's registry at /metrics in a thread of its own, with `collectors` in it while
    it serves."""
    for collector in collectors:
        REGISTRY.register(collector)
    server, thread = start_http_server(port, addr=host)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()
        for collector in collectors:
            REGISTRY.unregister(collector)

    return MetricsEndpoint(server.server_port, stop)
