"""engagectl statements / scheduled-payments: card and loan statements (what is due, by when) and payments
towards those accounts, as the bank feeds them (docs/services/ingest.md#statements)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_text, date_value
from clients.engagectl.engagement_common import label
from clients.engagectl.money import money, show_money
from clients.engagectl.output import Column, Id, emit_list, emit_record, enum_number
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.engagectl.times import timestamp_value
from clients.stubs import Stubs
from engage.ingest.v1 import ingest_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Card and loan statements (minimum due, due date): list, upsert.")
payments_app = typer.Typer(no_args_is_help=True,
                           help="Payments scheduled towards card and loan accounts, and their outcome: list, upsert.")
COLUMNS: list[str | Column] = [Id("statement"), Id("account"), "closed", "due", "minimum due", "balance"]
PAYMENT_COLUMNS: list[str | Column] = [Id("payment"), Id("account"), "scheduled", "amount", "state", "settled"]


def row(s: pb.Statement) -> list[str]:
    return [s.statement_id, s.account_id, date_text(s.statement_date), date_text(s.due_date),
            show_money(s.minimum_due), show_money(s.statement_balance)]


def payment_row(p: pb.ScheduledPayment) -> list[str]:
    return [p.payment_id, p.account_id, date_text(p.scheduled_date), show_money(p.amount),
            label(pb.ScheduledPaymentState, p.state),
            p.settle_time.ToDatetime(dt.UTC).isoformat() if p.HasField("settle_time") else ""]


def _amount(text: str, currency: str, option: str) -> object:
    try:
        return money(Decimal(text), currency)
    except (InvalidOperation, ValueError, OverflowError) as exc:  # not a number; NaN, Infinity, out of range
        raise typer.BadParameter(f"{text!r} is not a decimal number", param_hint=option) from exc


@app.command("upsert")
def upsert(ctx: typer.Context,
           statement_id: str = typer.Argument(..., metavar="STATEMENT_ID", help="The bank's id for it."),
           account: str = typer.Option(..., metavar="ACCOUNT_ID", help="The credit card or loan account."),
           closed: str = typer.Option(..., "--statement-date", metavar="DATE", help="The day it closed, YYYY-MM-DD."),
           due: str = typer.Option(..., "--due-date", metavar="DATE", help="The last day to pay, YYYY-MM-DD."),
           minimum_due: str = typer.Option(..., metavar="AMOUNT", help="The minimum to pay by the due date."),
           balance: str = typer.Option(..., metavar="AMOUNT", help="The statement's closing balance."),
           currency: str = typer.Option(..., metavar="CURRENCY", help="The account's ISO 4217 code.")) -> None:
    """Creates or replaces a statement (needs a `service` token).

    Examples:
      engagectl statements upsert st-2024-03 --account card-1 --statement-date 2024-03-01 --due-date 2024-03-20 \\
        --minimum-due 500 --balance 5000 --currency CZK
    """
    cli = cli_context(ctx)
    made = pb.Statement(statement_id=statement_id, account_id=account, statement_date=date_value(closed,
                                                                                                "--statement-date"),
                        due_date=date_value(due, "--due-date"))
    made.minimum_due.CopyFrom(_amount(minimum_due, currency, "--minimum-due"))  # type: ignore[arg-type]
    made.statement_balance.CopyFrom(_amount(balance, currency, "--balance"))  # type: ignore[arg-type]
    response = cli.call(lambda s: s.ingest.BatchUpsertStatements(pb.BatchUpsertStatementsRequest(statements=[made])))
    emit_record("statements upserted", {"upserted": response.upserted_count})


@app.command("list")
def list_statements(ctx: typer.Context,
                    account: str = typer.Option(..., metavar="ACCOUNT_ID", help="The account."),
                    limit: int = limit_option(100, "statements, latest due date first"),
                    page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists an account's statements, latest due date first.

    Examples:
      engagectl statements list --account card-1
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Statement], str]:
        response = await stubs.ingest.ListStatements(pb.ListStatementsRequest(
            parent=f"accounts/{account}", page_size=size, page_token=token))
        return list(response.statements), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list(f"statements of {account}", COLUMNS, listed.items, row, listed.next_page_token)


@payments_app.command("upsert")
def upsert_payment(ctx: typer.Context,
                   payment_id: str = typer.Argument(..., metavar="PAYMENT_ID", help="The bank's id for it."),
                   account: str = typer.Option(..., metavar="ACCOUNT_ID", help="The card or loan account it pays."),
                   amount: str = typer.Option(..., metavar="AMOUNT", help="More than zero."),
                   currency: str = typer.Option(..., metavar="CURRENCY", help="The account's ISO 4217 code."),
                   scheduled: str = typer.Option(..., "--scheduled-date", metavar="DATE", help="YYYY-MM-DD."),
                   state: str = typer.Option("SCHEDULED", metavar="STATE",
                                             help="SCHEDULED, PROCESSED, FAILED or CANCELLED."),
                   settled: str = typer.Option("", "--settle-time", metavar="TIME",
                                               help="When it was processed, failed or was cancelled (ISO 8601 "
                                                    "with offset); default: when Engage stores it.")) -> None:
    """Creates a scheduled payment or records what became of it (needs a `service` token). A payment
    processed, failed or cancelled keeps that state.

    Examples:
      engagectl scheduled-payments upsert pay-7 --account card-1 --amount 500 --currency CZK --scheduled-date 2024-03-18
      engagectl scheduled-payments upsert pay-7 --account card-1 --amount 500 --currency CZK \\
        --scheduled-date 2024-03-18 --state PROCESSED
    """
    cli = cli_context(ctx)
    try:
        number = enum_number(pb.ScheduledPaymentState, state)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--state") from exc
    made = pb.ScheduledPayment(payment_id=payment_id, account_id=account,
                               scheduled_date=date_value(scheduled, "--scheduled-date"), state=number)
    made.amount.CopyFrom(_amount(amount, currency, "--amount"))  # type: ignore[arg-type]
    if settled:
        made.settle_time.CopyFrom(timestamp_value(settled, "--settle-time"))
    response = cli.call(lambda s: s.ingest.BatchUpsertScheduledPayments(pb.BatchUpsertScheduledPaymentsRequest(
        scheduled_payments=[made])))
    emit_record("scheduled payments upserted", {"upserted": response.upserted_count})


@payments_app.command("list")
def list_payments(ctx: typer.Context,
                  account: str = typer.Option(..., metavar="ACCOUNT_ID", help="The account."),
                  limit: int = limit_option(100, "payments, latest scheduled date first"),
                  page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists the payments scheduled towards an account, latest scheduled date first.

    Examples:
      engagectl scheduled-payments list --account card-1
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.ScheduledPayment], str]:
        response = await stubs.ingest.ListScheduledPayments(pb.ListScheduledPaymentsRequest(
            parent=f"accounts/{account}", page_size=size, page_token=token))
        return list(response.scheduled_payments), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list(f"scheduled payments of {account}", PAYMENT_COLUMNS, listed.items, payment_row, listed.next_page_token)
