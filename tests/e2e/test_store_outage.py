"""PostgreSQL going away under a real `python -m server`, through a TCP proxy of the test's own
(tests/support/tcp_proxy.py): refused (nothing listens, open connections reset) and blackholed (nothing
answers). Every call during the cut is answered UNAVAILABLE with a stable reason and a RetryInfo, within
the configured bounds, never INTERNAL and never left to the caller's deadline; health goes NOT_SERVING
and SERVING again; nothing a failed call began is left behind, and the same call succeeds once the
database is back. Before: INTERNAL for every call while refused, and calls hanging to the caller's
deadline while blackholed."""

import asyncio
import datetime as dt
import time
from urllib.parse import urlsplit

import asyncpg
import grpc
import pytest
import pytest_asyncio

from clients.stubs import connect
from engage.ingest.v1 import ingest_service_pb2 as pb
from server.domain.auth import Role
from server.security.tokens import mint_token
from tests.support.builders import seed_accounts, transaction
from tests.support.outage import (
    NOT_SERVING,
    SERVING,
    answer_of,
    call_mix,
    keep_calling,
    proxy_for,
    server_through,
    wait_for_health,
)

pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("faults-timed")]

# Short bounds, so that the outages here last seconds (the defaults are measured by
# tests/bench/store_outage.py, see docs/faults.md).
CONNECT_SECONDS, POOL_SECONDS = 1.0, 1.0
FAST = {"ENGAGE_DB_CONNECT_TIMEOUT_SECONDS": str(CONNECT_SECONDS), "ENGAGE_DB_POOL_TIMEOUT_SECONDS": str(POOL_SECONDS),
        "ENGAGE_HEALTH_INTERVAL_SECONDS": "0.5", "ENGAGE_HEALTH_TIMEOUT_SECONDS": "1"}
DRIVER_MARGIN_SECONDS = 1.0  # server/store/db.py: the driver gives up this long after statement_timeout
SLACK_SECONDS = 1.0  # for a busy two-core machine


@pytest_asyncio.fixture
async def database_url(postgres_databases):
    """PostgreSQL only (the proxy stands between the server and it)."""
    if postgres_databases is None:
        pytest.skip("PostgreSQL is not running here")
    url = await postgres_databases.fresh()
    yield url
    await postgres_databases.drop(url)


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _rows(url: str, sql: str, *args: object) -> int:
    connection = await asyncpg.connect(_plain(url))
    try:
        return int(await connection.fetchval(sql, *args))
    finally:
        await connection.close()


async def _settled(url: str, within: float = 15.0) -> None:
    """Waits until no backend of the database is inside a transaction: a connection cut mid-write has
    been rolled back by PostgreSQL, so what it wrote can be counted."""
    name = urlsplit(url).path.lstrip("/")
    deadline = time.monotonic() + within
    while await _rows(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() "
                           "AND (xact_start IS NOT NULL OR wait_event_type = 'Lock')", name):
        assert time.monotonic() < deadline, "a backend stayed in its transaction"
        await asyncio.sleep(0.1)


async def _waiting_for_a_lock(url: str, within: float = 15.0) -> None:
    name = urlsplit(url).path.lstrip("/")
    deadline = time.monotonic() + within
    while not await _rows(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                               "AND wait_event_type = 'Lock'", name):
        assert time.monotonic() < deadline, "no statement came to wait for the lock"
        await asyncio.sleep(0.02)


async def _written(url: str, tenant: str, prefix: str) -> tuple[int, int]:
    """(customers, transactions) of the tenant whose ids start with the prefix."""
    customers = await _rows(url, "SELECT count(*) FROM customers WHERE tenant_id = $1 AND customer_id LIKE $2",
                            tenant, f"{prefix}%")
    transactions = await _rows(url, "SELECT count(*) FROM transactions WHERE tenant_id = $1 "
                                    "AND transaction_id LIKE $2", tenant, f"{prefix}%")
    return customers, transactions


def _token(settings, tenant: str) -> str:
    return mint_token(settings, tenant=tenant, role=Role.SERVICE, subject="loader", ttl=dt.timedelta(hours=1))


def _batch(prefix: str, count: int) -> pb.IngestTransactionsRequest:
    return pb.IngestTransactionsRequest(transactions=[transaction(f"{prefix}-{i}", "a1", "1.00") for i in range(count)])


async def _one_batch(request: pb.IngestTransactionsRequest):
    yield request


async def _call(method: str, call):
    started = time.perf_counter()
    try:
        await call
        return answer_of(method, None, time.perf_counter() - started)
    except grpc.aio.AioRpcError as error:
        return answer_of(method, error, time.perf_counter() - started)


async def test_a_refused_database_is_unavailable_with_retry_info_and_leaves_nothing_half_written(settings, tenant):
    url = settings.database_url
    proxy = await proxy_for(url)
    try:
        async with server_through(settings, proxy, ENGAGE_DB_STATEMENT_TIMEOUT_SECONDS="5", **FAST) as address, \
                connect(address, _token(settings, tenant)) as stubs:
            await seed_accounts(stubs, "c1", "a1")

            # A batch cut off halfway: its rows are inserted and it waits for the account's lock (held
            # here) to move the balance when the database goes away.
            locker = await asyncpg.connect(_plain(url))
            lock = locker.transaction()
            await lock.start()
            await locker.execute("SELECT 1 FROM accounts WHERE tenant_id = $1 AND account_id = 'a1' FOR UPDATE",
                                 tenant)
            halfway = asyncio.ensure_future(_call("IngestTransactions",
                                                  stubs.ingest.IngestTransactions(_one_batch(_batch("halfway", 50)))))
            await _waiting_for_a_lock(url)
            await proxy.set_mode("refuse")
            cut_off = await halfway
            await lock.rollback()
            await locker.close()

            answers, not_serving_after = await asyncio.gather(
                keep_calling(call_mix(stubs, "refused", "c1", "a1"), seconds=3),
                wait_for_health(stubs, NOT_SERVING, within=5))
            await proxy.set_mode("pass")
            serving_after = await wait_for_health(stubs, SERVING, within=10)
            after = [await _call(*make(n)) for n, make in enumerate(call_mix(stubs, "after", "c1", "a1"))]

            await _settled(url)
            left_behind = await _written(url, tenant, "halfway"), await _written(url, tenant, "refused")
            retried = await stubs.ingest.IngestTransactions(_one_batch(_batch("halfway", 50)))
            stored = await _written(url, tenant, "halfway")
    finally:
        await proxy.close()

    assert (cut_off.code, cut_off.reason, cut_off.retry_delay_seconds) == (
        grpc.StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE", 1.0), cut_off
    assert len(answers) >= 8
    assert [a for a in answers if a.code == grpc.StatusCode.INTERNAL] == []
    assert {(a.code, a.reason, a.retry_delay_seconds) for a in answers} == {
        (grpc.StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE", 1.0)}
    assert {a.method for a in answers} == {"GetCustomer", "ListAccounts", "UpsertCustomer", "IngestTransactions"}
    assert max(a.seconds for a in answers) < CONNECT_SECONDS + SLACK_SECONDS  # refused at once
    assert not_serving_after < 3
    assert serving_after < 3
    assert [a.code for a in after] == [grpc.StatusCode.OK] * 4, after
    assert left_behind == ((0, 0), (0, 0))
    assert retried.accepted_count == 50
    assert stored == (0, 50)


async def test_a_blackholed_database_is_unavailable_within_the_bounds(settings, tenant):
    statement_seconds = 1.0
    bound = POOL_SECONDS + statement_seconds + DRIVER_MARGIN_SECONDS + SLACK_SECONDS
    url = settings.database_url
    proxy = await proxy_for(url)
    try:
        async with server_through(settings, proxy, ENGAGE_DB_STATEMENT_TIMEOUT_SECONDS=str(statement_seconds),
                                  **FAST) as address, connect(address, _token(settings, tenant)) as stubs:
            await seed_accounts(stubs, "c1", "a1")
            await proxy.set_mode("blackhole")
            answers, not_serving_after = await asyncio.gather(
                keep_calling(call_mix(stubs, "blackholed", "c1", "a1"), seconds=4),
                wait_for_health(stubs, NOT_SERVING, within=5))
            await proxy.set_mode("pass")
            serving_after = await wait_for_health(stubs, SERVING, within=10)
            after = [await _call(*make(n)) for n, make in enumerate(call_mix(stubs, "after", "c1", "a1"))]

            await _settled(url)
            left_behind = await _written(url, tenant, "blackholed")
            # The ingest calls of the mix are numbered 3, 7, 11...: each is sent again.
            failed_ingests = [n for n in range(len(answers)) if n % 4 == 3]
            for n in failed_ingests:
                await stubs.ingest.IngestTransactions(_one_batch(pb.IngestTransactionsRequest(transactions=[
                    transaction(f"blackholed-{n}-{i}", "a1", "1.00") for i in range(20)])))
            stored = await _written(url, tenant, "blackholed")
    finally:
        await proxy.close()

    assert len(answers) >= 4
    assert [a for a in answers if a.code == grpc.StatusCode.INTERNAL] == []
    assert {a.code for a in answers} == {grpc.StatusCode.UNAVAILABLE}
    assert {a.reason for a in answers} <= {"STORE_UNAVAILABLE", "STORE_TIMEOUT"}
    assert all(a.retry_delay_seconds for a in answers)
    slowest = max(a.seconds for a in answers)
    assert slowest < bound, f"a call took {slowest:.2f} s, past the bound of {bound} s"
    assert not_serving_after < 3
    assert serving_after < 5
    assert [a.code for a in after] == [grpc.StatusCode.OK] * 4, after
    assert left_behind == (0, 0)
    assert stored == (0, 20 * len(failed_ingests))
