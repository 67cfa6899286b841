"""engagectl events: events, triggering them, transaction alerts and insight notifications."""

from __future__ import annotations

import functools
from collections.abc import Awaitable
from pathlib import Path

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.deliveries import COLUMNS as DELIVERY_COLUMNS
from clients.engagectl.deliveries import row as delivery_row
from clients.engagectl.engagement_common import channel, channel_name, name, pairs, short
from clients.engagectl.output import Column, Id, emit_json, emit_list, emit_record
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.engagectl.templates import summary
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Events: create, list, get, update, trigger; transaction alerts; "
                                             "insight notifications.")
# Triggers per BatchTriggerEvents call: the server's limit.
BATCH_LIMIT = 1000
COLUMNS: list[str | Column] = [Id("event id"), "name", Id("event type"), Id("app"), "messages", "owner", "description"]


def _row(e: pb.Event) -> list[str]:
    return [e.event_id, e.display_name, short(e.event_type), short(e.app),
            "; ".join(f"{channel_name(m.channel)}: {summary(m.content)}" for m in e.messages), e.owner, e.description]


def _messages(message: list[str], sms_text: str | None, push_title: str | None, push_body: str | None,
              email_subject: str | None, email_text: str | None, email_html: str | None) -> list[pb.EventMessage]:
    """An event's messages from the options: CHANNEL=TEMPLATE_ID copies a template, the text options give
    (or edit) a channel's content for this event only."""
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
    return list(messages.values())


@app.command("create")
def create(ctx: typer.Context, name_: str = typer.Option("", "--name", metavar="NAME"),
           description: str = typer.Option("", metavar="TEXT"),
           event_type: str = typer.Option(..., metavar="EVENT_TYPE_ID", help="Its event type."),
           app_id: str = typer.Option(..., "--app", metavar="APP_ID", help="The app that sends it."),
           legal: bool = typer.Option(False, help="Legally required: sent despite opt-outs."),
           message: list[str] = typer.Option([], metavar="CHANNEL=TEMPLATE_ID",
                                             help="Copy that template for the channel; repeat."),
           sms_text: str | None = typer.Option(None, metavar="TEXT",
                                               help="SMS text for this event (instead of a template's)."),
           push_title: str | None = typer.Option(None, metavar="TEXT"),
           push_body: str | None = typer.Option(None, metavar="TEXT"),
           email_subject: str | None = typer.Option(None, metavar="TEXT"),
           email_text: str | None = typer.Option(None, metavar="TEXT"),
           email_html: str | None = typer.Option(None, metavar="HTML")) -> None:
    """Creates an event; each message is copied from a template and may be edited for this event only.

    Examples:
      engagectl events create --name "ATM withdrawal" --event-type 3a1f --app 7f3c2a --message EMAIL=8e0b
      engagectl events create --name "Card used" --event-type 3a1f --app 7f3c2a --sms-text "Paid {{ data.amount }}"
    """
    cli = cli_context(ctx)
    messages = _messages(message, sms_text, push_title, push_body, email_subject, email_text, email_html)
    event = pb.Event(display_name=name_, description=description, event_type=name("eventTypes", event_type),
                     app=name("apps", app_id), messages=messages,
                     message_class=pb.MESSAGE_CLASS_LEGAL if legal else pb.MESSAGE_CLASS_REGULAR)
    emit_record("event", cli.call(lambda s: s.engagement.CreateEvent(pb.CreateEventRequest(event=event))))


@app.command("list")
def list_events(ctx: typer.Context, limit: int = limit_option(100, "events"), page_token: str = page_token_option(),
                every_page: bool = all_option()) -> None:
    """Lists events.

    Examples:
      engagectl events list
      engagectl events list --all --json
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Event], str]:
        response = await stubs.engagement.ListEvents(pb.ListEventsRequest(page_size=size, page_token=token))
        return list(response.events), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("events", COLUMNS, listed.items, _row, listed.next_page_token)


EVENT_ID = typer.Argument(..., metavar="EVENT_ID", help="Id or events/ID.")


@app.command("get")
def get(ctx: typer.Context, event_id: str = EVENT_ID) -> None:
    """Shows one event, every field, its messages too.

    Examples:
      engagectl events get 5d1e
    """
    cli = cli_context(ctx)
    emit_record("event", cli.call(lambda s: s.engagement.GetEvent(pb.GetEventRequest(name=name("events", event_id)))))



@app.command("update")
def update(ctx: typer.Context, event_id: str = EVENT_ID,
           name_: str | None = typer.Option(None, "--name", metavar="NAME"),
           description: str | None = typer.Option(None, metavar="TEXT"),
           event_type: str | None = typer.Option(None, metavar="EVENT_TYPE_ID", help="Its event type."),
           legal: bool | None = typer.Option(None, "--legal/--regular",
                                             help="Legally required (sent despite opt-outs), or a regular message."),
           message: list[str] = typer.Option([], metavar="CHANNEL=TEMPLATE_ID",
                                             help="Replaces the messages: copy that template for the channel; repeat."),
           sms_text: str | None = typer.Option(None, metavar="TEXT", help="Replaces the messages: SMS text."),
           push_title: str | None = typer.Option(None, metavar="TEXT"),
           push_body: str | None = typer.Option(None, metavar="TEXT"),
           email_subject: str | None = typer.Option(None, metavar="TEXT"),
           email_text: str | None = typer.Option(None, metavar="TEXT"),
           email_html: str | None = typer.Option(None, metavar="HTML")) -> None:
    """Changes what is given of an event; any message option replaces all of its messages.

    Examples:
      engagectl events update 5d1e --name "ATM withdrawal abroad" --description "Cash taken out abroad"
      engagectl events update 5d1e --message EMAIL=8e0b --sms-text "Paid {{ data.amount }}"
    """
    cli = cli_context(ctx)
    messages = _messages(message, sms_text, push_title, push_body, email_subject, email_text, email_html)
    event = pb.Event(name=name("events", event_id), display_name=name_ or "", description=description or "",
                     event_type=name("eventTypes", event_type) if event_type else "", messages=messages,
                     message_class=pb.MESSAGE_CLASS_LEGAL if legal else pb.MESSAGE_CLASS_REGULAR)
    paths = [path for path, given in (("display_name", name_ is not None), ("description", description is not None),
                                      ("event_type", event_type is not None), ("message_class", legal is not None),
                                      ("messages", bool(messages))) if given]
    if not paths:
        raise typer.BadParameter("nothing to change: give --name, --description, --event-type, --legal/--regular "
                                 "or messages")
    request = pb.UpdateEventRequest(event=event)
    request.update_mask.paths.extend(paths)
    emit_record("event", cli.call(lambda s: s.engagement.UpdateEvent(request)))


def _trigger_batch(batch: pb.BatchTriggerEventsRequest, stubs: Stubs) -> Awaitable[pb.BatchTriggerEventsResponse]:
    return stubs.engagement.BatchTriggerEvents(batch)

@app.command("trigger")
def trigger(ctx: typer.Context, event_id: str = EVENT_ID,
            customer: list[str] = typer.Option([], metavar="CUSTOMER_ID",
                                               help="Repeat for several (one batch call)."),
            customers_file: Path | None = typer.Option(None, exists=True, dir_okay=False, metavar="FILE",
                                                       help="Customer ids, one per line: sent in batches of "
                                                            f"{BATCH_LIMIT}, each all or nothing."),
            data: list[str] = typer.Option([], metavar="KEY=VALUE", help="For {{ data.KEY }}; repeat."),
            request_id: str = typer.Option("", metavar="REQUEST_ID",
                                           help="Makes a repeated call a no-op (per customer: "
                                                "REQUEST_ID:CUSTOMER when there are several).")) -> None:
    """Sends the event to the customers now; shows the deliveries.

    Examples:
      engagectl events trigger 5d1e --customer demo-c0001 --data amount=2,500 --data place=Prague
      engagectl events trigger 5d1e --customers-file customers.txt --request-id notice-2026-12
    """
    cli = cli_context(ctx)
    customers = [*customer, *(_customer_ids(customers_file) if customers_file else [])]
    if not customers:
        raise typer.BadParameter("give --customer or --customers-file", param_hint="--customer")
    event, values = name("events", event_id), pairs(data, "--data")
    if len(customers) == 1:
        response = cli.call(lambda s: s.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=event, customer_id=customers[0], data=values, request_id=request_id)))
        emit_list("deliveries", DELIVERY_COLUMNS, list(response.deliveries), delivery_row)
        return
    deliveries: list[pb.Delivery] = []
    for start in range(0, len(customers), BATCH_LIMIT):
        batch = pb.BatchTriggerEventsRequest(requests=[pb.TriggerEventRequest(
            event=event, customer_id=c, data=values, request_id=f"{request_id}:{c}" if request_id else "")
            for c in customers[start:start + BATCH_LIMIT]])
        answered = cli.call(functools.partial(_trigger_batch, batch))
        deliveries.extend(d for r in answered.responses for d in r.deliveries)
    emit_list("deliveries", DELIVERY_COLUMNS, deliveries, delivery_row)


def _customer_ids(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _alert_row(a: pb.TransactionAlert) -> list[str]:
    baseline = (f"p{a.baseline.percentile} of {a.baseline.days} days (min {a.baseline.min_history})"
                if a.HasField("baseline") else "")
    return [short(a.name), short(a.event), a.operation or ", ".join(a.categories), ", ".join(a.directions),
            a.min_amount, ", ".join(a.account_types), ", ".join(a.description_contains),
            ", ".join(a.statuses) or "BOOKED", a.balance_below, baseline]


ALERT_COLUMNS: list[str | Column] = [
    Id("alert id"), Id("event"), "operation/categories", "directions", "min amount", "account types",
    "description contains", "statuses", "balance below", "baseline"]


@app.command("alert")
def alert(ctx: typer.Context, event_id: str = EVENT_ID,
          direction: list[str] = typer.Option([], metavar="DIRECTION", help="CREDIT or DEBIT; repeat."),
          category: list[str] = typer.Option([], metavar="CATEGORY", help="A transaction category; repeat."),
          description_contains: list[str] = typer.Option([], metavar="TEXT", help="Repeat: any of them."),
          operation: str = typer.Option("", metavar="OPERATION",
                                        help="ATM_WITHDRAWAL, CASH_DEPOSIT, ONLINE_DEPOSIT, CARD_PAYMENT."),
          min_amount: str = typer.Option("", metavar="AMOUNT", help="Only transactions of at least this much."),
          account_type: list[str] = typer.Option([], metavar="ACCOUNT_TYPE",
                                                 help="CHECKING, SAVINGS, GIFT_CARD, PREPAID_CARD...; repeat."),
          status: list[str] = typer.Option([], metavar="STATUS",
                                           help="BOOKED, PENDING or DECLINED; repeat (none: BOOKED only)."),
          balance_below: str = typer.Option("", metavar="AMOUNT",
                                            help="Only a transaction that takes the balance below this."),
          baseline: bool = typer.Option(False, "--baseline",
                                        help="Unusual activity: only amounts above the customer's own baseline."),
          baseline_percentile: str = typer.Option("", metavar="PERCENT", help="With --baseline (default 99)."),
          baseline_days: int = typer.Option(0, metavar="DAYS", help="With --baseline (default 90)."),
          baseline_min_history: int = typer.Option(0, metavar="COUNT", help="With --baseline (default 10).")
          ) -> None:
    """Binds the event to matching ingested transactions (a transaction alert).

    Examples:
      engagectl events alert 5d1e --operation ATM_WITHDRAWAL --min-amount 100
      engagectl events alert 5d1e --direction DEBIT --category GROCERIES
      engagectl events alert 5d1e --direction DEBIT --status DECLINED
      engagectl events alert 5d1e --operation ATM_WITHDRAWAL --baseline --baseline-percentile 99
      engagectl events alert 5d1e --account-type GIFT_CARD --balance-below 20
    """
    cli = cli_context(ctx)
    if not baseline and (baseline_percentile or baseline_days or baseline_min_history):
        raise typer.BadParameter("the --baseline-* options need --baseline", param_hint="--baseline")
    judged = pb.UnusualActivityBaseline(percentile=baseline_percentile, days=baseline_days,
                                        min_history=baseline_min_history) if baseline else None
    created = cli.call(lambda s: s.engagement.CreateTransactionAlert(pb.CreateTransactionAlertRequest(
        transaction_alert=pb.TransactionAlert(
            event=name("events", event_id), directions=[d.upper() for d in direction], categories=category,
            description_contains=description_contains, operation=operation.upper(), min_amount=min_amount,
            account_types=[t.upper() for t in account_type], statuses=[x.upper() for x in status],
            balance_below=balance_below, baseline=judged))))
    emit_record("transaction alert", created)


@app.command("send-balance")
def send_balance(ctx: typer.Context, event_id: str = EVENT_ID,
                 account: str = typer.Option(..., metavar="ACCOUNT_ID", help="The account's id."),
                 request_id: str = typer.Option("", metavar="REQUEST_ID",
                                                help="Makes a repeated call a no-op.")) -> None:
    """Sends the account's current balance to its owner now, through the event's messages
    ({{ account.current_balance }}, {{ account.available_balance }}, ...); shows the deliveries.

    Examples:
      engagectl events send-balance 5d1e --account demo-c0001-chk
    """
    cli = cli_context(ctx)
    response = cli.call(lambda s: s.engagement.SendBalance(pb.SendBalanceRequest(
        account=name("accounts", account), event=name("events", event_id),
        request_id=request_id)))
    emit_list("deliveries", DELIVERY_COLUMNS, list(response.deliveries), delivery_row)


@app.command("alerts")
def alerts(ctx: typer.Context, limit: int = limit_option(100, "alerts"), page_token: str = page_token_option(),
           every_page: bool = all_option()) -> None:
    """Lists transaction alerts.

    Examples:
      engagectl events alerts
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.TransactionAlert], str]:
        response = await stubs.engagement.ListTransactionAlerts(pb.ListTransactionAlertsRequest(
            page_size=size, page_token=token))
        return list(response.transaction_alerts), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("transaction alerts", ALERT_COLUMNS, listed.items, _alert_row, listed.next_page_token)


@app.command("unalert")
def unalert(ctx: typer.Context, alert_id: str = typer.Argument(..., metavar="ALERT_ID",
                                                               help="Id or transactionAlerts/ID.")) -> None:
    """Deletes a transaction alert.

    Examples:
      engagectl events unalert 2f4a
    """
    cli = cli_context(ctx)
    cli.call(lambda s: s.engagement.DeleteTransactionAlert(pb.DeleteTransactionAlertRequest(
        name=name("transactionAlerts", alert_id))))
    deleted = f"transactionAlerts/{short(alert_id)}"
    if cli.json_output:
        emit_json({"deleted": deleted})
    else:
        print(f"deleted {deleted}")


NOTIFICATION_COLUMNS: list[str | Column] = [Id("id"), "insight", Id("event")]


def _notification_row(n: pb.InsightNotification) -> list[str]:
    return [short(n.name), n.insight_name, short(n.event)]


@app.command("notify-insight")
def notify_insight(ctx: typer.Context, event_id: str = EVENT_ID,
                   insight: str = typer.Option(..., metavar="INSIGHT_NAME", help="e.g. LOW_BALANCE_WARNING.")
                   ) -> None:
    """Sends the event for each new feed item of the insight.

    Examples:
      engagectl events notify-insight 5d1e --insight LOW_BALANCE_WARNING
    """
    cli = cli_context(ctx)
    emit_record("insight notification", cli.call(lambda s: s.engagement.CreateInsightNotification(
        pb.CreateInsightNotificationRequest(insight_notification=pb.InsightNotification(
            insight_name=insight, event=name("events", event_id))))))


@app.command("insight-notifications")
def insight_notifications(ctx: typer.Context, limit: int = limit_option(100, "notifications"),
                          page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists which events are sent for which insights' new feed items.

    Examples:
      engagectl events insight-notifications
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.InsightNotification], str]:
        response = await stubs.engagement.ListInsightNotifications(pb.ListInsightNotificationsRequest(
            page_size=size, page_token=token))
        return list(response.insight_notifications), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("insight notifications", NOTIFICATION_COLUMNS, listed.items, _notification_row,
              listed.next_page_token)


@app.command("unnotify-insight")
def unnotify_insight(ctx: typer.Context,
                     notification_id: str = typer.Argument(..., metavar="NOTIFICATION_ID",
                                                           help="Id or insightNotifications/ID.")) -> None:
    """Deletes an insight notification: the event is no longer sent for the insight's new feed items.

    Examples:
      engagectl events unnotify-insight 6b2c
    """
    cli = cli_context(ctx)
    deleted = name("insightNotifications", notification_id)
    cli.call(lambda s: s.engagement.DeleteInsightNotification(pb.DeleteInsightNotificationRequest(name=deleted)))
    if cli.json_output:
        emit_json({"deleted": deleted})
    else:
        print(f"deleted {deleted}")
