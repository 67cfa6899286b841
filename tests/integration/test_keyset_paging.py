"""The store's keyset paging on both databases: following pages as the list services do (one row more
than the page, the next page after the last row's key) yields every row exactly once and in the key's
order, whatever the rows, the page size and the direction, with many rows tied on the first column."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, String, Table, delete, insert, select

from server.store.db import Database, open_database
from server.store.keyset import keyset_page
from server.store.types import UTCDateTime

metadata = MetaData()
probe = Table("keyset_probe", metadata,
              Column("item_id", String(16), primary_key=True),
              Column("at", UTCDateTime(), nullable=False),
              Column("shown", Integer, nullable=False))

# Few distinct instants, so that most rows tie on the first key column; some differ only in
# microseconds, and one is written in another offset (the store keeps UTC).
BASE = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
INSTANTS = [BASE, BASE + dt.timedelta(microseconds=1), BASE + dt.timedelta(seconds=1),
            (BASE + dt.timedelta(hours=1)).astimezone(dt.timezone(dt.timedelta(hours=2)))]
# Lower-case letters: every collation orders them as Python does.
ids = st.text(alphabet="abcdefgh", min_size=1, max_size=5)
rows = st.dictionaries(ids, st.tuples(st.sampled_from(INSTANTS), st.booleans()), max_size=40)


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    opened = open_database(database_url)
    async with opened.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield opened
    await opened.dispose()


async def _page_through(database: Database, columns: list[Any], size: int, descending: bool) -> list[str]:
    """The ids of the shown rows, page after page, as a list service returns them."""
    seen: list[str] = []
    after = None
    async with database.sessions() as session:
        for _ in range(100):
            query = select(probe).where(probe.c.shown == 1)
            found = (await session.execute(keyset_page(query, columns, after, size + 1, descending=descending))).all()
            page = found[:size]
            seen.extend(row.item_id for row in page)
            if len(found) <= size:
                return seen
            after = tuple(getattr(page[-1], column.key) for column in columns)
    raise AssertionError("paging did not end")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows, size=st.integers(1, 7), descending=st.booleans(), two_columns=st.booleans())
async def test_paging_yields_every_row_once_in_key_order(database: Database, rows: dict[str, tuple[dt.datetime, bool]],
                                                         size: int, descending: bool, two_columns: bool) -> None:
    async with database.sessions() as session:  # each example starts from its own rows
        await session.execute(delete(probe))
        if rows:
            await session.execute(insert(probe), [{"item_id": item_id, "at": at, "shown": int(shown)}
                                                  for item_id, (at, shown) in rows.items()])
        await session.commit()
    columns = [probe.c.at, probe.c.item_id] if two_columns else [probe.c.item_id]

    def key(item_id: str) -> tuple[Any, ...]:
        return (rows[item_id][0], item_id) if two_columns else (item_id,)

    expected = sorted((i for i, (_, shown) in rows.items() if shown), key=key, reverse=descending)
    assert await _page_through(database, columns, size, descending) == expected


def test_the_key_and_the_after_values_must_match() -> None:
    with pytest.raises(ValueError):
        keyset_page(select(probe), [probe.c.at, probe.c.item_id], ("a",), 5)
    with pytest.raises(ValueError):
        keyset_page(select(probe), [], None, 5)
