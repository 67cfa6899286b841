"""engagectl event-types: kinds of events customers may opt out of."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import channel, channel_name, name, short
from clients.engagectl.output import Column, Id, emit_list, emit_record
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.engagectl.times import duration_text, duration_value
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Event types: create, list, update.")
COLUMNS: list[str | Column] = [Id("id"), "name", "description", "fallback"]
FALLBACK_HELP = ("A step of the channel fallback, in order: CHANNEL:WAIT (PUSH:10m = push, then the next step "
                 "if not delivered within 10 minutes); the last step without a wait (EMAIL). Repeat.")


def _row(t: pb.EventType) -> list[str]:
    return [short(t.name), t.display_name, t.description, fallback_text(t.fallback_policy)]


def fallback_text(policy: pb.FallbackPolicy) -> str:
    """`PUSH:10m > SMS:1h > EMAIL`, as --fallback takes it."""
    return " > ".join(channel_name(s.channel) + (f":{duration_text(s.wait)}" if s.HasField("wait") else "")
                      for s in policy.steps)


def fallback_policy(steps: list[str]) -> pb.FallbackPolicy:
    policy = pb.FallbackPolicy()
    for text in steps:
        kind, _, wait = text.partition(":")
        step = policy.steps.add(channel=channel(kind.strip(), "--fallback"))
        if wait.strip():
            step.wait.CopyFrom(duration_value(wait, "--fallback"))
    return policy


@app.command("create")
def create(ctx: typer.Context, name_: str = typer.Option(..., "--name", metavar="NAME"),
           description: str = typer.Option("", metavar="TEXT"),
           fallback: list[str] = typer.Option([], metavar="CHANNEL[:WAIT]", help=FALLBACK_HELP)) -> None:
    """Creates an event type.

    Examples:
      engagectl event-types create --name "Card alerts" --description "Card payments and withdrawals"
      engagectl event-types create --name "Payments" --fallback PUSH:10m --fallback SMS:1h --fallback EMAIL
    """
    cli = cli_context(ctx)
    emit_record("event type", cli.call(lambda s: s.engagement.CreateEventType(pb.CreateEventTypeRequest(
        event_type=pb.EventType(display_name=name_, description=description,
                                fallback_policy=fallback_policy(fallback))))))


@app.command("update")
def update(ctx: typer.Context,
           event_type_id: str = typer.Argument(..., metavar="EVENT_TYPE_ID", help="Id or eventTypes/ID."),
           name_: str | None = typer.Option(None, "--name", metavar="NAME"),
           description: str | None = typer.Option(None, metavar="TEXT"),
           fallback: list[str] = typer.Option([], metavar="CHANNEL[:WAIT]",
                                              help=FALLBACK_HELP + " Replaces the policy."),
           no_fallback: bool = typer.Option(False, "--no-fallback", help="Removes the fallback policy.")) -> None:
    """Changes what is given of an event type.

    Examples:
      engagectl event-types update 41c0 --fallback PUSH:5m --fallback SMS
      engagectl event-types update 41c0 --no-fallback
    """
    if fallback and no_fallback:
        raise typer.BadParameter("give --fallback steps or --no-fallback, not both", param_hint="--no-fallback")
    cli = cli_context(ctx)
    paths = [p for p, v in (("display_name", name_ is not None), ("description", description is not None),
                            ("fallback_policy", bool(fallback) or no_fallback)) if v]
    request = pb.UpdateEventTypeRequest(event_type=pb.EventType(
        name=name("eventTypes", event_type_id), display_name=name_ or "", description=description or "",
        fallback_policy=fallback_policy(fallback)))
    request.update_mask.paths.extend(paths)
    emit_record("event type", cli.call(lambda s: s.engagement.UpdateEventType(request)))


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
