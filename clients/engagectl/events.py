"""engagectl events: events, triggering them, transaction alerts and insight notifications."""

from __future__ import annotations

from pathlib import Path

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.deliveries import COLUMNS as DELIVERY_COLUMNS
from clients.engagectl.deliveries import row as delivery_row
from clients.engagectl.engagement_common import channel, channel_name, name, pairs, short, show, show_one
from clients.engagectl.templates import summary
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Events: create, list, get, trigger; transaction alerts; insight "
                                             "notifications.")
# Triggers per BatchTriggerEvents call: the server's limit.
BATCH_LIMIT = 1000
COLUMNS = ["event id", "name", "description", "owner", "event type", "app", "messages"]


def _row(e: pb.Event) -> list[str]:
    return [e.event_id, e.display_name, e.description, e.owner, short(e.event_type), short(e.app),
            "; ".join(f"{channel_name(m.channel)}: {summary(m.content)}" for m in e.messages)]


@app.command("create")
def create(ctx: typer.Context, name_: str = typer.Option("", "--name"), description: str = typer.Option(""),
           event_type: str = typer.Option(..., help="Event type id."), app_id: str = typer.Option(..., "--app"),
           legal: bool = typer.Option(False, help="Legally required: sent despite opt-outs."),
           message: list[str] = typer.Option([], help="CHANNEL=TEMPLATE_ID: copy that template; repeat."),
           sms_text: str | None = typer.Option(None, help="SMS text for this event (instead of a template's)."),
           push_title: str | None = typer.Option(None), push_body: str | None = typer.Option(None),
           email_subject: str | None = typer.Option(None), email_text: str | None = typer.Option(None),
           email_html: str | None = typer.Option(None)) -> None:
    """Creates an event; each message is copied from a template and may be edited for this event only."""
    cli = cli_context(ctx)
    messages = {channel(c, "--message"): pb.EventMessage(channel=channel(c, "--message"), template=name("templates", t))
                for c, t in pairs(message, "--message").items()}
    overrides = {pb.CHANNEL_SMS: pb.MessageContent(sms=pb.SmsContent(text=sms_text)) if sms_text else None,
                 pb.CHANNEL_PUSH: pb.MessageContent(push=pb.PushContent(title=push_title or "", body=push_body or ""))
                 if push_title or push_body else None,
                 pb.CHANNEL_EMAIL: pb.MessageContent(email=pb.EmailContent(
                     subject=email_subject or "", text=email_text or "", html=email_html or ""))
                 if email_subject or email_text or email_html else None}
    for number, content in overrides.items():
        if content is not None:
            messages.setdefault(number, pb.EventMessage(channel=number)).content.CopyFrom(content)
    event = pb.Event(display_name=name_, description=description, event_type=name("eventTypes", event_type),
                     app=name("apps", app_id), messages=list(messages.values()),
                     message_class=pb.MESSAGE_CLASS_LEGAL if legal else pb.MESSAGE_CLASS_REGULAR)
    show_one(cli, "event", cli.call(lambda s: s.engagement.CreateEvent(pb.CreateEventRequest(event=event))),
             COLUMNS, _row)


@app.command("list")
def list_events(ctx: typer.Context) -> None:
    cli = cli_context(ctx)
    show(cli, "events", COLUMNS, list(cli.call(lambda s: s.engagement.ListEvents(
        pb.ListEventsRequest(page_size=1000))).events), _row)


@app.command("get")
def get(ctx: typer.Context, event_id: str) -> None:
    cli = cli_context(ctx)
    show_one(cli, "event", cli.call(lambda s: s.engagement.GetEvent(pb.GetEventRequest(
        name=name("events", event_id)))), COLUMNS, _row)


@app.command("trigger")
def trigger(ctx: typer.Context, event_id: str,
            customer: list[str] = typer.Option([], help="A customer id; repeat for several (one batch call)."),
            customers_file: Path | None = typer.Option(None, exists=True, dir_okay=False,
                                                       help="Customer ids, one per line: sent in batches of "
                                                            f"{BATCH_LIMIT}, each all or nothing."),
            data: list[str] = typer.Option([], help="KEY=VALUE for {{ data.KEY }}; repeat."),
            request_id: str = typer.Option("", help="Makes a repeated call a no-op (per customer: "
                                                    "REQUEST_ID:CUSTOMER when there are several).")) -> None:
    """Sends the event to the customers now; shows the deliveries."""
    cli = cli_context(ctx)
    customers = [*customer, *(_customer_ids(customers_file) if customers_file else [])]
    if not customers:
        raise typer.BadParameter("give --customer or --customers-file", param_hint="--customer")
    event, values = name("events", event_id), pairs(data, "--data")
    if len(customers) == 1:
        response = cli.call(lambda s: s.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=event, customer_id=customers[0], data=values, request_id=request_id)))
        show(cli, "deliveries", DELIVERY_COLUMNS, list(response.deliveries), delivery_row)
        return
    deliveries: list[pb.Delivery] = []
    for start in range(0, len(customers), BATCH_LIMIT):
        batch = pb.BatchTriggerEventsRequest(requests=[pb.TriggerEventRequest(
            event=event, customer_id=c, data=values, request_id=f"{request_id}:{c}" if request_id else "")
            for c in customers[start:start + BATCH_LIMIT]])
        answered = cli.call(lambda s, batch=batch: s.engagement.BatchTriggerEvents(batch))
        deliveries.extend(d for r in answered.responses for d in r.deliveries)
    show(cli, "deliveries", DELIVERY_COLUMNS, deliveries, delivery_row)


def _customer_ids(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _alert_row(a: pb.TransactionAlert) -> list[str]:
    return [short(a.name), short(a.event), a.operation or ", ".join(a.categories), ", ".join(a.directions),
            a.min_amount, ", ".join(a.account_types), ", ".join(a.description_contains)]


ALERT_COLUMNS = ["alert id", "event", "operation/categories", "directions", "min amount", "account types",
                 "description contains"]


@app.command("alert")
def alert(ctx: typer.Context, event_id: str, direction: list[str] = typer.Option([]),
          category: list[str] = typer.Option([]), description_contains: list[str] = typer.Option([]),
          operation: str = typer.Option("", help="ATM_WITHDRAWAL, CASH_DEPOSIT, ONLINE_DEPOSIT, CARD_PAYMENT."),
          min_amount: str = typer.Option(""), account_type: list[str] = typer.Option([])) -> None:
    """Binds the event to matching ingested transactions (a transaction alert)."""
    cli = cli_context(ctx)
    created = cli.call(lambda s: s.engagement.CreateTransactionAlert(pb.CreateTransactionAlertRequest(
        transaction_alert=pb.TransactionAlert(
            event=name("events", event_id), directions=[d.upper() for d in direction], categories=category,
            description_contains=description_contains, operation=operation.upper(), min_amount=min_amount,
            account_types=[t.upper() for t in account_type]))))
    show_one(cli, "transaction alert", created, ALERT_COLUMNS, _alert_row)


@app.command("alerts")
def alerts(ctx: typer.Context) -> None:
    cli = cli_context(ctx)
    show(cli, "transaction alerts", ALERT_COLUMNS, list(cli.call(lambda s: s.engagement.ListTransactionAlerts(
        pb.ListTransactionAlertsRequest(page_size=1000))).transaction_alerts), _alert_row)


@app.command("unalert")
def unalert(ctx: typer.Context, alert_id: str) -> None:
    cli = cli_context(ctx)
    cli.call(lambda s: s.engagement.DeleteTransactionAlert(pb.DeleteTransactionAlertRequest(
        name=name("transactionAlerts", alert_id))))
    print(f"deleted transactionAlerts/{short(alert_id)}")


def _notification_row(n: pb.InsightNotification) -> list[str]:
    return [short(n.name), n.insight_name, short(n.event)]


@app.command("notify-insight")
def notify_insight(ctx: typer.Context, event_id: str, insight: str = typer.Option(...)) -> None:
    """Sends the event for each new feed item of the insight."""
    cli = cli_context(ctx)
    show_one(cli, "insight notification", cli.call(lambda s: s.engagement.CreateInsightNotification(
        pb.CreateInsightNotificationRequest(insight_notification=pb.InsightNotification(
            insight_name=insight, event=name("events", event_id))))), ["id", "insight", "event"], _notification_row)


@app.command("insight-notifications")
def insight_notifications(ctx: typer.Context) -> None:
    cli = cli_context(ctx)
    show(cli, "insight notifications", ["id", "insight", "event"], list(cli.call(
        lambda s: s.engagement.ListInsightNotifications(pb.ListInsightNotificationsRequest(
            page_size=1000))).insight_notifications), _notification_row)
