"""Prometheus metrics as an operator's scraper reads them: the server's /metrics counts gRPC calls by
method and status code and times them; the workers' counts sends by channel, provider and outcome; the
Grafana dashboard in docs/ names only metrics the two processes expose."""

import asyncio
import signal
import sys

import httpx
from prometheus_client.parser import text_string_to_metric_families

from clients.stubs import connect
from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from server.metrics import serve_metrics
from tests.conftest import REPO_ROOT
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import failure
from tests.support.grafana import exposed_names, expressions, selected_metrics
from tests.support.ports import free_port
from tests.support.processes import process_env
from tests.support.yes_bank import add_customer, set_up_yes_bank

TRIGGER = "/engage.engagement.v1.EngagementService/TriggerEvent"


async def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with httpx.AsyncClient() as client:
        text = (await client.get(url)).text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_calls_and_sends_are_counted(server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    metrics = serve_metrics("127.0.0.1", 0)
    url = f"http://127.0.0.1:{metrics.port}/metrics"
    try:
        async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
            bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                         provider_base_url=provider_sink.base_url)
            await add_customer(service_stubs, bank.app, email="", push_token="")
            before = await scrape(url)
            await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
                event=bank.notice_event, customer_id="lisa-customer", data={"note": "hi"}))
            await failure(service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
                event="events/nope", customer_id="lisa-customer")))
            await run_worker(settings)
            after = await scrape(url)
    finally:
        metrics.stop()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("engage_rpc_requests_total", method=TRIGGER, code="OK") == 1
    assert grew("engage_rpc_requests_total", method=TRIGGER, code="NOT_FOUND") == 1
    assert grew("engage_rpc_duration_seconds_count", method=TRIGGER) == 2
    assert grew("engage_delivery_sends_total", channel="SMS", provider="twilio", outcome="SENT") == 1
    assert grew("engage_delivery_send_duration_seconds_count", channel="SMS", provider="twilio") == 1
    assert grew("engage_deliveries_recorded_total", channel="SMS", provider="twilio", state="SENT") == 1


async def _scrape_when_up(url: str) -> str:
    async with httpx.AsyncClient() as client:
        for _ in range(150):
            try:
                return (await client.get(url)).text
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


async def test_the_server_and_worker_processes_serve_their_metrics(server, tenant):
    grpc_port, server_metrics, worker_metrics = free_port(), free_port(), free_port()
    env = process_env(server.settings, ENGAGE_GRPC_PORT=str(grpc_port), ENGAGE_LOG_LEVEL="WARNING",
                      ENGAGE_METRICS_PORT=str(server_metrics), ENGAGE_WORKER_METRICS_PORT=str(worker_metrics))
    processes = [await asyncio.create_subprocess_exec(sys.executable, "-m", module, cwd=REPO_ROOT, env=env)
                 for module in ("server", "workers")]
    try:
        await _scrape_when_up(f"http://127.0.0.1:{server_metrics}/metrics")
        async with connect(f"127.0.0.1:{grpc_port}", server.token(tenant, Role.BANK_ADMIN)) as stubs:
            await stubs.engagement.ListApps(pb.ListAppsRequest())
        served = await scrape(f"http://127.0.0.1:{server_metrics}/metrics")
        assert value(served, "engage_rpc_requests_total",
                     method="/engage.engagement.v1.EngagementService/ListApps", code="OK") == 1
        worker_text = await _scrape_when_up(f"http://127.0.0.1:{worker_metrics}/metrics")
        assert "engage_delivery_sends" in worker_text
        async with httpx.AsyncClient() as client:
            server_text = (await client.get(f"http://127.0.0.1:{server_metrics}/metrics")).text
        # The Grafana dashboard graphs only what these two processes expose.
        exposed = exposed_names([*text_string_to_metric_families(server_text),
                                 *text_string_to_metric_families(worker_text)])
        for title, expr in expressions():
            assert selected_metrics(expr) <= exposed, (title, expr, selected_metrics(expr) - exposed)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        assert [await asyncio.wait_for(p.wait(), 30) for p in processes] == [0, 0]
