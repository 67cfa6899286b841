"""engagectl demo seed: a deterministic, realistic data set sent through the IngestService."""

from __future__ import annotations

import datetime as dt
from itertools import chain

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clients.batching import chunks
from clients.demo_data import DemoSpec, accounts_of, activity_of, customer_message, default_until, profiles
from clients.engagectl.context import cli_context
from clients.engagectl.output import CommandFailed, emit_json, emit_table, errors
from clients.ingest_writer import IngestSummary, IngestWriter
from clients.stubs import Stubs

app = typer.Typer(no_args_is_help=True, help="Deterministic demonstration data.")

# Customers simulated and sent per transaction stream: bounds memory whatever --customers is.
CUSTOMERS_PER_STREAM = 50


def _until(text: str | None) -> dt.date:
    if not text:
        return default_until()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint="--until") from exc


def _progress(hidden: bool) -> Progress:
    # On stderr, so that --json output on stdout stays parseable.
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=errors, transient=True, disable=hidden or not errors.is_terminal)


async def _send(stubs: Stubs, spec: DemoSpec, progress: Progress) -> IngestSummary:
    writer = IngestWriter(stubs)
    people = profiles(spec)
    accounts = [account for person in people for account in accounts_of(spec, person)]
    customers_task = progress.add_task("customers", total=len(people))
    await writer.customers([customer_message(p) for p in people],
                           progress=lambda n: progress.advance(customers_task, n))
    accounts_task = progress.add_task("accounts", total=len(accounts))
    await writer.accounts(accounts, progress=lambda n: progress.advance(accounts_task, n))
    activity_task = progress.add_task("activity", total=len(people))
    for group in chunks(people, CUSTOMERS_PER_STREAM):
        activities = [activity_of(spec, person) for person in group]
        await writer.transactions(chain.from_iterable(a.transactions for a in activities))
        await writer.balances(chain.from_iterable(a.balances for a in activities))
        summary = writer.summary
        progress.update(activity_task, advance=len(group), description=(
            f"activity: {summary.transactions_accepted + summary.transactions_duplicate:,} transactions, "
            f"{summary.balances_recorded:,} balances"))
    return writer.summary


@app.command("seed")
def seed_command(
    ctx: typer.Context,
    customers: int = typer.Option(100, min=1, metavar="N", help="How many customers (demo-c0001, demo-c0002, ...)."),
    months: int = typer.Option(12, min=1, max=120, metavar="N",
                               help="Calendar months of activity, ending with --until's month."),
    seed: int = typer.Option(42, metavar="N", help="Random seed: the same arguments always give the same data."),
    until: str | None = typer.Option(None, metavar="DATE", help="Last day of activity, YYYY-MM-DD (default: the "
                                                                "last day of the previous month, UTC)."),
    currency: str = typer.Option("EUR", metavar="CODE", help="ISO 4217 code of every account."),
) -> None:
    """Creates customers, accounts, transactions and end-of-day balances, deterministically.

    Needs a `service` token. Re-running with the same arguments adds nothing (every transaction is a duplicate).

    Exits 1 if the service rejected any transaction or balance.

    Examples:
      engagectl demo seed
      engagectl demo seed --customers 5 --months 3 --seed 7 --currency CZK
    """
    cli = cli_context(ctx)
    try:
        spec = DemoSpec(customers=customers, months=months, seed=seed, until=_until(until),
                        currency=currency.strip().upper())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc

    async def work(stubs: Stubs) -> IngestSummary:
        with _progress(hidden=cli.json_output) as progress:
            return await _send(stubs, spec, progress)

    summary = cli.call(work)
    period = {"customers": spec.customers, "months": spec.months, "seed": spec.seed, "currency": spec.currency,
              "from": spec.start.isoformat(), "until": spec.until.isoformat()}
    if cli.json_output:
        emit_json({**summary.as_dict(), "spec": period})
    else:
        _show(summary, spec)
    rejected = summary.transactions_rejected + summary.balances_rejected
    if rejected:
        raise CommandFailed(f"the service rejected {rejected} rows")


def _show(summary: IngestSummary, spec: DemoSpec) -> None:
    emit_table(f"demo seed {spec.seed}: {spec.customers} customers, {spec.start} to {spec.until} ({spec.currency})",
               ["what", "accepted", "duplicate", "rejected"], [
                   ["customers (upserted)", summary.customers, "", ""],
                   ["accounts (upserted)", summary.accounts, "", ""],
                   ["transactions", summary.transactions_accepted, summary.transactions_duplicate,
                    summary.transactions_rejected],
                   ["end-of-day balances (recorded)", summary.balances_recorded, "", summary.balances_rejected],
               ])
    for line in summary.rejections[:50]:
        errors.print(line, markup=False, highlight=False)
    if len(summary.rejections) > 50:
        errors.print(f"... and {len(summary.rejections) - 50} more", markup=False)
