"""The event history's CSV pages written by PostgreSQL (COPY) against the same pages formatted in Python
(csv_chunk of the List RPC's lines): the same bytes and the same page tokens, for every filter, order and
page size, and for text CSV must quote. Then the timestamp cell against timestamp_text for any instant."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator

import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import DateTime, literal, select

from server.domain.auth import Caller, Role
from server.domain.pagination import PageRequest
from server.domain.reporting.event_history import EventHistoryFilter, EventKind
from server.domain.reporting.export_columns import timestamp_text
from server.domain.reporting.export_formats import csv_chunk
from server.domain.reporting.export_tables import EVENT_HISTORY
from server.services.reporting.event_history import EventHistoryService
from server.services.tenants import TenantService
from server.store.csv_cells import timestamp_cell
from server.store.db import Database, open_database
from server.store.engagement_models import DeliveryRow
from tests.support.history_seed import EVENT_ORDER, T0, seed_history

ADMIN = Caller("bank", "lisa", Role.BANK_ADMIN)

# Text that CSV quotes or that databases treat specially, in the columns deliveries carry.
AWKWARD = ["a, b", 'say "hi"', "two\nlines", "ünïcödé €", "\\.", "\\N", " padded ", "'quote'", "tab\there",
           "back\\slash\\'$1 ' OR '1'='1"]


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    opened = open_database(database_url)
    tenants = TenantService(opened)
    await tenants.create("bank", None, "UTC")
    await tenants.create("other", None, "UTC")
    await seed_history(opened, "bank")
    await seed_history(opened, "other", "other-")
    yield opened
    await opened.dispose()


async def _awkward_deliveries(database: Database, with_carriage_return: bool = False) -> None:
    texts = AWKWARD + (["a\rb"] if with_carriage_return else [])
    async with database.sessions() as session:
        for index, text in enumerate(texts):
            # Fractions of 0, 3 and 6 digits, and one whose microseconds end in zeros.
            at = T0 + dt.timedelta(days=5, microseconds=[0, 123000, 123456, 100, 10][index % 5], seconds=index)
            session.add(DeliveryRow(
                delivery_id=f"x{index}", tenant_id="bank", trigger_key=f"k-x{index}", event_id=text[:40],
                customer_id=text, channel="EMAIL", provider="smtp", address="a@example.com", message_class="INFO",
                content={}, state="FAILED", next_attempt_at=at, created_at=at, updated_at=at, sent_at=at,
                error_code="", error_message=text, attempts=index))
        await session.commit()


def _sized(view: EventHistoryService, wanted: EventHistoryFilter, size: int, token: str) -> PageRequest:
    """The page after `token` (read as the List RPC reads it), of `size` rows as an export asks."""
    return PageRequest(size, view.page_request(wanted, 1, token).after)


async def _both_ways(view: EventHistoryService, wanted: EventHistoryFilter, size: int
                     ) -> tuple[list[tuple[bytes, str]], list[tuple[bytes, str]]]:
    """The view's pages of `size` as (CSV rows, next token): formatted in Python, and written by the database."""
    python: list[tuple[bytes, str]] = []
    token = ""
    while not python or token:
        page = await view.page(ADMIN, wanted, _sized(view, wanted, size, token))
        python.append((csv_chunk(EVENT_HISTORY, page.items, False), page.next_page_token))
        token = page.next_page_token
    copied: list[tuple[bytes, str]] = []
    while not copied or token:
        written = await view.csv_page(ADMIN, wanted, _sized(view, wanted, size, token), EVENT_HISTORY)
        copied.append((written.data, written.next_page_token))
        token = written.next_page_token
    return python, copied


FILTERS = [
    EventHistoryFilter(), EventHistoryFilter(newest_first=True),
    EventHistoryFilter(kinds=(EventKind.DELIVERY,)), EventHistoryFilter(kinds=(EventKind.JOURNEY_STEP,)),
    EventHistoryFilter(kinds=(EventKind.BANNER_CLICK, EventKind.RULE_FIRING), newest_first=True),
    EventHistoryFilter(customer_id="c2"), EventHistoryFilter(campaign_id="k1"),
    EventHistoryFilter(rule_id="r2"), EventHistoryFilter(journey_id="travel"),
    EventHistoryFilter(channels=("SMS", "EMAIL"), delivery_states=("FAILED",)),
    EventHistoryFilter(occur_dates=(dt.date(2026, 3, 2), None)),
    EventHistoryFilter(occur_dates=(None, dt.date(2026, 3, 1)), newest_first=True),
]


async def test_the_database_writes_the_pages_python_writes(database: Database, database_url: str) -> None:
    view = EventHistoryService(database)
    if not view.writes_csv:
        assert database_url.startswith("sqlite")  # SQLite has no COPY: its exports format in Python
        return
    await _awkward_deliveries(database)
    for wanted in FILTERS:
        for size in (1, 2, 3, 5, 100):
            python, copied = await _both_ways(view, wanted, size)
            assert copied == python, (wanted, size)
    for text in AWKWARD:  # each a filter value, written into COPY's statement as a literal
        wanted = EventHistoryFilter(customer_id=text, newest_first=True)
        python, copied = await _both_ways(view, wanted, 2)
        assert copied == python and len(b"".join(data for data, _ in copied).splitlines()) >= 1, text
    rows = list(csv.reader(io.StringIO(b"".join(data for data, _ in (await _both_ways(
        view, EventHistoryFilter(), 4))[1]).decode())))
    assert [row[1] for row in rows][:len(EVENT_ORDER)] == [event_id for _, event_id in EVENT_ORDER]
    assert {row[3] for row in rows} >= set(AWKWARD)  # customer_id: each awkward text read back as written


async def test_a_carriage_return_is_quoted_either_way(database: Database) -> None:
    """csv_chunk quotes every field of a page with a lone \r, COPY only that field: the bytes differ, the
    rows a CSV reader reads do not."""
    view = EventHistoryService(database)
    if not view.writes_csv:
        return
    await _awkward_deliveries(database, with_carriage_return=True)
    python, copied = await _both_ways(view, EventHistoryFilter(), 7)

    def read(pages: list[tuple[bytes, str]]) -> list[list[str]]:
        return list(csv.reader(io.StringIO(b"".join(data for data, _ in pages).decode(), newline="")))

    assert read(copied) == read(python)
    assert [token for _, token in copied] == [token for _, token in python]
    assert any("a\rb" in row for row in read(copied))  # the field with its \r read back whole


async def test_the_other_tenant_is_not_written(database: Database) -> None:
    view = EventHistoryService(database)
    if not view.writes_csv:
        return
    other = Caller("other", "lisa", Role.BANK_ADMIN)
    written = await view.csv_page(other, EventHistoryFilter(), _sized(view, EventHistoryFilter(), 100, ""),
                                  EVENT_HISTORY)
    ids = [row[1] for row in csv.reader(io.StringIO(written.data.decode()))]
    # The other tenant's deliveries are other-d1...: none of the bank's (d1...) is among them.
    assert len(ids) == len(EVENT_ORDER) and not any(event_id.startswith("d") for event_id in ids)
    assert written.next_page_token == ""


INSTANTS = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9999, 12, 30),
                        timezones=st.just(dt.UTC))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(instants=st.lists(INSTANTS, min_size=1, max_size=20))
async def test_the_timestamp_cell_is_timestamp_text(database: Database, instants: list[dt.datetime]) -> None:
    if database.dialect != "postgresql":
        return
    async with database.sessions() as session:
        for instant in instants:
            written = await session.scalar(select(timestamp_cell(literal(instant, DateTime(timezone=True)))))
            assert written == timestamp_text(instant)
