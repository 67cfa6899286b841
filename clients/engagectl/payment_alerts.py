"""engagectl payment-alerts: which event tells a customer of a payment due, overdue, scheduled, processed
or failed (docs/services/engagement.md#payment-alerts)."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import label, name, short
from clients.engagectl.output import Column, Id, emit_json, emit_list, emit_record, enum_number
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Payment reminders and notices for cards and loans: create, list, "
                                             "delete.")
COLUMNS: list[str | Column] = [Id("alert id"), Id("event"), "kind", "days before due"]


def row(a: pb.PaymentAlert) -> list[str]:
    return [short(a.name), short(a.event), label(pb.PaymentAlertKind, a.kind),
            str(a.days_before_due) if a.kind == pb.PAYMENT_ALERT_KIND_DUE else ""]


@app.command("create")
def create(ctx: typer.Context,
           event_id: str = typer.Argument(..., metavar="EVENT_ID", help="The event to trigger (id or events/ID)."),
           kind: str = typer.Option(..., metavar="KIND", help="DUE, OVERDUE, SCHEDULED, PROCESSED or FAILED."),
           days_before_due: int = typer.Option(0, metavar="DAYS", help="DUE only: days before the due date, 0-60.")
           ) -> None:
    """Binds the event to payment news of one kind (needs a `bank_admin` token).

    Examples:
      engagectl payment-alerts create 5d1e --kind DUE --days-before-due 3
      engagectl payment-alerts create 7a2c --kind OVERDUE
      engagectl payment-alerts create 9f00 --kind PROCESSED
    """
    cli = cli_context(ctx)
    try:
        number = enum_number(pb.PaymentAlertKind, kind)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--kind") from exc
    created = cli.call(lambda s: s.engagement.CreatePaymentAlert(pb.CreatePaymentAlertRequest(
        payment_alert=pb.PaymentAlert(event=name("events", event_id), kind=number, days_before_due=days_before_due))))
    emit_record("payment alert", created)


@app.command("list")
def list_alerts(ctx: typer.Context, limit: int = limit_option(100, "alerts"), page_token: str = page_token_option(),
                every_page: bool = all_option()) -> None:
    """Lists payment alerts.

    Examples:
      engagectl payment-alerts list
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.PaymentAlert], str]:
        response = await stubs.engagement.ListPaymentAlerts(pb.ListPaymentAlertsRequest(
            page_size=size, page_token=token))
        return list(response.payment_alerts), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("payment alerts", COLUMNS, listed.items, row, listed.next_page_token)


@app.command("delete")
def delete(ctx: typer.Context, alert_id: str = typer.Argument(..., metavar="ALERT_ID",
                                                              help="Id or paymentAlerts/ID.")) -> None:
    """Deletes a payment alert.

    Examples:
      engagectl payment-alerts delete 2f4a
    """
    cli = cli_context(ctx)
    cli.call(lambda s: s.engagement.DeletePaymentAlert(pb.DeletePaymentAlertRequest(
        name=name("paymentAlerts", alert_id))))
    deleted = f"paymentAlerts/{short(alert_id)}"
    if cli.json_output:
        emit_json({"deleted": deleted})
    else:
        print(f"deleted {deleted}")
