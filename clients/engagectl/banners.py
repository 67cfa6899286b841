"""engagectl banners: the banners trigger rules and approved offers made for a customer, as the bank's
app reads them, with how often each was shown and tapped."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import name, short, time_of
from clients.engagectl.output import Column, Id, Wide, emit_list
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.triggers.v1 import banners_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Banners: what trigger rules and offers show a customer.")
COLUMNS: list[str | Column] = [Id("banner"), "title", "product", "rule", "created", "expires", "impressions",
                               "clicks", Wide("body"), Wide("call to action"), Wide("url")]


def _row(banner: pb.Banner) -> list[str]:
    rule = f"{short(banner.trigger_rule)} v{banner.rule_version}" if banner.trigger_rule else ""
    return [short(banner.name), banner.title, short(banner.product), rule, time_of(banner.create_time),
            time_of(banner.expire_time), str(banner.impressions), str(banner.clicks), banner.body,
            banner.call_to_action_label, banner.call_to_action_url]


@app.command("list")
def list_banners(ctx: typer.Context, customer: str = typer.Argument(..., metavar="CUSTOMER_ID",
                                                                    help="Id or customers/ID."),
                 limit: int = limit_option(100, "banners"), page_token: str = page_token_option(),
                 every_page: bool = all_option()) -> None:
    """Lists a customer's banners that have not expired, newest first.

    Examples:
      engagectl banners list demo-c0001
      engagectl banners list demo-c0001 -o wide
    """
    parent = name("customers", customer)
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Banner], str]:
        response = await stubs.banners.ListBanners(pb.ListBannersRequest(parent=parent, page_size=size,
                                                                         page_token=token))
        return list(response.banners), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list(f"banners of {short(parent)}", COLUMNS, listed.items, _row, listed.next_page_token)
