"""engagectl reports: the reporting views, exported as CSV or JSON Lines (streamed page by page).

Each page is written as it arrives and then dropped: an export of millions of rows takes the memory of
one page. The columns are docs/reports.md's, in its order."""

from __future__ import annotations

import contextlib
import csv
import enum
import json
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import typer
from google.protobuf.message import Message

from clients.engagectl import report_html, report_metrics
from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_range
from clients.engagectl.output import amount_text, enum_label_of, enum_number
from clients.engagectl.paging import MAX_PAGE_SIZE
from clients.stubs import Stubs
from engage.goals.v1 import goals_service_pb2 as pb
from engage.type.v1 import date_pb2, money_pb2
from server.domain.money import units_nanos_to_decimal

app = typer.Typer(no_args_is_help=True, help="Reporting views and their exports.")
app.command("html")(report_html.html)
app.command("metrics")(report_metrics.metrics)
app.command("goals-summary")(report_metrics.goals_summary)


class View(enum.StrEnum):
    goals = "goals"
    customer_history = "customer-history"
    transfers = "transfers"


class ExportFormat(enum.StrEnum):
    csv = "csv"
    jsonl = "jsonl"


# A cell: text, or (JSON Lines only) a list or a map; CSV writes those as JSON text.
Cell = str | list[str] | dict[str, str]


def _label(enum_type: Any, number: int) -> str:
    """An enum value's short label (`ACTIVE`); "" for unspecified."""
    return enum_label_of(enum_type.DESCRIPTOR, number) if number else ""


def _time(message: Message, field: str) -> str:
    return getattr(message, field).ToJsonString() if message.HasField(field) else ""


def _amount(value: money_pb2.Money) -> str:
    return amount_text(units_nanos_to_decimal(value.units, value.nanos))


def goal_cells(row: pb.GoalReportRow) -> list[Cell]:
    date = row.target_date
    return [row.customer_id, row.account_id, row.goal_id, row.display_name, _label(pb.GoalCategory, row.category),
            _amount(row.target), _amount(row.saved), row.target.currency_code, row.percent,
            _label(pb.GoalState, row.state), _time(row, "create_time"), _time(row, "achieve_time"),
            _time(row, "archive_time"),
            f"{date.year:04}-{date.month:02}-{date.day:02}" if row.HasField("target_date") else "",
            list(row.milestones_reached)]


def history_cells(row: pb.CustomerHistoryReportRow) -> list[Cell]:
    return [row.customer_id, row.entry_id, _label(pb.HistoryKind, row.kind), _label(pb.Actor, row.actor),
            row.actor_id, _time(row, "create_time"), row.goal_id, row.resource, dict(sorted(row.before.items())),
            dict(sorted(row.after.items()))]


def transfer_cells(row: pb.TransferReportRow) -> list[Cell]:
    has_amount = row.HasField("amount")
    return [row.customer_id, row.goal_id, row.funding_programme_id, row.transfer_id, _label(pb.HistoryKind, row.kind),
            _label(pb.Actor, row.actor), _time(row, "event_time"), _label(pb.ProgrammeState, row.programme_state),
            _amount(row.amount) if has_amount else "", row.amount.currency_code if has_amount else "",
            row.source_account_id, row.target_account_id, _label(pb.TransferState, row.transfer_state),
            row.period_key, row.failure_reason, row.transaction_id]


@dataclass(frozen=True)
class Report:
    columns: tuple[str, ...]
    cells: Callable[[Any], list[Cell]]


REPORTS = {
    View.goals: Report(("customer_id", "account_id", "goal_id", "display_name", "category", "target", "saved",
                        "currency", "percent", "state", "create_time", "achieve_time", "archive_time", "target_date",
                        "milestones_reached"), goal_cells),
    View.customer_history: Report(("customer_id", "entry_id", "kind", "actor", "actor_id", "create_time", "goal_id",
                                   "resource", "before", "after"), history_cells),
    View.transfers: Report(("customer_id", "goal_id", "funding_programme_id", "transfer_id", "kind", "actor",
                            "event_time", "programme_state", "amount", "currency", "source_account_id",
                            "target_account_id", "transfer_state", "period_key", "failure_reason", "transaction_id"),
                           transfer_cells),
}


class RowWriter:
    """CSV under a header row, or one JSON object a line; flushed after every page."""

    def __init__(self, out: IO[str], export_format: ExportFormat, columns: Sequence[str]) -> None:
        self._out = out
        self._columns = columns
        self._csv = csv.writer(out, lineterminator="\n") if export_format is ExportFormat.csv else None
        if self._csv is not None:
            self._csv.writerow(columns)

    def page(self, rows: Sequence[list[Cell]]) -> None:
        for cells in rows:
            if self._csv is not None:
                self._csv.writerow([c if isinstance(c, str) else _csv_text(c) for c in cells])
            else:
                self._out.write(json.dumps(dict(zip(self._columns, cells, strict=True)), ensure_ascii=False) + "\n")
        self._out.flush()


def _csv_text(cell: list[str] | dict[str, str]) -> str:
    """A list as its items joined by `;` (milestone keys have none), a map as compact JSON."""
    if isinstance(cell, list):
        return ";".join(cell)
    return json.dumps(cell, ensure_ascii=False, separators=(",", ":"))


@contextlib.contextmanager
def _opened(output: Path | None) -> Iterator[IO[str]]:
    if output is None:
        yield sys.stdout
        return
    with output.open("w", encoding="utf-8", newline="") as out:
        yield out


def _enum_option(enum_type: Any, text: str | None, option: str) -> int:
    if not text:
        return 0
    try:
        return enum_number(enum_type, text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


def _request(view: View, customer: str, state: str | None, category: str | None, kinds: list[str],
             since: str | None, until: str | None) -> Message:
    """The view's List request with the filters given; a filter the view has not is a usage error."""
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
        return pb.ListGoalReportRowsRequest(
            customer_id=customer, state=pb.GoalState.ValueType(_enum_option(pb.GoalState, state, "--state")),
            category=pb.GoalCategory.ValueType(_enum_option(pb.GoalCategory, category, "--category")),
            create_date_range=dates)
    kind_numbers = [pb.HistoryKind.ValueType(_enum_option(pb.HistoryKind, k, "--kind")) for k in kinds]
    if view is View.customer_history:
        return pb.ListCustomerHistoryReportRowsRequest(customer_id=customer, kinds=kind_numbers,
                                                       create_date_range=dates)
    return pb.ListTransferReportRowsRequest(customer_id=customer, kinds=kind_numbers, event_date_range=dates)


def _call(stubs: Stubs, view: View) -> Callable[[Any], Awaitable[Any]]:
    calls: dict[View, Callable[[Any], Awaitable[Any]]] = {
        View.goals: lambda request: stubs.goals.ListGoalReportRows(request),
        View.customer_history: lambda request: stubs.goals.ListCustomerHistoryReportRows(request),
        View.transfers: lambda request: stubs.goals.ListTransferReportRows(request)}
    return calls[view]


@app.command("export")
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
           export_format: ExportFormat = typer.Option(ExportFormat.csv, "--format", help="csv or jsonl."),
           destination: Path | None = typer.Option(None, "--file", metavar="FILE", dir_okay=False,
                                                   help="Write here (default: stdout)."),
           page_size: int = typer.Option(MAX_PAGE_SIZE, min=1, max=MAX_PAGE_SIZE, metavar="N",
                                         help="Rows fetched per request."),
           ) -> None:
    """Exports a reporting view, every row, page after page as it arrives: CSV with a header row, or JSON
    Lines (one object a row). Needs a bank_admin or service token. Columns: docs/reports.md.

    Examples:
      engagectl reports export goals --state ACTIVE --file goals.csv
      engagectl reports export customer-history --customer demo-c0001 --from 2026-01-01 --format jsonl
      engagectl reports export transfers --kind TRANSFER_FAILED --from 2026-11-01 --to 2026-11-30
    """
    cli = cli_context(ctx)
    request = _request(view, customer, state, category, kind, since, until)
    report = REPORTS[view]

    def page(token: str) -> Message:
        request.page_size, request.page_token = page_size, token  # type: ignore[attr-defined]
        return request

    async def run(stubs: Stubs) -> None:
        call = _call(stubs, view)
        # The file is made (and the header written) once the first page is in: a refused export leaves none.
        response = await call(page(""))
        with _opened(destination) as out:
            writer = RowWriter(out, export_format, report.columns)
            while True:
                writer.page([report.cells(row) for row in response.rows])
                if not response.next_page_token:
                    break
                response = await call(page(response.next_page_token))

    cli.call(run)
