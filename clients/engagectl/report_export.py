"""engagectl reports export: a reporting view streamed through ExportView into a file (or stdout), chunk by
chunk: constant memory whatever the view's size, a progress bar on a terminal, and resumable after an
interruption (clients/export_file.py). Formats and columns: docs/exports.md."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_range
from clients.engagectl.output import errors, notice
from clients.engagectl.report_options import enum_option, enum_options, metrics_request, order_by
from clients.export_file import ExportFile, ExportOutcome, ResumeRefused
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as engagement_pb
from engage.goals.v1 import goals_service_pb2 as goals_pb
from engage.reporting.v1 import event_history_pb2 as event_pb
from engage.reporting.v1 import exports_pb2 as pb
from engage.reporting.v1 import insight_history_pb2 as insight_pb
from engage.type.v1 import date_pb2

MAX_CHUNK_ROWS = 10_000


class View(enum.StrEnum):
    goals = "goals"
    customer_history = "customer-history"
    transfers = "transfers"
    insight_history = "insight-history"
    event_history = "event-history"
    metrics = "metrics"


class ExportFormat(enum.StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


_FORMATS = {ExportFormat.csv: pb.EXPORT_FORMAT_CSV, ExportFormat.jsonl: pb.EXPORT_FORMAT_JSONL,
            ExportFormat.parquet: pb.EXPORT_FORMAT_PARQUET}


@dataclass(frozen=True)
class Filters:
    """The filter options given; each view takes some of them (FILTERS_OF)."""

    customer: str = ""
    state: tuple[str, ...] = ()
    category: str | None = None
    kind: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    insight: str = ""
    origin: str | None = None
    interaction: str | None = None
    channel: tuple[str, ...] = ()
    campaign: str = ""
    rule: str = ""
    event: str = ""
    journey: str = ""
    newest_first: bool = False
    dimension: str | None = None
    granularity: str | None = None
    period: str | None = None
    value: tuple[str, ...] = ()
    conversion_days: int = 0


FILTERS_OF = {
    View.goals: {"customer", "state", "category", "since", "until"},
    View.customer_history: {"customer", "kind", "since", "until"},
    View.transfers: {"customer", "kind", "since", "until"},
    View.insight_history: {"customer", "insight", "origin", "interaction", "since", "until", "newest_first"},
    View.event_history: {"customer", "kind", "state", "channel", "campaign", "rule", "event", "journey", "since",
                         "until", "newest_first"},
    View.metrics: {"dimension", "granularity", "period", "value", "conversion_days"},
}


def _check_filters(view: View, given: Filters) -> None:
    """A filter the view has not is a usage error, named as its option."""
    for name in sorted(set(Filters.__dataclass_fields__) - FILTERS_OF[view]):
        if getattr(given, name) != getattr(Filters(), name):
            option = {"since": "--from", "until": "--to"}.get(name, "--" + name.replace("_", "-"))
            raise typer.BadParameter(f"the {view.value} view has no such filter", param_hint=option)
    if view is View.goals and len(given.state) > 1:
        raise typer.BadParameter("the goals view filters by one state", param_hint="--state")
    if view is View.metrics and (given.dimension is None or given.period is None):
        raise typer.BadParameter("the metrics view needs --dimension and --period", param_hint="--dimension")


def _dates(given: Filters) -> date_pb2.DateRange | None:
    filled = date_pb2.DateRange()
    date_range(filled, given.since, given.until)
    return filled if given.since or given.until else None


def _goals_request(view: View, given: Filters, chunk_rows: int) -> pb.ExportViewRequest:
    dates = _dates(given)
    if view is View.goals:
        return pb.ExportViewRequest(goals=goals_pb.ListGoalReportRowsRequest(
            customer_id=given.customer,
            state=enum_option(goals_pb.GoalState, next(iter(given.state), None), "--state"),
            category=enum_option(goals_pb.GoalCategory, given.category, "--category"),
            create_date_range=dates, page_size=chunk_rows))
    kind_numbers = enum_options(goals_pb.HistoryKind, list(given.kind), "--kind")
    if view is View.customer_history:
        return pb.ExportViewRequest(customer_history=goals_pb.ListCustomerHistoryReportRowsRequest(
            customer_id=given.customer, kinds=kind_numbers, create_date_range=dates, page_size=chunk_rows))
    return pb.ExportViewRequest(transfers=goals_pb.ListTransferReportRowsRequest(
        customer_id=given.customer, kinds=kind_numbers, event_date_range=dates, page_size=chunk_rows))


def view_request(view: View, given: Filters, chunk_rows: int) -> pb.ExportViewRequest:
    """ExportView's request: the view's List request with the filters given (as its list command reads them)
    and `chunk_rows` as its page size (rows per chunk)."""
    _check_filters(view, given)
    if view in (View.goals, View.customer_history, View.transfers):
        return _goals_request(view, given, chunk_rows)
    if view is View.insight_history:
        insights = insight_pb.ListInsightHistoryRequest(
            customer_id=given.customer, insight=given.insight, order_by=order_by(given.newest_first, "create_time"),
            origin=enum_option(insight_pb.InsightOrigin, given.origin, "--origin"),
            interaction=enum_option(insight_pb.InteractionKind, given.interaction, "--interaction"),
            create_date_range=_dates(given), page_size=chunk_rows)
        return pb.ExportViewRequest(insight_history=insights)
    if view is View.event_history:
        events = event_pb.ListEventHistoryRequest(
            kinds=enum_options(event_pb.EventKind, list(given.kind), "--kind"), customer_id=given.customer,
            delivery_states=enum_options(engagement_pb.DeliveryState, list(given.state), "--state"),
            channels=enum_options(engagement_pb.Channel, list(given.channel), "--channel"),
            campaign_id=given.campaign, rule_id=given.rule, engagement_event_id=given.event, journey_id=given.journey,
            order_by=order_by(given.newest_first, "occur_time"), occur_date_range=_dates(given),
            page_size=chunk_rows)
        return pb.ExportViewRequest(event_history=events)
    assert given.dimension is not None and given.period is not None
    return pb.ExportViewRequest(metrics=metrics_request(given.dimension, given.period, given.granularity or "total",
                                                        list(given.value), given.conversion_days, chunk_rows))


def _progress(hidden: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=errors, transient=True, disable=hidden)


async def _to_stdout(stubs: Stubs, request: pb.ExportViewRequest, advance: Callable[[int, int], None]
                     ) -> ExportOutcome:
    """Chunks straight to stdout, flushed one by one (a reader of the pipe sees rows as they come)."""
    out = sys.stdout.buffer
    rows = total = 0
    async for chunk in stubs.reporting.ExportView(request):
        out.write(chunk.data)
        out.flush()
        rows, total = rows + chunk.row_count, chunk.total_rows
        advance(chunk.row_count, total)
    return ExportOutcome(rows, total, "", True)


def export(ctx: typer.Context,
           view: View = typer.Argument(..., metavar="VIEW", help="goals, customer-history, transfers, "
                                                                 "insight-history, event-history or metrics."),
           customer: str = typer.Option("", metavar="CUSTOMER_ID", help="Only this customer's rows."),
           state: list[str] = typer.Option([], metavar="STATE",
                                           help="goals: only ACTIVE, ACHIEVED, PAUSED or ARCHIVED goals; "
                                                "event-history: only deliveries in these states (repeat)."),
           category: str | None = typer.Option(None, metavar="CATEGORY",
                                               help="goals: only this category (TRAVEL, HOME, ...)."),
           kind: list[str] = typer.Option([], metavar="KIND",
                                          help="customer-history, transfers, event-history: only these kinds; "
                                               "repeat."),
           since: str | None = typer.Option(None, "--from", metavar="DATE",
                                            help="Created (transfers: happened) on or after YYYY-MM-DD, "
                                                 "in the bank's time zone."),
           until: str | None = typer.Option(None, "--to", metavar="DATE", help="... and on or before YYYY-MM-DD."),
           insight: str = typer.Option("", metavar="NAME", help="insight-history: only this insight's."),
           origin: str | None = typer.Option(None, metavar="ORIGIN",
                                             help="insight-history: SCHEDULE, EVENT or ON_DEMAND."),
           interaction: str | None = typer.Option(None, metavar="KIND",
                                                  help="insight-history: only those with this interaction."),
           channel: list[str] = typer.Option([], metavar="CHANNEL", help="event-history: only these channels."),
           campaign: str = typer.Option("", metavar="CAMPAIGN_ID", help="event-history: this campaign's."),
           rule: str = typer.Option("", metavar="RULE_ID", help="event-history: this rule's."),
           event: str = typer.Option("", metavar="EVENT_ID", help="event-history: this engagement event's."),
           journey: str = typer.Option("", metavar="JOURNEY_ID", help="event-history: this journey's steps."),
           newest_first: bool = typer.Option(False, "--newest-first",
                                             help="insight-history, event-history: newest first."),
           dimension: str | None = typer.Option(None, metavar="DIMENSION",
                                                help="metrics: insight, campaign, rule, persona or channel."),
           period: str | None = typer.Option(None, metavar="START..END",
                                             help="metrics: months (2026-01..2026-06) or days, both included."),
           granularity: str | None = typer.Option(None, metavar="GRANULARITY",
                                                  help="metrics: day, week, month or total (the default)."),
           value: list[str] = typer.Option([], "--value", metavar="VALUE", help="metrics: only these values."),
           conversion_days: int = typer.Option(0, min=0, max=365, metavar="DAYS",
                                               help="metrics: the conversion window (0: the server's 30)."),
           export_format: ExportFormat = typer.Option(ExportFormat.csv, "--format", help="csv, jsonl or parquet."),
           destination: Path | None = typer.Option(None, "--file", "-o", "--output", metavar="FILE", dir_okay=False,
                                                   help="Write here (default: stdout; parquet needs a file)."),
           resume: bool = typer.Option(False, "--resume",
                                       help="Go on with an interrupted export into FILE (same arguments)."),
           page_size: int = typer.Option(0, min=0, max=MAX_CHUNK_ROWS, metavar="N",
                                         help="Rows per chunk (default: the server's, 10000)."),
           ) -> None:
    """Exports a reporting view, every row, chunk after chunk as the server streams it: CSV with a header
    row, JSON Lines (one object a row) or Parquet. Needs a bank_admin or service token. Into a FILE, an
    interrupted export (Ctrl-C, the connection lost) leaves whole chunks and FILE.resume: run the same
    command with --resume to finish it. --json prints one summary line. Columns: docs/exports.md.

    Examples:
      engagectl reports export goals --state ACTIVE -o goals.csv
      engagectl reports export customer-history --customer demo-c0001 --from 2026-01-01 --format jsonl
      engagectl reports export transfers --kind TRANSFER_FAILED --format parquet -o failed.parquet
      engagectl reports export transfers --format parquet -o failed.parquet --resume
      engagectl reports export event-history --state FAILED --from 2026-11-01 -o failed.csv
      engagectl reports export metrics --dimension insight --granularity month --period 2026-01..2026-06
    """
    cli = cli_context(ctx)
    given = Filters(customer, tuple(state), category, tuple(kind), since, until, insight, origin, interaction,
                    tuple(channel), campaign, rule, event, journey, newest_first, dimension, granularity, period,
                    tuple(value), conversion_days)
    request = view_request(view, given, page_size)
    request.format = _FORMATS[export_format]
    if destination is None and (resume or export_format is ExportFormat.parquet):
        raise typer.BadParameter("--resume and --format parquet write a file: name it", param_hint="--file")
    file = None if destination is None else ExportFile(destination, request, export_format.value)
    if file is not None and resume:
        try:
            request.resume_token = file.resume().resume_token
        except ResumeRefused as refused:
            raise typer.BadParameter(str(refused), param_hint="--resume") from None

    with _progress(cli.json_output or not errors.is_terminal) as progress:
        task = progress.add_task(f"{view.value} rows", total=None,
                                 completed=file.state.rows if file is not None else 0)

        def advance(rows: int, total: int) -> None:
            progress.update(task, advance=rows, total=total or None)

        async def run(stubs: Stubs) -> ExportOutcome:
            if file is None:
                return await _to_stdout(stubs, request, advance)
            return await file.write(stubs.reporting.ExportView(request), advance)

        try:
            outcome = cli.call(run)
        except (grpc.RpcError, KeyboardInterrupt):
            if file is not None and file.state.chunks:
                _interrupted(file, cli.json_output)
            raise
    if cli.json_output:
        _summary(outcome.rows, destination, export_format, outcome.resume_token, outcome.complete)


def _interrupted(file: ExportFile, as_json: bool) -> None:
    notice(f"{file.state.rows} rows written to {file.path}{' (spooled)' if file.parquet else ''}; "
           f"the same command with --resume goes on from there")
    if as_json:
        _summary(file.state.rows, file.path, ExportFormat(file.state.format), file.state.resume_token, False)


def _summary(rows: int, destination: Path | None, export_format: ExportFormat, token: str, complete: bool) -> None:
    summary: dict[str, Any] = {"rows": rows, "file": str(destination) if destination else "", "format":
                               export_format.value, "resume_token": token, "complete": complete}
    print(json.dumps(summary, separators=(",", ":")), flush=True)
