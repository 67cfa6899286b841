"""The insight history's export counts its rows: each chunk's total_rows is the number of rows the export
holds, with the view's filters, and never another tenant's. The seeded rows: tests/support/history_seed.py."""

from __future__ import annotations

import csv
import io

import pytest

from engage.reporting.v1 import exports_pb2 as pb
from engage.reporting.v1 import insight_history_pb2 as insights
from engage.type.v1 import date_pb2
from server.domain.auth import Role
from tests.support.history_seed import seed_history

# Also on SQLite: the count is its own query, on each database (tests/conftest.py).
pytestmark = pytest.mark.sqlite_too

MARCH_1 = date_pb2.Date(year=2026, month=3, day=1)

# (filters, the feed items exported)
FILTERS = [
    (insights.ListInsightHistoryRequest(), ["fi1", "fi2", "fi3", "fi4"]),
    (insights.ListInsightHistoryRequest(customer_id="c1", insight="GOAL_TRACKER", order_by="create_time desc"),
     ["fi4", "fi3"]),
    (insights.ListInsightHistoryRequest(origin=insights.INSIGHT_ORIGIN_SCHEDULE), ["fi1"]),
    (insights.ListInsightHistoryRequest(interaction=insights.INTERACTION_KIND_VIEWED), ["fi1"]),
    (insights.ListInsightHistoryRequest(create_date_range=date_pb2.DateRange(start_date=MARCH_1, end_date=MARCH_1)),
     ["fi1", "fi2", "fi3"]),
    (insights.ListInsightHistoryRequest(customer_id="c2", interaction=insights.INTERACTION_KIND_CLICKED), []),
]


@pytest.mark.parametrize(("wanted", "expected"), FILTERS)
async def test_each_chunk_carries_the_rows_the_export_holds(server, services, tenant, wanted, expected):
    await seed_history(services.database, tenant)
    other = (await services.tenants.create(f"bank-{tenant}-other")).tenant_id
    await seed_history(services.database, other, delivery_prefix="other-")
    wanted.page_size = 1
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as stubs:
        chunks = [chunk async for chunk in stubs.reporting.ExportView(
            pb.ExportViewRequest(insight_history=wanted, format=pb.EXPORT_FORMAT_CSV))]
    rows = list(csv.DictReader(io.StringIO(b"".join(c.data for c in chunks).decode())))
    assert [row["feed_item_id"] for row in rows] == expected
    assert sum(c.row_count for c in chunks) == len(expected)
    assert {c.total_rows for c in chunks} == {len(expected)}


async def test_the_progress_bar_shows_the_total(engagectl, server, services, tenant, tmp_path):
    await seed_history(services.database, tenant)
    written = tmp_path / "insights.csv"
    shown = await engagectl("reports", "export", "insight-history", "--customer", "c1", "-o", str(written),
                            token=server.token(tenant, Role.SERVICE, "warehouse"), terminal_columns=100)
    assert shown.exit_code == 0, shown.stdout
    assert "3/3" in shown.stdout
    assert len(list(csv.reader(io.StringIO(written.read_text())))) == 3 + 1
