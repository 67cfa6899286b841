"""An export's count is for a progress bar: one that runs past PostgreSQL's statement timeout leaves the
chunks' total_rows at 0 and the export goes on; any other failure of the count fails the export."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import text

from server.domain.auth import Caller, Role
from server.domain.pagination import Page, PageRequest
from server.domain.reporting.event_history import EventHistoryFilter
from server.domain.reporting.export_tables import EVENT_HISTORY
from server.services.reporting.event_history import EventHistoryService
from server.services.reporting.exports import ExportFormat, ExportService, ExportSource
from server.services.tenants import TenantService
from server.store.db import Database, open_database
from tests.support.history_seed import EVENT_ORDER, seed_history

ADMIN = Caller("bank", "lisa", Role.BANK_ADMIN)


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    opened = open_database(database_url)
    await TenantService(opened).create("bank", None, "UTC")
    await seed_history(opened, "bank")
    yield opened
    await opened.dispose()


def _source(database: Database, count_sql: str) -> ExportSource[object]:
    view = EventHistoryService(database)
    wanted = EventHistoryFilter()

    async def count(caller: Caller) -> int:
        async with database.sessions() as session:
            # A statement past its timeout, as a count of tens of millions of rows on a busy database.
            await session.execute(text("SET LOCAL statement_timeout = '20ms'"))
            return int((await session.execute(text(count_sql))).scalar_one())

    async def page(caller: Caller, asked: PageRequest) -> Page[object]:
        return await view.page(caller, wanted, asked)

    return ExportSource(EVENT_HISTORY, lambda token: view.page_request(wanted, 1, token), page, count)


async def test_a_count_past_the_timeout_leaves_the_total_at_zero(database: Database) -> None:
    if database.dialect != "postgresql":
        return  # SQLite has no statement timeout
    chunks = [chunk async for chunk in ExportService().export(
        ADMIN, _source(database, "SELECT 7 FROM pg_sleep(1)"), ExportFormat.JSONL, "", 4)]
    assert [chunk.total_rows for chunk in chunks] == [0, 0, 0]
    assert sum(chunk.row_count for chunk in chunks) == len(EVENT_ORDER)
    counted = [chunk async for chunk in ExportService().export(
        ADMIN, _source(database, "SELECT 7"), ExportFormat.JSONL, "", 4)]
    assert {chunk.total_rows for chunk in counted} == {7}


async def test_a_count_failing_otherwise_fails_the_export(database: Database) -> None:
    if database.dialect != "postgresql":
        return
    with pytest.raises(Exception, match="no_such_table"):
        _ = [chunk async for chunk in ExportService().export(
            ADMIN, _source(database, "SELECT count(*) FROM no_such_table"), ExportFormat.JSONL, "", 4)]
