from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.money import show_money
from clients.engagectl.output import as_dict, emit_json, emit_table
from clients.engagectl.paging import collect
from engage.ingest.v1 import ingest_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Accounts ingested from the bank.")


@app.command("list")
def list_accounts(ctx: typer.Context,
                  customer: str = typer.Option("", help="Only this customer's accounts."),
                  limit: int = typer.Option(100, min=1, help="At most this many accounts (pages are followed)."),
                  ) -> None:
    """Lists accounts, ordered by id."""
    cli = cli_context(ctx)

    async def fetch(stubs):  # type: ignore[no-untyped-def]
        async def page(size: int, token: str) -> tuple[list[pb.Account], str]:
            response = await stubs.ingest.ListAccounts(pb.ListAccountsRequest(
                customer_id=customer, page_size=size, page_token=token))
            return list(response.accounts), response.next_page_token
        return await collect(page, limit)

    accounts = cli.call(fetch)
    if cli.json_output:
        emit_json([as_dict(a) for a in accounts])
        return
    emit_table("accounts", ["account", "customer", "type", "container", "name", "current", "available"], [
        [a.account_id, a.customer_id, pb.AccountType.Name(a.type).removeprefix("ACCOUNT_TYPE_"),
         pb.Container.Name(a.container).removeprefix("CONTAINER_"), a.account_name,
         show_money(a.current_balance), show_money(a.available_balance)] for a in accounts])
