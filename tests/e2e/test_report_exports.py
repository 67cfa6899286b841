"""ExportView and `engagectl reports export` through a real server: chunks that join into the view's file,
resume tokens that go on where a chunk ended, and exports cut off mid-stream (the connection reset by a proxy
between engagectl and the server) that `--resume` finishes into the very file an uninterrupted export
writes: byte for byte for CSV and JSON Lines, the same table for Parquet."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import json

import grpc
import pyarrow.parquet as pq
import pytest

from engage.goals.v1 import goals_service_pb2 as goals_pb
from engage.reporting.v1 import exports_pb2 as pb
from server.domain.auth import Role
from server.domain.reporting.export_tables import CUSTOMER_HISTORY
from server.store.goals_models import GoalHistoryRow
from server.store.uow import UnitOfWork
from tests.support.builders import failure
from tests.support.goal_reports import seed_goal_reports

HISTORY_ROWS = 2400


async def _seed_history(database, tenant: str) -> None:
    """HISTORY_ROWS entries with text that CSV must quote (commas, quotes, new lines, non-ASCII)."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    async with UnitOfWork(database, tenant) as uow:
        uow.session.add_all([GoalHistoryRow(
            tenant_id=tenant, entry_id=f"e{n:06d}", customer_id=f"c{n % 7}", kind="GOAL_UPDATED", actor="CUSTOMER",
            actor_id=f"c{n % 7}", at=start + dt.timedelta(minutes=n, microseconds=n % 3 * 1500),
            goal_id=f"g{n % 11}", resource=f"customers/c{n % 7}/goals/g{n % 11}",
            before={"name": f'Trip, "{n}"'}, after={"name": f"Reise\nnach Zürich {n}", "note": None})
            for n in range(HISTORY_ROWS)])
        await uow.commit()


async def _chunks(stubs, request: pb.ExportViewRequest) -> list[pb.ExportChunk]:
    return [chunk async for chunk in stubs.reporting.ExportView(request)]


def _history(page_size: int, export_format=pb.EXPORT_FORMAT_CSV, resume_token: str = "") -> pb.ExportViewRequest:
    return pb.ExportViewRequest(customer_history=goals_pb.ListCustomerHistoryReportRowsRequest(page_size=page_size),
                                format=export_format, resume_token=resume_token)


async def test_chunks_join_into_the_view_and_a_token_resumes_after_its_chunk(server, services, tenant):
    await _seed_history(services.database, tenant)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as stubs:
        chunks = await _chunks(stubs, _history(1000))
        assert [(c.row_count, c.total_rows, bool(c.resume_token)) for c in chunks] == [
            (1000, HISTORY_ROWS, True), (1000, HISTORY_ROWS, True), (400, HISTORY_ROWS, False)]
        whole = b"".join(c.data for c in chunks).decode()
        rows = list(csv.reader(io.StringIO(whole)))
        assert rows[0] == list(CUSTOMER_HISTORY.names)
        assert len(rows) == HISTORY_ROWS + 1
        assert rows[1] == ["c0", "e000000", "GOAL_UPDATED", "CUSTOMER", "c0", "2025-01-01T00:00:00Z", "g0",
                           "customers/c0/goals/g0", '{"name":"Trip, \\"0\\""}',
                           '{"name":"Reise\\nnach Zürich 0","note":""}']
        assert rows[2][5] == "2025-01-01T00:01:00.001500Z"

        # From the first chunk's token: the rest, no header, the same bytes.
        rest = await _chunks(stubs, _history(1000, resume_token=chunks[0].resume_token))
        assert b"".join(c.data for c in rest) == b"".join(c.data for c in chunks[1:])

        lines = b"".join(c.data for c in await _chunks(stubs, _history(0, pb.EXPORT_FORMAT_JSONL))).splitlines()
        assert len(lines) == HISTORY_ROWS
        assert json.loads(lines[-1]) == {
            "customer_id": "c5", "entry_id": "e002399", "kind": "GOAL_UPDATED", "actor": "CUSTOMER", "actor_id": "c5",
            "create_time": "2025-01-02T15:59:00.003Z", "goal_id": "g1", "resource": "customers/c5/goals/g1",
            "before": {"name": 'Trip, "2399"'}, "after": {"name": "Reise\nnach Zürich 2399", "note": ""}}


async def test_refusals(server, services, tenant):
    await seed_goal_reports(services.database, tenant)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin, \
            server.stubs(server.token(tenant, Role.USER, "c1")) as user:
        goals_token = (await _chunks(admin, pb.ExportViewRequest(
            goals=goals_pb.ListGoalReportRowsRequest(page_size=2), format=pb.EXPORT_FORMAT_CSV)))[0].resume_token
        assert await failure(_chunks(admin, _history(2, resume_token=goals_token))) == (
            grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", ["resume_token"])
        assert await failure(_chunks(admin, _history(2, resume_token="not-a-token"))) == (
            grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", ["resume_token"])
        assert await failure(_chunks(admin, pb.ExportViewRequest(format=pb.EXPORT_FORMAT_CSV))) == (
            grpc.StatusCode.INVALID_ARGUMENT, "EXPORT_VIEW_REQUIRED", ["view"])
        assert await failure(_chunks(admin, _history(2, pb.EXPORT_FORMAT_UNSPECIFIED))) == (
            grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ENUM", ["format"])
        code, reason, _ = await failure(_chunks(user, _history(2)))
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")


class CuttingProxy:
    """Forwards TCP to the server and resets both sides once `cut_after` bytes came back from it (None:
    never), as a connection lost mid-export."""

    def __init__(self, target: str, cut_after: int | None) -> None:
        self._host, port = target.rsplit(":", 1)
        self._port = int(port)
        self._cut_after = cut_after
        self._server: asyncio.AbstractServer | None = None
        self.address = ""

    async def __aenter__(self) -> CuttingProxy:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        self.address = f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _link(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection(self._host, self._port)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, budget: int | None) -> None:
            sent = 0
            while data := await source.read(16384):
                if budget is not None and sent + len(data) > budget:
                    sink.write(data[: budget - sent])
                    await sink.drain()
                    for writer in (client_out, server_out):
                        writer.transport.abort()
                    return
                sink.write(data)
                await sink.drain()
                sent += len(data)

        with contextlib.suppress(ConnectionError):
            await asyncio.gather(pump(client_in, server_out, None), pump(server_in, client_out, self._cut_after))
        for writer in (client_out, server_out):
            writer.transport.abort()


@pytest.mark.parametrize("export_format", ["csv", "jsonl", "parquet"])
async def test_an_export_cut_off_mid_stream_resumes_into_the_same_file(engagectl, server, services, tenant, tmp_path,
                                                                       export_format):
    await _seed_history(services.database, tenant)
    admin = server.token(tenant, Role.SERVICE, "warehouse")
    arguments = ["reports", "export", "customer-history", "--format", export_format, "--page-size", "100"]
    folder = tmp_path / "exports"
    folder.mkdir()
    whole = folder / f"whole.{export_format}"
    done = await engagectl(*arguments, "-o", str(whole), token=admin)
    assert done.exit_code == 0, done.stderr

    cut = folder / f"cut.{export_format}"
    async with CuttingProxy(server.address, cut_after=120_000) as proxy:
        broken = await engagectl("--address", proxy.address, "--json", *arguments, "-o", str(cut), token=admin)
    assert broken.exit_code == 1, broken.stderr
    assert "--resume" in broken.stderr
    summary = json.loads(broken.stdout)
    assert 0 < summary["rows"] < HISTORY_ROWS and summary["rows"] % 100 == 0
    assert summary["complete"] is False and summary["resume_token"]
    state = json.loads((folder / f"cut.{export_format}.resume").read_text())
    assert (state["rows"], state["resume_token"]) == (summary["rows"], summary["resume_token"])
    spool = folder / f"cut.{export_format}.arrows" if export_format == "parquet" else cut
    assert spool.stat().st_size >= state["bytes_written"]  # whole chunks, maybe part of the next

    mismatched = await engagectl(*arguments, "--kind", "SIGNUP", "-o", str(cut), "--resume", token=admin)
    assert mismatched.exit_code == 2 and "other arguments" in mismatched.stderr

    resumed = await engagectl("--json", *arguments, "-o", str(cut), "--resume", token=admin)
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads(resumed.stdout) == {"rows": HISTORY_ROWS, "file": str(cut), "format": export_format,
                                          "resume_token": "", "complete": True}
    assert sorted(p.name for p in folder.iterdir()) == sorted([cut.name, whole.name])
    if export_format == "parquet":
        assert pq.read_table(cut).equals(pq.read_table(whole))
        assert pq.read_table(cut).num_rows == HISTORY_ROWS
        assert pq.ParquetFile(cut).metadata.num_row_groups == HISTORY_ROWS // 100
    else:
        assert cut.read_bytes() == whole.read_bytes()


async def test_the_progress_bar_shows_on_a_terminal(engagectl, server, services, tenant, tmp_path):
    await _seed_history(services.database, tenant)
    written = tmp_path / "history.csv"
    shown = await engagectl("reports", "export", "customer-history", "-o", str(written),
                            token=server.token(tenant, Role.SERVICE, "warehouse"), terminal_columns=100)
    assert shown.exit_code == 0, shown.stdout
    assert f"{HISTORY_ROWS}/{HISTORY_ROWS}" in shown.stdout
    assert len(list(csv.reader(io.StringIO(written.read_text())))) == HISTORY_ROWS + 1


async def test_the_history_views_and_metrics_export_as_their_lists_read(server, services, tenant):
    from engage.reporting.v1 import event_history_pb2, insight_history_pb2, metrics_pb2
    from tests.support.history_seed import EVENT_ORDER, INSIGHT_ORDER, seed_history
    from tests.support.metrics_seed import seed_metrics

    await seed_history(services.database, tenant)
    measured = (await services.tenants.create(f"bank-{tenant}-m")).tenant_id
    await seed_metrics(services.database, measured)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as stubs, \
            server.stubs(server.token(measured, Role.BANK_ADMIN, "lisa")) as measured_stubs:
        events = await _chunks(stubs, pb.ExportViewRequest(
            event_history=event_history_pb2.ListEventHistoryRequest(page_size=4), format=pb.EXPORT_FORMAT_JSONL))
        assert [c.row_count for c in events] == [4, 4, 3]
        rows = [json.loads(line) for c in events for line in c.data.splitlines()]
        assert [(r["kind"], r["event_id"]) for r in rows] == EVENT_ORDER
        failed = next(r for r in rows if r["event_id"] == "d2")
        assert {k: failed[k] for k in ("occur_time", "customer_id", "channel", "provider", "delivery_state",
                                       "campaign_id", "attempts", "error_code", "error_message")} == {
            "occur_time": "2026-03-01T10:00:00Z", "customer_id": "c2", "channel": "SMS", "provider": "twilio",
            "delivery_state": "FAILED", "campaign_id": "k1", "attempts": 1, "error_code": "21211",
            "error_message": "invalid number"}
        # Newest first resumes in its own order; a token of the other order is refused.
        newest = pb.ExportViewRequest(event_history=event_history_pb2.ListEventHistoryRequest(
            page_size=5, order_by="occur_time desc"), format=pb.EXPORT_FORMAT_CSV)
        first = (await _chunks(stubs, newest))[0]
        newest.resume_token = first.resume_token
        rest = list(csv.reader(io.StringIO(b"".join(c.data for c in await _chunks(stubs, newest)).decode())))
        assert [row[1] for row in rest] == [event_id for _, event_id in reversed(EVENT_ORDER)][5:]
        assert await failure(_chunks(stubs, pb.ExportViewRequest(
            event_history=event_history_pb2.ListEventHistoryRequest(), format=pb.EXPORT_FORMAT_CSV,
            resume_token=first.resume_token))) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN",
                                                   ["resume_token"])

        insights = b"".join(c.data for c in await _chunks(stubs, pb.ExportViewRequest(
            insight_history=insight_history_pb2.ListInsightHistoryRequest(), format=pb.EXPORT_FORMAT_CSV)))
        table = list(csv.DictReader(io.StringIO(insights.decode())))
        assert [row["feed_item_id"] for row in table] == INSIGHT_ORDER
        assert (table[0]["origin"], table[0]["interactions"]) == (
            "SCHEDULE", '["VIEWED 2026-03-01T09:01:00Z","CLICKED 2026-03-01T09:02:00Z"]')

        asked = metrics_pb2.QueryMetricsRequest(dimension=metrics_pb2.METRIC_DIMENSION_CHANNEL,
                                                date_range={"start_date": {"year": 2026, "month": 1, "day": 1},
                                                            "end_date": {"year": 2026, "month": 12, "day": 31}})
        listed = await measured_stubs.reporting.QueryMetrics(asked)
        exported = [json.loads(line) for c in await _chunks(measured_stubs, pb.ExportViewRequest(
            metrics=asked, format=pb.EXPORT_FORMAT_JSONL)) for line in c.data.splitlines()]
        assert [(r["value"], r["generated"], r["delivered"], r["delivery_rate"]) for r in exported] == [
            (row.value, row.generated, row.delivered, row.delivery_rate) for row in listed.rows]
        assert listed.rows


async def test_engagectl_exports_the_event_history_and_refuses_filters_a_view_has_not(engagectl, server, services,
                                                                                       tenant):
    from tests.support.history_seed import seed_history

    await seed_history(services.database, tenant)
    admin = server.token(tenant, Role.BANK_ADMIN, "lisa")
    failed = await engagectl("reports", "export", "event-history", "--state", "FAILED", "--state", "SKIPPED",
                             "--newest-first", "--format", "jsonl", token=admin)
    assert failed.exit_code == 0, failed.stderr
    assert [(row["event_id"], row["delivery_state"]) for row in map(json.loads, failed.stdout.splitlines())] == [
        ("d2", "FAILED"), ("d3", "SKIPPED")]
    for arguments in (["goals", "--channel", "EMAIL"], ["event-history", "--category", "TRAVEL"],
                      ["metrics", "--period", "2026-03"], ["goals", "--state", "ACTIVE", "--state", "PAUSED"],
                      ["insight-history", "--origin", "SOMETIMES"]):
        refused = await engagectl("reports", "export", *arguments, token=admin)
        assert refused.exit_code == 2, (arguments, refused.stderr)
