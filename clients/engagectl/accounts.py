"""engagectl accounts: accounts ingested from the bank."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import label
from clients.engagectl.money import show_money
from clients.engagectl.output import Column, Id, Wide, emit_list, emit_record
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.ingest.v1 import ingest_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Accounts ingested from the bank: list, get.")
COLUMNS: list[str | Column] = [Id("account"), Id("customer"), "type", "current", "available", "name", Wide("container")]


def row(a: pb.Account) -> list[str]:
    return [a.account_id, a.customer_id, label(pb.AccountType, a.type), show_money(a.current_balance),
            show_money(a.available_balance), a.account_name, label(pb.Container, a.container)]


@app.command("list")
def list_accounts(ctx: typer.Context,
                  customer: str = typer.Option("", metavar="CUSTOMER_ID", help="Only this customer's accounts."),
                  limit: int = limit_option(100, "accounts"), page_token: str = page_token_option(),
                  every_page: bool = all_option()) -> None:
    """Lists accounts, ordered by id.

    Examples:
      engagectl accounts list --customer demo-c0001
      engagectl accounts list --all -o json
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Account], str]:
        response = await stubs.ingest.ListAccounts(pb.ListAccountsRequest(
            customer_id=customer, page_size=size, page_token=token))
        return list(response.accounts), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("accounts", COLUMNS, listed.items, row, listed.next_page_token)


@app.command("get")
def get(ctx: typer.Context, account_id: str = typer.Argument(..., metavar="ACCOUNT_ID", help="Id or accounts/ID.")
        ) -> None:
    """Shows one account, every field (balances, parties and attributes too).

    Examples:
      engagectl accounts get demo-a0001-chk
      engagectl accounts get demo-a0001-chk --json
    """
    cli = cli_context(ctx)
    account_name = account_id if account_id.startswith("accounts/") else f"accounts/{account_id}"
    emit_record("account", cli.call(lambda s: s.ingest.GetAccount(pb.GetAccountRequest(name=account_name))))
