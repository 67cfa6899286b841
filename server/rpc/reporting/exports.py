"""ReportingService.ExportView: proto <-> domain translation only. The view's filters are read by the same
code as its List RPC's; the export itself is server.services.reporting.exports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import grpc

from engage.reporting.v1 import exports_pb2 as pb
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.pagination import instant_and_text_key, page_request
from server.domain.reporting import export_tables
from server.rpc.context import current_caller
from server.rpc.goals.reports import (
    goal_report_filters,
    goals_key,
    history_report_filters,
    transfer_report_filters,
)
from server.rpc.reporting.event_history import event_history_filter
from server.rpc.reporting.insight_history import insight_history_filter
from server.rpc.reporting.metrics import metrics_key, metrics_query
from server.services.goals.reports import GOALS_REPORT, HISTORY_REPORT, TRANSFERS_REPORT
from server.services.reporting.exports import ExportFormat, ExportSource, chunk_rows
from server.services.reporting.metrics import METRICS

if TYPE_CHECKING:
    from server.bootstrap import Services

_FORMATS = {pb.EXPORT_FORMAT_CSV: ExportFormat.CSV, pb.EXPORT_FORMAT_JSONL: ExportFormat.JSONL,
            pb.EXPORT_FORMAT_PARQUET: ExportFormat.ARROW}


def _format(request: pb.ExportViewRequest) -> ExportFormat:
    found = _FORMATS.get(request.format)
    if found is None:
        raise InvalidArgument("INVALID_ENUM", "format must be CSV, JSONL or PARQUET",
                              violations=[FieldViolation("format", "one of CSV, JSONL, PARQUET")])
    return found


def _source(services: Services, request: pb.ExportViewRequest) -> tuple[ExportSource[Any], int]:
    """The asked view with its filters read by its List RPC's code, and the rows per chunk asked for (the
    page_size of the view's request)."""
    view = request.WhichOneof("view")
    reports = services.goal_reports
    if view == "goals":
        goals, created = goal_report_filters(request.goals)
        return ExportSource(export_tables.GOALS, lambda token: page_request(1, token, GOALS_REPORT, goals_key),
                            lambda caller, page: reports.goals(caller, goals, created, page),
                            lambda caller: reports.count_goals(caller, goals, created)), request.goals.page_size
    if view == "customer_history":
        history, created = history_report_filters(request.customer_history)
        return ExportSource(export_tables.CUSTOMER_HISTORY,
                            lambda token: page_request(1, token, HISTORY_REPORT, instant_and_text_key),
                            lambda caller, page: reports.history(caller, history, created, page),
                            lambda caller: reports.count_history(caller, history, created)
                            ), request.customer_history.page_size
    if view == "transfers":
        transfers, happened = transfer_report_filters(request.transfers)
        return ExportSource(export_tables.TRANSFERS,
                            lambda token: page_request(1, token, TRANSFERS_REPORT, instant_and_text_key),
                            lambda caller, page: reports.transfers(caller, transfers, happened, page),
                            lambda caller: reports.count_transfers(caller, transfers, happened)
                            ), request.transfers.page_size
    if view == "insight_history":
        insights = services.insight_history
        wanted_insights = insight_history_filter(request.insight_history)
        return ExportSource(export_tables.INSIGHT_HISTORY,
                            lambda token: insights.page_request(wanted_insights, 1, token),
                            lambda caller, page: insights.page(caller, wanted_insights, page),
                            lambda caller: insights.count(caller, wanted_insights)
                            ), request.insight_history.page_size
    if view == "event_history":
        events = services.event_history
        wanted_events = event_history_filter(request.event_history)
        table = export_tables.EVENT_HISTORY
        return ExportSource(table, lambda token: events.page_request(wanted_events, 1, token),
                            lambda caller, page: events.page(caller, wanted_events, page),
                            lambda caller: events.count(caller, wanted_events),
                            (lambda caller, page: events.csv_page(caller, wanted_events, page, table))
                            if events.writes_csv else None), request.event_history.page_size
    if view == "metrics":
        metrics = services.engagement_metrics
        query = metrics_query(request.metrics)
        return ExportSource(export_tables.METRICS, lambda token: page_request(1, token, METRICS, metrics_key),
                            lambda caller, page: metrics.page(caller, query, page)), request.metrics.page_size
    raise InvalidArgument("EXPORT_VIEW_REQUIRED", "name the view to export",
                          violations=[FieldViolation("view", "one of the views is required")])


class ExportRpcs:
    services: Services

    async def ExportView(self, request: pb.ExportViewRequest, context: grpc.aio.ServicerContext
                         ) -> AsyncIterator[pb.ExportChunk]:
        caller = current_caller()
        source, asked_rows = _source(self.services, request)
        if asked_rows < 0:
            raise InvalidArgument("INVALID_PAGE_SIZE", "page_size (rows per chunk) must not be negative",
                                  violations=[FieldViolation(f"{request.WhichOneof('view')}.page_size",
                                                             "must not be negative")])
        chunks = self.services.exports.export(caller, source, _format(request), request.resume_token,
                                              chunk_rows(asked_rows))
        async for chunk in chunks:
            yield pb.ExportChunk(data=chunk.data, row_count=chunk.row_count, resume_token=chunk.resume_token,
                                 total_rows=chunk.total_rows)
