"""engagectl import: loads real data sets through IngestService (role `service`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clients.batching import chunks
from clients.berka.balances import BalanceDerivation, derive_daily_balances
from clients.berka.reader import BerkaData, MissingFile, RowRejection, read_berka
from clients.berka.records import (
    account_messages,
    balance_messages,
    customer_messages,
    holding_messages,
    transaction_messages,
)
from clients.engagectl.context import cli_context
from clients.engagectl.output import CommandFailed, console, emit_json, emit_table, errors
from clients.ingest_writer import TRANSACTION_BATCH, UPSERT_BATCH, IngestSummary, IngestWriter
from clients.ingest_writer import Progress as Advance
from clients.stubs import Stubs
from engage.ingest.v1 import ingest_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Imports of real data sets.")

# The human summary lists this many rejections and check failures; --json has all of them.
SHOWN_PROBLEMS = 20


@dataclass
class BerkaReport:
    ingest: IngestSummary
    derivation: BalanceDerivation
    rejected_rows: list[RowRejection]
    loans: int
    cards: int
    account_balances_set: int = 0

    def as_dict(self) -> dict[str, object]:
        return {**self.ingest.as_dict(), "loans": self.loans, "cards": self.cards,
                "balance_days_checked": self.derivation.days_checked,
                "balance_check_failures": len(self.derivation.failures),
                "balance_check_failed_days": [str(f) for f in self.derivation.failures],
                "account_balances_set": self.account_balances_set,
                "rejected_rows": [asdict(r) for r in self.rejected_rows]}


def _new_report(data: BerkaData, derivation: BalanceDerivation) -> BerkaReport:
    # Rows the file itself spoils never reach the server: they count as rejected here.
    ingest = IngestSummary(transactions_rejected=sum(1 for r in data.rejections if r.file == "trans.asc"),
                           rejections=[str(r) for r in data.rejections])
    return BerkaReport(ingest, derivation, list(data.rejections), loans=len(data.loans), cards=len(data.cards))


async def _send(stubs: Stubs, data: BerkaData, report: BerkaReport, progress: Progress) -> None:
    """Customers, accounts (no balances), holdings, transactions, daily balances, then the bank's own
    final balance per account: the service moves balances by each accepted amount, which drifts by
    the rounded interest, and the bank's figure is authoritative."""
    writer = IngestWriter(stubs, report.ingest)

    def step(label: str, total: int) -> Advance:
        task = progress.add_task(label, total=total)
        return lambda done: progress.advance(task, done)

    customers = customer_messages(data)
    await writer.customers(customers, step("customers", len(customers)))
    accounts = account_messages(data)
    await writer.accounts(accounts, step("accounts", len(accounts)))
    holdings = holding_messages(data)
    await writer.holdings(holdings, step("holdings", len(holdings)))
    await writer.transactions(transaction_messages(data.transactions),
                              step("transactions", len(data.transactions)), batch_size=TRANSACTION_BATCH,
                              backfill=True)  # 1993-98 history: balances, not news
    balances = balance_messages(report.derivation.closings)
    await writer.balances(balances, step("daily balances", len(balances)))

    final_balances = account_messages(data, report.derivation.last_balances())
    advance = step("account balances", len(final_balances))
    for chunk in chunks(final_balances, UPSERT_BATCH):
        response = await stubs.ingest.BatchUpsertAccounts(pb.BatchUpsertAccountsRequest(accounts=chunk))
        report.account_balances_set += response.upserted_count
        advance(len(chunk))


def _print_summary(report: BerkaReport) -> None:
    summary = report.ingest
    derivation = report.derivation
    emit_table("Berka import", ["what", "count"], [
        ["customers", summary.customers],
        ["accounts", summary.accounts],
        ["holdings", f"{summary.holdings} ({report.loans} loans, {report.cards} cards)"],
        ["transactions accepted", summary.transactions_accepted],
        ["transactions duplicate", summary.transactions_duplicate],
        ["transactions rejected", summary.transactions_rejected],
        ["balances recorded", summary.balances_recorded],
        ["balances rejected", summary.balances_rejected],
        ["balance-check failures", f"{len(derivation.failures)} of {derivation.days_checked} days"],
        ["account balances set", report.account_balances_set],
    ])
    problem_lists = (("rejections", summary.rejections), ("days failing the balance check", derivation.failures))
    for title, problems in problem_lists:
        if problems:
            console.print(f"{title}:", highlight=False)
            for problem in problems[:SHOWN_PROBLEMS]:
                console.print(f"  {problem}", markup=False, highlight=False)
            if len(problems) > SHOWN_PROBLEMS:
                console.print(f"  ... and {len(problems) - SHOWN_PROBLEMS} more (--json lists all)", highlight=False)


@app.command("berka")
def berka(ctx: typer.Context,
          directory: Path = typer.Argument(..., metavar="DIRECTORY",
                                           help="Directory holding the data set's .asc files."),
          ) -> None:
    """Imports the PKDD'99 financial data set (Berka): clients, accounts, loans, cards, transactions and end-of-day balances.

    Re-running it adds nothing. The transactions load as backfill: they move balances but fire no real-time insight, alert or message.

    Examples:
      engagectl import berka data/berka
      engagectl import berka data/berka --json > berka-report.json
    """  # noqa: E501  (help joins no lines within a paragraph)
    cli = cli_context(ctx)
    try:
        data = read_berka(directory)
    except MissingFile as exc:
        raise CommandFailed(str(exc)) from None
    report = _new_report(data, derive_daily_balances(row.posting() for row in data.transactions))

    columns = (TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=errors, disable=cli.json_output or not errors.is_terminal) as progress:
        cli.call(lambda stubs: _send(stubs, data, report, progress))

    if cli.json_output:
        emit_json(report.as_dict())
    else:
        _print_summary(report)
