"""Pooled PostgreSQL connections that died while idle (a database restart, a killed backend) are
found before use and replaced, so the request that takes them does not fail: by the ping after the idle
window, and at once when the connection saw its own close. (One that died silently within the window,
a dropped network, reaches the request: tests/integration/test_store_faults.py.)"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import func, literal, select, text

from server.store import driver
from server.store.db import open_database
from tests.support.databases import PostgresDatabases


async def _kill_pooled_backend(databases: PostgresDatabases, url: str, idle_seconds_before_ping: float) -> int:
    """Opens a pool of one connection, kills its backend from outside, then asks the pool for a
    connection again and returns what it answers."""
    database = open_database(url, pool_size=1, idle_seconds_before_ping=idle_seconds_before_ping)
    try:
        async with database.engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await databases.admin(f"SELECT pg_terminate_backend({pid})")
        await asyncio.sleep(0.2)
        async with database.engine.connect() as connection:
            return int((await connection.execute(text("SELECT 1"))).scalar_one())
    finally:
        await database.dispose()


@pytest.fixture
async def postgres(postgres_databases: PostgresDatabases | None) -> PostgresDatabases:
    if postgres_databases is None:
        pytest.skip("PostgreSQL is not running here")
    return postgres_databases


async def test_a_connection_that_died_while_idle_is_replaced_before_use(postgres: PostgresDatabases) -> None:
    url = await postgres.fresh()
    try:
        assert await _kill_pooled_backend(postgres, url, idle_seconds_before_ping=0.0) == 1
    finally:
        await postgres.drop(url)


async def test_a_connection_the_server_closed_is_replaced_within_the_window_too(postgres: PostgresDatabases) -> None:
    # No ping inside the window, but a terminated backend closes its socket, and the driver has seen
    # that: the pool drops the connection without a round trip (before, the request failed).
    url = await postgres.fresh()
    try:
        assert await _kill_pooled_backend(postgres, url, idle_seconds_before_ping=60.0) == 1
    finally:
        await postgres.drop(url)


async def test_a_connection_lost_under_a_driver_statement_is_not_handed_out_again(
        postgres: PostgresDatabases) -> None:
    # Statements of server/store/driver.py run on asyncpg's connection, beneath SQLAlchemy's error
    # handling: a connection lost there must still be dropped from the pool.
    url = await postgres.fresh()
    database = open_database(url, pool_size=1, idle_seconds_before_ping=60.0)
    one = select(literal(1))
    try:
        async with database.sessions() as session:
            connection = await session.connection()
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            sleeping = asyncio.ensure_future(driver.fetch_all(session, select(func.pg_sleep(5)), {}))
            await asyncio.sleep(0.3)
            await postgres.admin(f"SELECT pg_terminate_backend({pid})")  # while its statement runs
            with pytest.raises((OSError, asyncpg.PostgresError, asyncpg.InterfaceError)):
                await sleeping
            assert connection.invalidated
        async with database.sessions() as session:
            assert await driver.fetch_all(session, one, {}) == [(1,)]
    finally:
        await database.dispose()
        await postgres.drop(url)
