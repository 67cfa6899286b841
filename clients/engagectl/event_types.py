"""engagectl event-types."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import short, show, show_one
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Event types: create, list.")


def _row(t: pb.EventType) -> list[str]:
    return [short(t.name), t.display_name, t.description]


@app.command("create")
def create(ctx: typer.Context, name_: str = typer.Option(..., "--name"), description: str = typer.Option("")) -> None:
    cli = cli_context(ctx)
    show_one(cli, "event type", cli.call(lambda s: s.engagement.CreateEventType(pb.CreateEventTypeRequest(
        event_type=pb.EventType(display_name=name_, description=description)))), ["id", "name", "description"], _row)


@app.command("list")
def list_types(ctx: typer.Context) -> None:
    cli = cli_context(ctx)
    response = cli.call(lambda s: s.engagement.ListEventTypes(pb.ListEventTypesRequest(page_size=1000)))
    show(cli, "event types", ["id", "name", "description"], list(response.event_types), _row)
