"""engagectl balances: an account's end-of-day balances (recorded with `engagectl ingest`)."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_range, date_text
from clients.engagectl.money import show_money
from clients.engagectl.output import Column, Id, emit_list
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.ingest.v1 import ingest_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="End-of-day balances (record them with engagectl ingest).")
COLUMNS: list[str | Column] = [Id("account"), "date", "balance"]


def row(b: pb.DailyBalance) -> list[str]:
    return [b.account_id, date_text(b.date), show_money(b.balance)]


@app.command("list")
def list_balances(ctx: typer.Context,
                  account: str = typer.Option(..., metavar="ACCOUNT_ID", help="The account."),
                  since: str | None = typer.Option(None, "--from", metavar="DATE", help="First day, YYYY-MM-DD."),
                  until: str | None = typer.Option(None, "--to", metavar="DATE", help="Last day, YYYY-MM-DD."),
                  limit: int = limit_option(100, "balances, oldest first"), page_token: str = page_token_option(),
                  every_page: bool = all_option()) -> None:
    """Lists an account's end-of-day balances, oldest first.

    Balances are recorded from a file: `engagectl ingest balances.csv`.

    Examples:
      engagectl balances list --account demo-a0001-chk
      engagectl balances list --account demo-a0001-chk --from 2026-01-01 --to 2026-03-31 --all
    """
    cli = cli_context(ctx)
    probe = pb.ListBalancesRequest()
    date_range(probe.date_range, since, until)  # a bad date is a usage error before any call

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.DailyBalance], str]:
        request = pb.ListBalancesRequest(parent=f"accounts/{account}", page_size=size, page_token=token)
        if probe.HasField("date_range"):
            request.date_range.CopyFrom(probe.date_range)
        response = await stubs.ingest.ListBalances(request)
        return list(response.balances), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list(f"balances of {account}", COLUMNS, listed.items, row, listed.next_page_token)
