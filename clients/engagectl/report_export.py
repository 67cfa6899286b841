"""engagectl reports export: a reporting view streamed through ExportView into a file (or stdout), chunk by
chunk: constant memory whatever the view's size, a progress bar on a terminal, and resumable after an
interruption (clients/export_file.py). Formats and columns: docs/exports.md."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_range
from clients.engagectl.output import enum_number, errors, notice
from clients.export_file import ExportFile, ExportOutcome, ResumeRefused
from clients.stubs import Stubs
from engage.goals.v1 import goals_service_pb2 as goals_pb
from engage.reporting.v1 import exports_pb2 as pb
from engage.type.v1 import date_pb2

MAX_CHUNK_ROWS = 10_000


class View(enum.StrEnum):
    goals = "goals"
    customer_history = "customer-history"
    transfers = "transfers"


class ExportFormat(enum.StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


_FORMATS = {ExportFormat.csv: pb.EXPORT_FORMAT_CSV, ExportFormat.jsonl: pb.EXPORT_FORMAT_JSONL,
            ExportFormat.parquet: pb.EXPORT_FORMAT_PARQUET}


def _enum_option(enum_type: Any, text: str | None, option: str) -> int:
    if not text:
        return 0
    try:
        return enum_number(enum_type, text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


def view_request(view: View, customer: str, state: str | None, category: str | None, kinds: list[str],
                 since: str | None, until: str | None, chunk_rows: int) -> pb.ExportViewRequest:
    """ExportView's request: the view's List request with the filters given (a filter the view has not is a
    usage error) and `chunk_rows` as its page size (rows per chunk)."""
    if view is not View.goals:
        for text, option in ((state, "--state"), (category, "--category")):
            if text:
                raise typer.BadParameter(f"only the goals view filters by {option[2:]}", param_hint=option)
    if view is View.goals and kinds:
        raise typer.BadParameter("the goals view has no kinds", param_hint="--kind")
    filled = date_pb2.DateRange()
    date_range(filled, since, until)
    dates = filled if since or until else None
    if view is View.goals:
        return pb.ExportViewRequest(goals=goals_pb.ListGoalReportRowsRequest(
            customer_id=customer,
            state=goals_pb.GoalState.ValueType(_enum_option(goals_pb.GoalState, state, "--state")),
            category=goals_pb.GoalCategory.ValueType(_enum_option(goals_pb.GoalCategory, category, "--category")),
            create_date_range=dates, page_size=chunk_rows))
    kind_numbers = [goals_pb.HistoryKind.ValueType(_enum_option(goals_pb.HistoryKind, k, "--kind")) for k in kinds]
    if view is View.customer_history:
        return pb.ExportViewRequest(customer_history=goals_pb.ListCustomerHistoryReportRowsRequest(
            customer_id=customer, kinds=kind_numbers, create_date_range=dates, page_size=chunk_rows))
    return pb.ExportViewRequest(transfers=goals_pb.ListTransferReportRowsRequest(
        customer_id=customer, kinds=kind_numbers, event_date_range=dates, page_size=chunk_rows))


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
           view: View = typer.Argument(..., metavar="VIEW", help="goals, customer-history or transfers."),
           customer: str = typer.Option("", metavar="CUSTOMER_ID", help="Only this customer's rows."),
           state: str | None = typer.Option(None, metavar="STATE",
                                            help="goals: only ACTIVE, ACHIEVED, PAUSED or ARCHIVED goals."),
           category: str | None = typer.Option(None, metavar="CATEGORY",
                                               help="goals: only this category (TRAVEL, HOME, ...)."),
           kind: list[str] = typer.Option([], metavar="KIND",
                                          help="customer-history, transfers: only these kinds; repeat."),
           since: str | None = typer.Option(None, "--from", metavar="DATE",
                                            help="Created (transfers: happened) on or after YYYY-MM-DD, "
                                                 "in the bank's time zone."),
           until: str | None = typer.Option(None, "--to", metavar="DATE", help="... and on or before YYYY-MM-DD."),
           export_format: ExportFormat = typer.Option(ExportFormat.csv, "--format", help="csv, jsonl or parquet."),
           destination: Path | None = typer.Option(None, "--file", "-o", metavar="FILE", dir_okay=False,
                                                   help="Write here (default: stdout; parquet needs a file)."),
           resume: bool = typer.Option(False, "--resume",
                                       help="Go on with an interrupted export into FILE (same arguments)."),
           page_size: int = typer.Option(0, min=0, max=MAX_CHUNK_ROWS, metavar="N",
                                         help="Rows per chunk (default: the server's, 5000)."),
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
    """
    cli = cli_context(ctx)
    request = view_request(view, customer, state, category, kind, since, until, page_size)
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
