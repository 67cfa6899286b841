"""engagectl ingest FILE: loads customers, accounts, transactions and end-of-day balances from a CSV or
JSON Lines file. The file formats (columns, fields, reason codes) are documented in clients/records."""

from __future__ import annotations

import enum
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import grpc
import typer
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clients.batching import chunks
from clients.engagectl.context import cli_context
from clients.engagectl.output import CommandFailed, Id, emit_json, emit_table, errors
from clients.ingest_writer import BALANCE_BATCH, TRANSACTION_BATCH, UPSERT_BATCH
from clients.records import Kind, LoadReport, ParsedFile, Record, RecordFileError, Rejected, read_records
from clients.stubs import Stubs
from engage.ingest.v1 import ingest_service_pb2 as pb

Advance = Callable[[int], None]
# One upsert call: a batch of messages, or one message.
Send = Callable[[Any], Awaitable[object]]
# A batch upsert fails whole on one bad row; these codes mean "a row is bad", so rows are retried one by one.
_ROW_ERRORS = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
SHOWN_REJECTIONS = 100


class KindOption(enum.StrEnum):
    customers = "customers"
    accounts = "accounts"
    transactions = "transactions"
    balances = "balances"


def _reason(error: grpc.aio.AioRpcError) -> tuple[str, str]:
    """(the ErrorInfo reason, or the status code name; the message) of a failed call."""
    reason = error.code().name
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        for detail in status.details if status else []:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason or reason
    except Exception:  # the details are a bonus; the code is enough
        pass
    return reason, error.details() or ""


class FileLoader:
    """Sends parsed records in dependency order and fills the report, line by line."""

    def __init__(self, stubs: Stubs, report: LoadReport, progress: Progress, backfill: bool = False) -> None:
        self._ingest = stubs.ingest
        self._report = report
        self._progress = progress
        self._backfill = backfill

    async def load(self, parsed: ParsedFile) -> None:
        senders = {Kind.CUSTOMER: self._customers, Kind.ACCOUNT: self._accounts,
                   Kind.TRANSACTION: self._transactions, Kind.BALANCE: self._balances}
        for kind in Kind:
            records = parsed.of_kind(kind)
            if records:
                task = self._progress.add_task(kind.plural, total=len(records))
                await senders[kind](records, functools.partial(self._progress.advance, task))

    def _last_of_each(self, kind: Kind, records: list[Record]) -> list[Record]:
        """A later line with the same key replaces an earlier one, as sending both in turn would."""
        last = {record.key: record for record in records}
        self._report.counts[kind].duplicate += len(records) - len(last)
        return sorted(last.values(), key=lambda record: record.line)

    async def _customers(self, records: list[Record], advance: Advance) -> None:
        await self._upserts(
            Kind.CUSTOMER, records, advance,
            lambda chunk: self._ingest.BatchUpsertCustomers(pb.BatchUpsertCustomersRequest(customers=chunk)),
            lambda one: self._ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=one)))

    async def _accounts(self, records: list[Record], advance: Advance) -> None:
        await self._upserts(
            Kind.ACCOUNT, records, advance,
            lambda chunk: self._ingest.BatchUpsertAccounts(pb.BatchUpsertAccountsRequest(accounts=chunk)),
            lambda one: self._ingest.UpsertAccount(pb.UpsertAccountRequest(account=one)))

    async def _upserts(self, kind: Kind, records: list[Record], advance: Advance, batch: Send, single: Send) -> None:
        counts = self._report.counts[kind]
        for chunk in chunks(self._last_of_each(kind, records), UPSERT_BATCH):
            try:
                await batch([record.message for record in chunk])
                counts.accepted += len(chunk)
            except grpc.aio.AioRpcError as error:
                if error.code() not in _ROW_ERRORS:
                    raise
                for record in chunk:  # find the bad rows; the good ones are stored
                    try:
                        await single(record.message)
                        counts.accepted += 1
                    except grpc.aio.AioRpcError as row_error:
                        if row_error.code() not in _ROW_ERRORS:
                            raise
                        self._report.reject(Rejected(record.line, kind, record.key, *_reason(row_error)))
            advance(len(chunk))

    async def _transactions(self, records: list[Record], advance: Advance) -> None:
        async def requests() -> AsyncIterator[pb.IngestTransactionsRequest]:
            for chunk in chunks(records, TRANSACTION_BATCH):
                yield pb.IngestTransactionsRequest(transactions=[cast(pb.Transaction, record.message)
                                                                 for record in chunk],
                                                   backfill=self._backfill)
                advance(len(chunk))

        response = await self._ingest.IngestTransactions(requests())
        counts = self._report.counts[Kind.TRANSACTION]
        counts.accepted += response.accepted_count
        counts.duplicate += response.duplicate_count
        for rejected in response.rejected:  # index: the position in the stream, i.e. in records
            record = records[rejected.index]
            self._report.reject(Rejected(record.line, Kind.TRANSACTION, record.key, rejected.reason,
                                         rejected.message))
        self._undescribed(Kind.TRANSACTION, response.rejected_count - len(response.rejected))

    async def _balances(self, records: list[Record], advance: Advance) -> None:
        counts = self._report.counts[Kind.BALANCE]
        for chunk in chunks(self._last_of_each(Kind.BALANCE, records), BALANCE_BATCH):
            response = await self._ingest.RecordBalances(
                pb.RecordBalancesRequest(balances=[cast(pb.DailyBalance, record.message) for record in chunk]))
            counts.accepted += response.recorded_count
            for rejected in response.rejected:  # index: the position in this request
                record = chunk[rejected.index]
                self._report.reject(Rejected(record.line, Kind.BALANCE, record.key, rejected.reason,
                                             rejected.message))
            self._undescribed(Kind.BALANCE, response.rejected_count - len(response.rejected))
            advance(len(chunk))

    def _undescribed(self, kind: Kind, count: int) -> None:
        if count > 0:
            self._report.counts[kind].rejected += count
            self._report.undescribed_rejections += count


def ingest(
    ctx: typer.Context,
    file: Path = typer.Argument(..., metavar="FILE", help="A .csv, .jsonl or .ndjson file.", show_default=False),
    kind: KindOption | None = typer.Option(
        None, "--kind", help="What a CSV file holds (default: told by its header); for JSON Lines, the kind of "
                             "lines without a \"kind\" field."),
    backfill: bool = typer.Option(
        False, "--backfill", help="The transactions are history: they move balances but fire no real-time "
                                  "insight, alert or message."),
    strict: bool = typer.Option(
        False, "--strict", help="Exit 1 when any line was rejected (by default only when every line was)."),
) -> None:
    """Loads a CSV or JSON Lines file of customers, accounts, balances and transactions.

    Bad lines are reported with their line number and a reason; every good line is still loaded. The
    exit code is 1 when every line was rejected (nothing was loaded), or with --strict when any was.

    Needs a `service` token. The file formats are documented in docs/file-formats.md.

    Examples:
      engagectl ingest tests/data/records/customers.csv
      engagectl ingest history.jsonl --backfill --json
      engagectl ingest tests/data/records/transactions.csv --strict
    """
    cli = cli_context(ctx)
    try:
        parsed = read_records(file, Kind.parse(kind.value) if kind else None)
    except RecordFileError as exc:
        raise CommandFailed(str(exc)) from exc
    report = LoadReport(str(file), parsed.format, warnings=parsed.warnings())
    for rejected in parsed.rejected:
        report.reject(rejected)

    async def work(stubs: Stubs) -> None:
        # On stderr, so that --json output on stdout stays parseable.
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=errors, transient=True, disable=cli.json_output) as progress:
            await FileLoader(stubs, report, progress, backfill).load(parsed)

    cli.call(work)
    if cli.json_output:
        emit_json(report.as_dict())
    else:
        _show(report)
    failure = refusal(report, strict)
    if failure:
        raise CommandFailed(failure)


def refusal(report: LoadReport, strict: bool) -> str:
    """Why the load counts as failed (the report is printed all the same), or "" when it does not: every
    line rejected, or with `strict` any line. A duplicate is not a failure: the line is already stored."""
    totals = report.totals()
    if not totals.rejected:
        return ""
    if not totals.accepted and not totals.duplicate:
        return f"every line was rejected ({totals.rejected}): nothing was loaded"
    if strict:
        return f"{totals.rejected} line(s) rejected (--strict); the other {totals.accepted + totals.duplicate} loaded"
    return ""


def _show(report: LoadReport) -> None:
    rows: list[list[object]] = [[kind.plural, c.accepted, c.duplicate, c.rejected] for kind, c in report.counts.items()]
    if report.unreadable:
        rows.append(["unreadable lines", "", "", report.unreadable])
    totals = report.totals()
    rows.append(["total", totals.accepted, totals.duplicate, totals.rejected])
    emit_table(f"ingest {Path(report.file).name}", ["records", "accepted", "duplicate", "rejected"], rows)
    rejected = sorted(report.rejected, key=lambda r: r.line)
    if rejected:
        emit_table("rejected lines", ["line", "kind", Id("id"), "reason", "message"],
                   [[r.line, r.kind.value if r.kind else "", r.record_id, r.reason, r.message]
                    for r in rejected[:SHOWN_REJECTIONS]])
    if len(rejected) > SHOWN_REJECTIONS:
        errors.print(f"... and {len(rejected) - SHOWN_REJECTIONS} more rejected lines (--json lists them all)")
    if report.undescribed_rejections:
        errors.print(f"{report.undescribed_rejections} more rows were rejected without details from the service")
    for warning in report.warnings:
        errors.print(f"warning: {warning}", markup=False, highlight=False)
