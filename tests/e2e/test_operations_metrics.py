"""What an operator graphs, scraped over HTTP from the server's /metrics as Prometheus would and parsed
with prometheus_client's parser: the queue's depth and oldest job read from Redis at scrape time, the
outbox's pending events and lag read from the database, and, after real work on the real arq worker
(EngageWorker, as `python -m workers` runs it), jobs by function and outcome, deliveries retried and
dead-lettered, webhook attempts retried, insights generated and rule firings, each moved by exactly what
was done."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from arq import ArqRedis, Retry, func
from sqlalchemy import func as sql_func
from sqlalchemy import select

from engage.engagement.v1 import engagement_service_pb2 as epb
from engage.insights.v1 import insights_service_pb2 as ipb
from server.domain.auth import Role
from server.metrics import ScrapeTimeFigures, serve_metrics
from server.metrics_sources import server_figures
from server.queue_status import read_queue_figures
from server.store.models import DomainEventRow
from tests.e2e.test_bank_notifications import _set_webhook, sink  # noqa: F401  (the bank's webhook endpoint)
from tests.e2e.test_metrics import scrape, value
from tests.e2e.test_trigger_firing import active_rule, banner, firings_of, ingest, notify, rule, with_account
from tests.support.builders import failure, transaction
from tests.support.yes_bank import add_customer, set_up_yes_bank
from workers.settings import worker_settings
from workers.worker import EngageWorker

TRIGGER = "/engage.engagement.v1.EngagementService/TriggerEvent"
TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """Two tries per delivery: the first temporary failure is retried, the second is a dead letter."""
    return settings.model_copy(update={"delivery_max_tries": 2})


# Jobs whose outcome the test decides, run by the same worker beside the real ones.
async def asks_again_once(ctx: dict[str, Any]) -> None:
    if ctx["job_try"] == 1:
        raise Retry(defer=0.01)


async def breaks(ctx: dict[str, Any]) -> None:
    raise ValueError("broken on purpose")


async def always_asks_again(ctx: dict[str, Any]) -> None:
    raise Retry(defer=0.01)


async def run_engage_worker(settings) -> None:  # type: ignore[no-untyped-def]
    configured = worker_settings(settings)
    worker = EngageWorker(**(configured | {
        "functions": [*configured["functions"], asks_again_once, breaks, func(always_asks_again, max_tries=2)],
        "burst": True, "poll_delay": 0, "handle_signals": False}))
    try:
        await worker.main()
    finally:
        await worker.close()


async def unprocessed_events(services) -> int:  # type: ignore[no-untyped-def]
    async with services.database.sessions() as session:
        return int(await session.scalar(select(sql_func.count()).select_from(DomainEventRow)
                                        .where(DomainEventRow.processed_at.is_(None))) or 0)


async def test_queue_outbox_jobs_deliveries_insights_and_firings(server, services, settings, tenant, service_stubs,
                                                                 smtp_sink, provider_sink, sink):  # noqa: F811
    metrics = serve_metrics("127.0.0.1", 0, [server_figures(services)])
    url = f"http://127.0.0.1:{metrics.port}/metrics"
    queue = settings.queue_name
    try:
        async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
            bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                         provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app, email="", push_token="")
        rule_name = await active_rule(server, tenant, "below_fifty", rule("balance < 50", banner("Running low"),
                                                                          notify("call them")))
        await _set_webhook(server, tenant, sink.url)
        sink.statuses = [503]  # the bank's endpoint refuses the firing's notification once
        account_id = await with_account(service_stubs, "alice")
        # The setup's domain events (customer and account changes), each announced as a job of its own.
        set_up = await unprocessed_events(services)
        assert set_up > 0
        before = await scrape(url)
        assert value(before, "engage_queue_up", queue=queue) == 1
        assert value(before, "engage_queue_jobs", queue=queue, state="queued") == set_up
        assert value(before, "engage_outbox_up") == 1
        assert value(before, "engage_outbox_pending_events") == set_up

        # N jobs on a queue no worker drains yet.
        for function in ("asks_again_once", "breaks", "always_asks_again"):
            await services.redis.enqueue_job(function, _queue_name=queue)
        await asyncio.sleep(0.01)  # the oldest job's age is counted in milliseconds
        queued = await scrape(url)
        assert value(queued, "engage_queue_jobs", queue=queue, state="queued") == set_up + 3
        assert value(queued, "engage_queue_jobs", queue=queue, state="running") == 0
        assert value(queued, "engage_queue_oldest_job_age_seconds", queue=queue) > 0

        # Postings: the outbox holds their events until a worker handles them.
        await ingest(service_stubs, transaction("t1", account_id, "150.00", "CREDIT", TODAY),
                     transaction("t2", account_id, "120.00", "DEBIT", TODAY))
        pending = await unprocessed_events(services)
        assert pending > 0
        await asyncio.sleep(0.01)
        lagging = await scrape(url)
        assert value(lagging, "engage_outbox_pending_events") == pending
        assert value(lagging, "engage_outbox_oldest_pending_age_seconds") > 0
        # The batch's job waits ENGAGE_BUS_GATHER_SECONDS (deferred) before it is due (queued).
        assert (value(lagging, "engage_queue_jobs", queue=queue, state="queued")
                + value(lagging, "engage_queue_jobs", queue=queue, state="deferred")) == pending + 3
        await asyncio.sleep(settings.bus_gather_seconds)
        gathered = await scrape(url)
        assert value(gathered, "engage_queue_jobs", queue=queue, state="queued") == pending + 3

        # A delivery whose both tries the provider refuses for now, and a call refused.
        provider_sink.script("twilio", [503, 503])
        await service_stubs.engagement.TriggerEvent(epb.TriggerEventRequest(
            event=bank.notice_event, customer_id="lisa-customer", data={"note": "hi"}))
        await failure(service_stubs.engagement.TriggerEvent(epb.TriggerEventRequest(
            event="events/nope", customer_id="lisa-customer")))
        await run_engage_worker(settings)
        after = await scrape(url)
        feed = await service_stubs.insights.GetFeed(ipb.GetFeedRequest(customer_id="alice"))
        firings = await firings_of(server, tenant, rule_name)
    finally:
        metrics.stop()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("engage_rpc_requests_total", method=TRIGGER, code="OK") == 1
    assert grew("engage_rpc_requests_total", method=TRIGGER, code="NOT_FOUND") == 1
    # Jobs by function and outcome: a retry then ok; a failure; two retries and then out of tries (its
    # function not run a third time, so two durations).
    assert grew("engage_jobs_total", function="asks_again_once", outcome="retry") == 1
    assert grew("engage_jobs_total", function="asks_again_once", outcome="ok") == 1
    assert grew("engage_job_duration_seconds_count", function="asks_again_once") == 2
    assert grew("engage_jobs_total", function="breaks", outcome="failed") == 1
    assert grew("engage_jobs_total", function="always_asks_again", outcome="retry") == 2
    assert grew("engage_jobs_total", function="always_asks_again", outcome="failed") == 1
    assert grew("engage_job_duration_seconds_count", function="always_asks_again") == 2
    assert grew("engage_jobs_total", function="process_domain_event", outcome="ok") == pending
    assert grew("engage_jobs_total", function="process_domain_event", outcome="failed") == 0
    # The delivery: tried, retried, dead-lettered.
    assert grew("engage_delivery_sends_total", channel="SMS", provider="twilio", outcome="TEMPORARY_FAILURE") == 2
    assert grew("engage_deliveries_recorded_total", channel="SMS", provider="twilio", state="QUEUED") == 1
    assert grew("engage_deliveries_recorded_total", channel="SMS", provider="twilio", state="DEAD_LETTER") == 1
    # What the postings generated, as the feed and the rule's firings show it.
    generated = [item.insight_name for item in feed.feed]
    assert generated, "the debit leaves 30.00: below the low-balance warning's 100.00"
    for name in set(generated):
        assert grew("engage_insights_generated_total", insight=name, origin="EVENT") == generated.count(name)
    assert len(firings) == 1
    assert grew("engage_rule_firings_total", tenant=tenant, rule="below_fifty") == 1
    # Its notification to the bank's webhook: refused, retried, delivered.
    assert len(sink.requests) == 2
    assert grew("engage_webhook_attempts_total", status="PENDING") == 1
    assert grew("engage_webhook_attempts_total", status="DELIVERED") == 1
    assert grew("engage_webhook_attempts_total", status="FAILED") == 0
    # All handled: nothing waits.
    assert value(after, "engage_outbox_pending_events") == 0
    assert value(after, "engage_outbox_oldest_pending_age_seconds") == 0
    assert value(after, "engage_queue_jobs", queue=queue, state="queued") == 0


async def test_a_redis_that_does_not_answer_does_not_hold_the_scrape(services, settings):
    """A Redis that takes the connection and never answers: the scrape still answers, within the read's
    bound, with the queue reported down and the outbox's figures read all the same."""

    connections: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)  # reads nothing, answers nothing

    silent_redis = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = silent_redis.sockets[0].getsockname()[1]
    unanswering = ArqRedis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    figures = ScrapeTimeFigures(asyncio.get_running_loop(), settings.queue_name,
                                lambda: read_queue_figures(unanswering, settings.queue_name, dt.datetime.now(dt.UTC)),
                                services.bus.outbox_figures)
    metrics = serve_metrics("127.0.0.1", 0, [figures])
    try:
        scraped = await scrape(f"http://127.0.0.1:{metrics.port}/metrics")
    finally:
        metrics.stop()
        await unanswering.aclose()
        for connection in connections:
            connection.close()
            await connection.wait_closed()
        silent_redis.close()
        await silent_redis.wait_closed()
    assert value(scraped, "engage_queue_up", queue=settings.queue_name) == 0
    assert (settings.queue_name, "queued") not in {
        (dict(labels).get("queue"), dict(labels).get("state")) for name, labels in scraped
        if name == "engage_queue_jobs"}
    assert value(scraped, "engage_outbox_up") == 1
    assert ("engage_outbox_pending_events", frozenset()) in scraped
