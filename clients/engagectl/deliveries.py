"""engagectl deliveries: delivery status, and re-driving the dead letters."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import channel_name, label, name, short, time_of
from clients.engagectl.output import Column, Id, Wide, emit_json, emit_list, emit_record, enum_number
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Deliveries: list, get, retry.")
COLUMNS: list[str | Column] = [
    Id("delivery id"), Id("customer"), "channel", "state", "error / reason", "attempts", "created", "sent", "address",
    Wide("provider"), Wide("error message"), Wide("fallback")]


def row(d: pb.Delivery) -> list[str]:
    return [short(d.name), d.customer_id, channel_name(d.channel), label(pb.DeliveryState, d.state),
            d.error_code or d.skip_reason, str(d.attempts), time_of(d.create_time), time_of(d.sent_time), d.address,
            d.provider, d.error_message, fallback_text(d)]


def fallback_text(d: pb.Delivery) -> str:
    """`2 TIMED_OUT`: the delivery's step in its fallback chain and what became of it."""
    if not d.HasField("fallback"):
        return ""
    return f"{d.fallback.step} {label(pb.FallbackStepState, d.fallback.state).removeprefix('FALLBACK_STEP_')}"


@app.command("list")
def list_deliveries(ctx: typer.Context,
                    state: str | None = typer.Option(None, metavar="STATE", help="QUEUED, SENT, DEAD_LETTER..."),
                    customer: str = typer.Option("", metavar="CUSTOMER_ID", help="Only this customer's."),
                    event: str = typer.Option("", metavar="EVENT_ID", help="Only this event's."),
                    campaign: str = typer.Option("", metavar="CAMPAIGN_ID", help="Only this campaign's."),
                    limit: int = limit_option(100, "deliveries"), page_token: str = page_token_option(),
                    every_page: bool = all_option()) -> None:
    """Lists deliveries, newest first.

    Examples:
      engagectl deliveries list --state DEAD_LETTER
      engagectl deliveries list --customer demo-c0001 -o wide
    """
    cli = cli_context(ctx)
    try:
        state_number = enum_number(pb.DeliveryState, state) if state else pb.DELIVERY_STATE_UNSPECIFIED
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--state") from exc

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Delivery], str]:
        response = await stubs.engagement.ListDeliveries(pb.ListDeliveriesRequest(
            state=state_number, customer_id=customer, event=name("events", event) if event else "",
            campaign=name("campaigns", campaign) if campaign else "", page_size=size, page_token=token))
        return list(response.deliveries), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("deliveries", COLUMNS, listed.items, row, listed.next_page_token)


@app.command("get")
def get(ctx: typer.Context, delivery_id: str = typer.Argument(..., metavar="DELIVERY_ID",
                                                              help="Id or deliveries/ID.")) -> None:
    """Shows one delivery, every field: its state, attempts, and the provider's error message.

    Examples:
      engagectl deliveries get 0c9d7e
      engagectl deliveries get 0c9d7e --json
    """
    cli = cli_context(ctx)
    emit_record("delivery", cli.call(lambda s: s.engagement.GetDelivery(pb.GetDeliveryRequest(
        name=name("deliveries", delivery_id)))))


@app.command("retry")
def retry(ctx: typer.Context, delivery_ids: list[str] = typer.Argument(None, metavar="DELIVERY_ID",
                                                                       help="Default: every dead-lettered one.")
          ) -> None:
    """Re-drives the named deliveries, or every dead-lettered one.

    Examples:
      engagectl deliveries retry
      engagectl deliveries retry 0c9d7e 1a2b3c
    """
    cli = cli_context(ctx)
    response = cli.call(lambda s: s.engagement.RetryDeliveries(pb.RetryDeliveriesRequest(
        names=[name("deliveries", d) for d in delivery_ids or []])))
    if cli.json_output:
        emit_json({"requeued": response.requeued})
    else:
        print(f"re-queued {response.requeued} deliveries")
