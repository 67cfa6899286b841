"""engagectl transactions: an account's ingested transactions."""

from __future__ import annotations

import datetime as dt

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_value
from clients.engagectl.engagement_common import label
from clients.engagectl.money import show_money
from clients.engagectl.output import Column, Id, emit_list, enum_number
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.ingest.v1 import ingest_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Transactions ingested from the bank.")
COLUMNS: list[str | Column] = [Id("id"), "posted", "direction", "amount", "balance after", "description", "category",
                               "status"]


def row(t: pb.Transaction) -> list[str]:
    return [t.transaction_id, t.post_time.ToDatetime(tzinfo=dt.UTC).isoformat(timespec="minutes"),
            label(pb.Direction, t.direction), show_money(t.amount),
            show_money(t.running_balance) if t.HasField("running_balance") else "", t.description, t.category,
            label(pb.TransactionStatus, t.status) if t.status else "BOOKED"]


@app.command("list")
def list_transactions(ctx: typer.Context,
                      account: str = typer.Option(..., metavar="ACCOUNT_ID", help="The account."),
                      since: str | None = typer.Option(None, "--from", metavar="DATE",
                                                       help="First posting date, YYYY-MM-DD."),
                      until: str | None = typer.Option(None, "--to", metavar="DATE",
                                                       help="Last posting date, YYYY-MM-DD."),
                      status: str = typer.Option("BOOKED", metavar="STATUS",
                                                 help="BOOKED, or PENDING / DECLINED: those that moved no balance."),
                      limit: int = limit_option(50, "transactions, newest first"),
                      page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists an account's transactions, newest first.

    Examples:
      engagectl transactions list --account demo-a0001-chk
      engagectl transactions list --account demo-a0001-chk --from 2026-01-01 --to 2026-01-31 --all
      engagectl transactions list --account demo-a0001-chk --status DECLINED
    """
    cli = cli_context(ctx)
    start, end = date_value(since, "--from"), date_value(until, "--to")
    try:
        wanted = enum_number(pb.TransactionStatus, status)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--status") from exc

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Transaction], str]:
        request = pb.ListTransactionsRequest(parent=f"accounts/{account}", page_size=size, page_token=token,
                                             status=wanted)
        if start:
            request.date_range.start_date.CopyFrom(start)
        if end:
            request.date_range.end_date.CopyFrom(end)
        response = await stubs.ingest.ListTransactions(request)
        return list(response.transactions), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list(f"transactions of {account}", COLUMNS, listed.items, row, listed.next_page_token)
