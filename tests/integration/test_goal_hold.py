"""The hold of target accounts taken before a unit of work writes (GoalsRepository.hold_accounts_before_writing),
on PostgreSQL (SQLite has one writer, whose first write is the hold): it waits for a holder without waiting
inside a statement, so that it keeps back no other transaction's cleanup, takes the hold once the holder
ends, and after its polite time waits in the lock queue like hold_accounts. What waits is read from
pg_stat_activity, not from a clock."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from server.bootstrap import Services
from server.store.uow import UnitOfWork

LOCK_WAITS = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
              "AND wait_event_type = 'Lock' AND wait_event = 'advisory'")


@pytest.fixture
def postgres_only(services: Services) -> None:
    if services.database.dialect != "postgresql":
        pytest.skip("the hold is PostgreSQL's advisory locks; SQLite's single writer holds everything")


async def _lock_waits(services: Services) -> int:
    async with services.database.sessions() as session:
        return int(await session.scalar(text(LOCK_WAITS)) or 0)


async def _until_a_lock_wait(services: Services) -> None:
    while True:
        if await _lock_waits(services):
            return
        await asyncio.sleep(0.01)


async def _wait_before_writing(services: Services, tenant: str, accounts: list[str], released: asyncio.Event,
                               polite_seconds: float = 30.0) -> frozenset[str] | None:
    """Takes the hold before writing, then reports whether the holder had let go by then."""
    async with UnitOfWork(services.database, tenant) as uow:
        await uow.goals.hold_accounts_before_writing(accounts, polite_seconds=polite_seconds)
        assert released.is_set(), "held while the holder still held"
        return uow.goals.held_before_writing


async def test_a_hold_before_writing_waits_outside_statements_until_the_holder_ends(
        services: Services, tenant: str, postgres_only: None) -> None:
    released = asyncio.Event()
    async with UnitOfWork(services.database, tenant) as holder:
        await holder.goals.hold_accounts(["a2", "a1"])
        waiter = asyncio.create_task(_wait_before_writing(services, tenant, ["a1", "a3"], released))
        for _ in range(20):  # waiting, and never in a statement that waits on the lock
            await asyncio.sleep(0.02)
            assert not waiter.done()
            assert await _lock_waits(services) == 0
        released.set()
    assert await asyncio.wait_for(waiter, 10) == frozenset({"a1", "a3"})


async def test_a_hold_before_writing_queues_like_hold_accounts_after_its_polite_time(
        services: Services, tenant: str, postgres_only: None) -> None:
    released = asyncio.Event()
    async with UnitOfWork(services.database, tenant) as holder:
        await holder.goals.hold_accounts(["a1"])
        waiter = asyncio.create_task(_wait_before_writing(services, tenant, ["a1"], released, polite_seconds=0.05))
        await asyncio.wait_for(_until_a_lock_wait(services), 10)  # in the lock queue now
        assert not waiter.done()
        released.set()
    assert await asyncio.wait_for(waiter, 10) == frozenset({"a1"})


async def test_a_hold_before_writing_of_free_accounts_is_taken_at_once_and_kept_to_the_end(
        services: Services, tenant: str, postgres_only: None) -> None:
    async with UnitOfWork(services.database, tenant) as first:
        await first.goals.hold_accounts_before_writing(["a1"])
        assert first.goals.held_before_writing == frozenset({"a1"})
        async with UnitOfWork(services.database, tenant) as second:  # a slot taken stays taken
            connection = await second.session.connection()
            taken = await connection.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
            assert taken.scalar() == 1


async def test_a_hold_before_writing_refuses_to_roll_back_what_its_unit_of_work_wrote(
        services: Services, tenant: str, postgres_only: None) -> None:
    async with UnitOfWork(services.database, tenant) as holder:
        await holder.goals.hold_accounts(["a1"])
        async with UnitOfWork(services.database, tenant) as writer:
            connection = await writer.session.connection()
            await connection.exec_driver_sql("CREATE TEMPORARY TABLE written (n int)")
            with pytest.raises(RuntimeError, match="after a write"):
                await asyncio.wait_for(writer.goals.hold_accounts_before_writing(["a1"]), 10)
            assert (await connection.exec_driver_sql("SELECT count(*) FROM written")).scalar() == 0
