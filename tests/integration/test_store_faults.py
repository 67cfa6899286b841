"""The store's real faults, raised by the real libraries against real databases, and the kind each is
found to be (server/faults.py); with the bounds of open_database: nothing waits past its timeout, and a
unit of work that fails leaves nothing behind."""

import asyncio
import sqlite3
import time

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.faults import Fault, fault_of
from server.store.db import DRIVER_TIMEOUT_MARGIN_SECONDS, open_database
from tests.support.outage import through
from tests.support.ports import free_port
from tests.support.tcp_proxy import TcpProxy

SLACK_SECONDS = 0.5


@pytest_asyncio.fixture
async def postgres_url(postgres_databases):
    if postgres_databases is None:
        pytest.skip("PostgreSQL is not running here")
    url = await postgres_databases.fresh()
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    await connection.execute("CREATE TABLE fault_rows (id integer PRIMARY KEY)")
    await connection.execute("INSERT INTO fault_rows VALUES (1), (2)")
    await connection.close()
    yield url
    await postgres_databases.drop(url)


async def _failure(database, sql: str, *, write_first: bool = False) -> tuple[BaseException, float]:
    started = time.perf_counter()
    try:
        async with database.sessions() as session, session.begin():
            if write_first:
                await session.execute(text("INSERT INTO fault_rows VALUES (100)"))
            await session.execute(text(sql))
    except Exception as error:
        return error, time.perf_counter() - started
    raise AssertionError("the statement succeeded")


async def _count(database, where: str = "true") -> int:
    async with database.sessions() as session:
        return int((await session.execute(text(f"SELECT count(*) FROM fault_rows WHERE {where}"))).scalar_one())


async def test_a_refused_connection_is_store_unavailable():
    database = open_database(f"postgresql://postgres@127.0.0.1:{free_port()}/none", connect_timeout=1)
    try:
        error, _ = await _failure(database, "SELECT 1")
    finally:
        await database.dispose()
    assert isinstance(error, OSError)
    assert fault_of(error) is Fault.STORE_UNAVAILABLE


async def test_a_connect_that_gets_no_answer_ends_at_its_timeout_as_store_unavailable(postgres_url):
    proxy = await TcpProxy("127.0.0.1", 5432).start()
    await proxy.set_mode("blackhole")
    database = open_database(through(postgres_url, proxy), connect_timeout=0.3)
    try:
        error, seconds = await _failure(database, "SELECT 1")
    finally:
        await database.dispose()
        await proxy.close()
    assert isinstance(error, TimeoutError)
    assert fault_of(error) is Fault.STORE_UNAVAILABLE
    assert seconds < 0.3 + SLACK_SECONDS


async def test_a_statement_past_the_statement_timeout_is_store_timeout_and_its_writes_roll_back(postgres_url):
    database = open_database(postgres_url, statement_timeout=0.3)
    try:
        error, seconds = await _failure(database, "SELECT pg_sleep(2)", write_first=True)
        assert fault_of(error) is Fault.STORE_TIMEOUT
        assert seconds < 0.3 + SLACK_SECONDS  # PostgreSQL cancelled it, before the driver gave up
        assert await _count(database, "id = 100") == 0
        assert await _count(database) == 2  # and the pool's connections still work
    finally:
        await database.dispose()


async def test_a_database_gone_silent_is_store_timeout_and_its_connection_is_dropped_at_once(postgres_url):
    """The driver gives up on a statement a second after PostgreSQL would have cancelled it, and the
    connection is closed then (no rollback or orderly close waiting on a database that does not answer)."""
    proxy = await TcpProxy("127.0.0.1", 5432).start()
    database = open_database(through(postgres_url, proxy), connect_timeout=0.5, statement_timeout=0.3)
    try:
        assert await _count(database) == 2
        await proxy.set_mode("blackhole")
        error, seconds = await _failure(database, "SELECT 1", write_first=True)
        assert fault_of(error) is Fault.STORE_TIMEOUT
        assert seconds < 0.3 + DRIVER_TIMEOUT_MARGIN_SECONDS + SLACK_SECONDS
        await proxy.set_mode("pass")
        assert await _count(database) == 2
        assert await _count(database, "id = 100") == 0
    finally:
        await database.dispose()
        await proxy.close()


async def test_a_reset_connection_is_store_unavailable_and_the_pool_recovers(postgres_url):
    proxy = await TcpProxy("127.0.0.1", 5432).start()
    # A refused connection fails at once, whatever the timeout; the reconnect afterwards is a fresh
    # PostgreSQL session through the proxy, which on a busy CI machine took more than half a second.
    database = open_database(through(postgres_url, proxy), connect_timeout=5)
    try:
        assert await _count(database) == 2
        await proxy.set_mode("refuse")
        error, _ = await _failure(database, "SELECT 1")
        assert fault_of(error) is Fault.STORE_UNAVAILABLE
        await proxy.set_mode("pass")
        assert await _count(database) == 2  # the pooled connection, closed under the pool, is not handed out
    finally:
        await database.dispose()
        await proxy.close()


async def test_a_backend_terminated_by_the_server_is_store_unavailable(postgres_url):
    """As when PostgreSQL restarts or an administrator ends the session (57P01)."""
    database = open_database(postgres_url)
    try:
        async with database.sessions() as session:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            killer = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
            await killer.execute("SELECT pg_terminate_backend($1)", pid)
            await killer.close()
            with pytest.raises(Exception) as caught:
                await session.execute(text("SELECT 1"))
        assert fault_of(caught.value) is Fault.STORE_UNAVAILABLE
    finally:
        await database.dispose()


async def test_waiting_past_the_pool_timeout_is_store_unavailable(postgres_url):
    database = open_database(postgres_url, pool_size=1, pool_timeout=0.2)
    try:
        async with database.sessions() as holding:
            await holding.execute(text("SELECT 1"))  # the pool's only connection
            error, seconds = await _failure(database, "SELECT 1")
    finally:
        await database.dispose()
    assert fault_of(error) is Fault.STORE_UNAVAILABLE
    assert seconds < 0.2 + SLACK_SECONDS


async def test_a_deadlock_is_store_conflict(postgres_url):
    database = open_database(postgres_url)
    locked = [asyncio.Event(), asyncio.Event()]

    async def lock(first: int, second: int, mine: asyncio.Event, theirs: asyncio.Event) -> None:
        async with database.sessions() as session, session.begin():
            await session.execute(text(f"SELECT 1 FROM fault_rows WHERE id = {first} FOR UPDATE"))
            mine.set()
            await theirs.wait()
            await session.execute(text(f"SELECT 1 FROM fault_rows WHERE id = {second} FOR UPDATE"))

    try:
        outcomes = await asyncio.gather(lock(1, 2, locked[0], locked[1]), lock(2, 1, locked[1], locked[0]),
                                        return_exceptions=True)
    finally:
        await database.dispose()
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert len(errors) == 1  # PostgreSQL ends one of the two; the other goes on
    assert fault_of(errors[0]) is Fault.STORE_CONFLICT


async def test_a_locked_sqlite_database_is_store_busy(tmp_path):
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE fault_rows (id integer PRIMARY KEY)")
    holder.execute("BEGIN EXCLUSIVE")
    # The busy timeout cut short (Engage's own is 30 s): "database is locked" once it has passed.
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.1})
    try:
        with pytest.raises(Exception) as caught:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO fault_rows VALUES (1)"))
    finally:
        await engine.dispose()
        holder.close()
    assert "database is locked" in str(caught.value)
    assert fault_of(caught.value) is Fault.STORE_BUSY
