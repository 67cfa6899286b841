"""engagectl deliveries: delivery status, and re-driving the dead letters."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import channel_name, name, short, show, show_one, time_of
from clients.engagectl.paging import collect
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Deliveries: list, get, retry.")
COLUMNS = ["delivery id", "customer", "channel", "provider", "address", "state", "attempts", "error / reason",
           "created", "sent"]


def row(d: pb.Delivery) -> list[str]:
    return [short(d.name), d.customer_id, channel_name(d.channel), d.provider, d.address,
            pb.DeliveryState.Name(d.state), str(d.attempts), d.error_code or d.skip_reason,
            time_of(d.create_time), time_of(d.sent_time)]


@app.command("list")
def list_deliveries(ctx: typer.Context, state: str | None = typer.Option(None, help="QUEUED, SENT, DEAD_LETTER..."),
                    customer: str = typer.Option(""), event: str = typer.Option(""), campaign: str = typer.Option(""),
                    limit: int = typer.Option(100, min=1)) -> None:
    """Newest first, following pages up to --limit."""
    cli = cli_context(ctx)
    try:
        state_number = pb.DeliveryState.Value(state.upper()) if state else 0
    except ValueError as exc:
        raise typer.BadParameter(f"{state!r} is not a delivery state", param_hint="--state") from exc

    async def fetch(stubs):  # type: ignore[no-untyped-def]
        async def page(size: int, token: str) -> tuple[list[pb.Delivery], str]:
            response = await stubs.engagement.ListDeliveries(pb.ListDeliveriesRequest(
                state=state_number, customer_id=customer, event=name("events", event) if event else "",
                campaign=name("campaigns", campaign) if campaign else "", page_size=size, page_token=token))
            return list(response.deliveries), response.next_page_token
        return await collect(page, limit)

    show(cli, "deliveries", COLUMNS, cli.call(fetch), row)


@app.command("get")
def get(ctx: typer.Context, delivery_id: str) -> None:
    cli = cli_context(ctx)
    show_one(cli, "delivery", cli.call(lambda s: s.engagement.GetDelivery(pb.GetDeliveryRequest(
        name=name("deliveries", delivery_id)))), COLUMNS, row)


@app.command("retry")
def retry(ctx: typer.Context, delivery_ids: list[str] = typer.Argument(None)) -> None:
    """Re-drives the named deliveries, or every dead-lettered one."""
    cli = cli_context(ctx)
    response = cli.call(lambda s: s.engagement.RetryDeliveries(pb.RetryDeliveriesRequest(
        names=[name("deliveries", d) for d in delivery_ids or []])))
    if cli.json_output:
        print(f'{{"requeued": {response.requeued}}}')
    else:
        print(f"re-queued {response.requeued} deliveries")
