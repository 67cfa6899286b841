"""engagectl passes: the Apple Wallet passes issued to customers (docs/wallet-passes.md)."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import time_of
from clients.engagectl.output import Column, Id, emit_list
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Wallet passes issued by events' PASS messages: list.")
COLUMNS: list[str | Column] = [Id("serial"), "customer", "pass type", "devices", "message", "issued", "updated"]


def _row(p: pb.WalletPassRecord) -> list[str]:
    return [p.serial_number, p.customer_id, p.pass_type_identifier, str(p.registered_devices), p.message,
            time_of(p.create_time), time_of(p.update_time)]


@app.command("list")
def list_passes(ctx: typer.Context,
                customer: str = typer.Option("", metavar="CUSTOMER_ID", help="Only this customer's."),
                limit: int = limit_option(100, "passes"), page_token: str = page_token_option(),
                every_page: bool = all_option()) -> None:
    """Lists the Wallet passes issued, with how many devices registered for each one's updates.

    Examples:
      engagectl passes list
      engagectl passes list --customer demo-c0001
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.WalletPassRecord], str]:
        response = await stubs.engagement.ListWalletPasses(pb.ListWalletPassesRequest(
            customer_id=customer, page_size=size, page_token=token))
        return list(response.wallet_passes), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("wallet passes", COLUMNS, listed.items, _row, listed.next_page_token)
