"""Health, reflection, explicit limits and graceful shutdown of the real server."""

import asyncio
import dataclasses
import signal
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from clients.stubs import connect
from engage.ingest.v1 import ingest_service_pb2 as pb
from server.app import build_server
from tests.conftest import REPO_ROOT
from tests.support.builders import customer, failure, seed_accounts, transaction
from tests.support.ports import free_port
from tests.support.processes import process_env

# Also on SQLite: this path goes through SQLite's own store code (tests/conftest.py).
pytestmark = pytest.mark.sqlite_too


async def test_health_needs_no_token_and_reports_serving(server):
    async with connect(server.address) as stubs:
        overall = await stubs.health.Check(health_pb2.HealthCheckRequest())
        ingest = await stubs.health.Check(health_pb2.HealthCheckRequest(service="engage.ingest.v1.IngestService"))
    assert overall.status == ingest.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_every_service(server):
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def ask():
            yield reflection_pb2.ServerReflectionRequest(list_services="")
            yield reflection_pb2.ServerReflectionRequest(file_containing_symbol="engage.ingest.v1.IngestService")

        answers = [answer async for answer in stub.ServerReflectionInfo(ask())]
    names = {s.name for s in answers[0].list_services_response.service}
    assert {"engage.ingest.v1.IngestService", "grpc.health.v1.Health"} <= names
    assert answers[1].file_descriptor_response.file_descriptor_proto


async def _limited_server(services, **limits):
    limited = dataclasses.replace(services, settings=services.settings.model_copy(update=limits))
    grpc_server, port, _ = build_server(limited, "127.0.0.1:0")
    await grpc_server.start()
    return grpc_server, f"127.0.0.1:{port}"


async def test_calls_past_the_concurrency_limit_are_resource_exhausted(server, services, tenant):
    grpc_server, address = await _limited_server(services, max_concurrent_rpcs=1)
    release = asyncio.Event()

    async def slow_stream():
        await release.wait()
        yield pb.IngestTransactionsRequest()

    try:
        async with connect(address, server.token(tenant)) as stubs:
            holding = stubs.ingest.IngestTransactions(slow_stream())
            await asyncio.sleep(0.3)  # let the first call take the only slot
            code, _, _ = await failure(stubs.ingest.ListCustomers(pb.ListCustomersRequest()))
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
            release.set()
            assert (await holding).accepted_count == 0
            await stubs.ingest.ListCustomers(pb.ListCustomersRequest())  # a free slot again
    finally:
        await grpc_server.stop(1)


async def test_oversized_messages_are_refused(server, services, tenant):
    grpc_server, address = await _limited_server(services, max_receive_message_bytes=4096)
    try:
        async with connect(address, server.token(tenant)) as stubs:
            big = customer("c1", notes="x" * 10_000)
            code, _, _ = await failure(stubs.ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=big)))
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
            await stubs.ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=customer("c1")))
    finally:
        await grpc_server.stop(1)


@pytest.mark.parametrize("event_loop", ["uvloop", "asyncio"])
async def test_sigterm_lets_the_call_in_flight_finish(server, services, tenant, service_stubs, event_loop):
    """`python -m server` as its own process, on either event loop: SIGTERM mid-stream, the stream
    still completes."""
    await seed_accounts(service_stubs, "c1", "a1")
    port = free_port()
    env = process_env(server.settings, ENGAGE_GRPC_PORT=str(port), ENGAGE_LOG_LEVEL="WARNING",
                      ENGAGE_SHUTDOWN_GRACE_SECONDS="20", ENGAGE_EVENT_LOOP=event_loop)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "server", cwd=REPO_ROOT, env=env)
    try:
        async with connect(f"127.0.0.1:{port}", server.token(tenant)) as stubs:
            for _ in range(100):
                try:
                    reply = await stubs.health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.aio.AioRpcError:
                    pass
                await asyncio.sleep(0.1)
            first_sent, go_on = asyncio.Event(), asyncio.Event()

            async def batches():
                yield pb.IngestTransactionsRequest(transactions=[transaction("s1", "a1", "1.00")])
                first_sent.set()
                await go_on.wait()
                yield pb.IngestTransactionsRequest(transactions=[transaction("s2", "a1", "2.00")])

            call = stubs.ingest.IngestTransactions(batches())
            await first_sent.wait()
            await asyncio.sleep(0.3)
            process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            go_on.set()
            response = await call
        assert response.accepted_count == 2
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
