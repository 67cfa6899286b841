"""A store outage played against a real `python -m server`: its DATABASE_URL goes through a TcpProxy that
the test cuts, while callers keep calling through the stubs and every answer is recorded (status,
ErrorInfo reason, RetryInfo delay, time taken). Used by tests/e2e/test_store_outage.py and by the
measured run of tests/bench/store_outage.py."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import grpc
from grpc_health.v1 import health_pb2

from clients.stubs import Stubs
from engage.ingest.v1 import ingest_service_pb2 as pb
from server.config import Settings
from tests.support.builders import customer, error_details, transaction
from tests.support.processes import process_env
from tests.support.stack import running_server
from tests.support.tcp_proxy import TcpProxy

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
# The callers' own deadline: far above any bound the server keeps, so that a call that hangs shows.
CALL_DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class Answer:
    method: str
    code: grpc.StatusCode
    reason: str
    retry_delay_seconds: float | None
    seconds: float


def answer_of(method: str, error: grpc.aio.AioRpcError | None, seconds: float) -> Answer:
    if error is None:
        return Answer(method, grpc.StatusCode.OK, "", None, seconds)
    details = error_details(error)
    reason = details["ErrorInfo"].reason if "ErrorInfo" in details else ""
    retry = details["RetryInfo"].retry_delay.ToTimedelta().total_seconds() if "RetryInfo" in details else None
    return Answer(method, error.code(), reason, retry, seconds)


def through(database_url: str, proxy: TcpProxy) -> str:
    """The database URL with the proxy's address in place of the database's."""
    parts = urlsplit(database_url)
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}@{proxy.address[0]}:{proxy.port}" if user else f"{proxy.address[0]}:{proxy.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def proxy_for(database_url: str) -> TcpProxy:
    parts = urlsplit(database_url)
    return await TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()


@contextlib.asynccontextmanager
async def server_through(settings: Settings, proxy: TcpProxy, **env: str) -> AsyncIterator[str]:
    """`python -m server` on the settings' database through the proxy; yields its address once SERVING."""
    environment = process_env(settings, DATABASE_URL=through(settings.database_url or "", proxy),
                              ENGAGE_LOG_LEVEL="WARNING", **env)
    async with running_server(environment) as (_, address):
        yield address


async def health(stubs: Stubs) -> int | None:
    """The server's overall health status, or None when it does not answer within a second."""
    try:
        return (await stubs.health.Check(health_pb2.HealthCheckRequest(), timeout=1)).status
    except grpc.aio.AioRpcError:
        return None


async def wait_for_health(stubs: Stubs, wanted: int, within: float) -> float:
    """Seconds until the server reports `wanted` (polled every 0.1 s); AssertionError past `within`."""
    started = time.monotonic()
    while await health(stubs) != wanted:
        if time.monotonic() - started > within:
            name = health_pb2.HealthCheckResponse.ServingStatus.Name(wanted)
            raise AssertionError(f"health not {name} within {within} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


# One call of the mix: (method, what to await), made from a sequence number (unique ids for writes).
Call = Callable[[int], tuple[str, Awaitable[object]]]


def call_mix(stubs: Stubs, prefix: str, customer_id: str, account_id: str) -> list[Call]:
    """Reads and writes of the ingest service: what a bank's loader does. Writes use ids starting with
    `prefix`, so that what they left behind can be counted."""

    def get_customer(_: int) -> tuple[str, Awaitable[object]]:
        return "GetCustomer", stubs.ingest.GetCustomer(pb.GetCustomerRequest(name=f"customers/{customer_id}"),
                                                       timeout=CALL_DEADLINE_SECONDS)

    def list_accounts(_: int) -> tuple[str, Awaitable[object]]:
        return "ListAccounts", stubs.ingest.ListAccounts(pb.ListAccountsRequest(), timeout=CALL_DEADLINE_SECONDS)

    def upsert_customer(n: int) -> tuple[str, Awaitable[object]]:
        return "UpsertCustomer", stubs.ingest.UpsertCustomer(
            pb.UpsertCustomerRequest(customer=customer(f"{prefix}-{n}")), timeout=CALL_DEADLINE_SECONDS)

    def ingest(n: int) -> tuple[str, Awaitable[object]]:
        async def batches() -> AsyncIterator[pb.IngestTransactionsRequest]:
            yield pb.IngestTransactionsRequest(transactions=[
                transaction(f"{prefix}-{n}-{i}", account_id, "1.00") for i in range(20)])

        return "IngestTransactions", stubs.ingest.IngestTransactions(batches(), timeout=CALL_DEADLINE_SECONDS)

    return [get_customer, list_accounts, upsert_customer, ingest]


async def keep_calling(calls: list[Call], seconds: float, callers: int = 4) -> list[Answer]:
    """`callers` concurrent callers going round the calls for `seconds` (a call started in time is
    awaited to its end); every answer."""
    answers: list[Answer] = []
    numbers = itertools.count()
    ends_at = time.monotonic() + seconds

    async def caller() -> None:
        while time.monotonic() < ends_at:
            n = next(numbers)
            method, call = calls[n % len(calls)](n)
            started = time.perf_counter()
            try:
                await call
                error = None
            except grpc.aio.AioRpcError as failed:
                error = failed
            answers.append(answer_of(method, error, time.perf_counter() - started))

    await asyncio.gather(*(caller() for _ in range(callers)))
    return answers
