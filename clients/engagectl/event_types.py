"""engagectl event-types: kinds of events customers may opt out of."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import short
from clients.engagectl.output import Column, Id, emit_list, emit_record
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Event types: create, list.")
COLUMNS: list[str | Column] = [Id("id"), "name", "description"]


def _row(t: pb.EventType) -> list[str]:
    return [short(t.name), t.display_name, t.description]


@app.command("create")
def create(ctx: typer.Context, name_: str = typer.Option(..., "--name", metavar="NAME"),
           description: str = typer.Option("", metavar="TEXT")) -> None:
    """Creates an event type.

    Examples:
      engagectl event-types create --name "Card alerts" --description "Card payments and withdrawals"
    """
    cli = cli_context(ctx)
    emit_record("event type", cli.call(lambda s: s.engagement.CreateEventType(pb.CreateEventTypeRequest(
        event_type=pb.EventType(display_name=name_, description=description)))))


@app.command("list")
def list_types(ctx: typer.Context, limit: int = limit_option(100, "event types"),
               page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists event types.

    Examples:
      engagectl event-types list
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.EventType], str]:
        response = await stubs.engagement.ListEventTypes(pb.ListEventTypesRequest(page_size=size, page_token=token))
        return list(response.event_types), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("event types", COLUMNS, listed.items, _row, listed.next_page_token)
