"""engagectl notifications: the bank's inbox of items trigger rules made (docs/triggers.md, "Bank
notifications"): list, acknowledge, assign; the signed webhook each item is POSTed to, and its
deliveries with every attempt."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import label, name, short, time_of
from clients.engagectl.output import (
    Column,
    CommandFailed,
    Id,
    Wide,
    as_dict,
    emit_list,
    emit_record,
    enum_number,
    notice,
)
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.triggers.v1 import bank_notifications_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="The bank's inbox of trigger notifications, and its webhook.")
webhook_app = typer.Typer(no_args_is_help=True, help="The webhook every new notification is POSTed to, signed.")
app.add_typer(webhook_app, name="webhook")

COLUMNS: list[str | Column] = [Id("notification"), "status", "rule", Id("customer"), "account", "note", "assignee",
                               "created", Wide("values"), Wide("acknowledged by"), Wide("firing")]
DELIVERY_COLUMNS: list[str | Column] = [Id("delivery"), Id("notification"), "status", "attempts", "last status",
                                        "last error", "next attempt", "delivered", Wide("url"), Wide("created")]


def _notification_argument() -> Any:
    return typer.Argument(..., metavar="NOTIFICATION_ID", help="Id or bankNotifications/ID.")


def _row(item: pb.BankNotification) -> list[str]:
    return [short(item.name), label(pb.BankNotification.Status, item.status), f"{item.rule_id} v{item.rule_version}",
            short(item.customer), short(item.account), item.note, item.assignee, time_of(item.create_time),
            "; ".join(f"{k} = {v}" for k, v in sorted(item.values.items())), item.acknowledged_by, item.firing_id]


def _delivery_row(delivery: pb.WebhookDelivery) -> list[str]:
    last = delivery.attempts[-1] if delivery.attempts else None
    return [short(delivery.name), short(delivery.bank_notification), label(pb.WebhookDelivery.Status, delivery.status),
            str(len(delivery.attempts)), str(last.http_status or "") if last else "", last.error if last else "",
            time_of(delivery.next_attempt_time), time_of(delivery.deliver_time), delivery.url,
            time_of(delivery.create_time)]


@app.command("list")
def list_notifications(ctx: typer.Context,
                       status: str | None = typer.Option(None, "--status", metavar="STATUS",
                                                         help="NEW or ACKNOWLEDGED (default: both)."),
                       limit: int = limit_option(100, "notifications"), page_token: str = page_token_option(),
                       every_page: bool = all_option()) -> None:
    """Lists the inbox, newest first (-o wide adds the values the rule read).

    Examples:
      engagectl notifications list --status NEW
      engagectl notifications list -o wide
    """
    try:
        wanted = enum_number(pb.BankNotification.Status, status) if status else pb.BankNotification.STATUS_UNSPECIFIED
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--status") from exc
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.BankNotification], str]:
        response = await stubs.bank_notifications.ListBankNotifications(pb.ListBankNotificationsRequest(
            status=wanted, page_size=size, page_token=token))
        return list(response.bank_notifications), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("bank notifications", COLUMNS, listed.items, _row, listed.next_page_token)


@app.command("ack")
def acknowledge(ctx: typer.Context, notification: str = _notification_argument()) -> None:
    """Marks a notification ACKNOWLEDGED by you (acknowledging it again keeps the first).

    Examples:
      engagectl notifications ack 0190a1b2c3d4
    """
    cli = cli_context(ctx)
    emit_record("bank notification", cli.call(lambda s: s.bank_notifications.AcknowledgeBankNotification(
        pb.AcknowledgeBankNotificationRequest(name=name("bankNotifications", notification)))))


@app.command("assign")
def assign(ctx: typer.Context, notification: str = _notification_argument(),
           assignee: str = typer.Argument(..., metavar="ASSIGNEE",
                                          help="Who deals with it (up to 200 characters; \"\" unassigns).")) -> None:
    """Gives a notification to a member of staff.

    Examples:
      engagectl notifications assign 0190a1b2c3d4 "maria.novak"
      engagectl notifications assign 0190a1b2c3d4 ""
    """
    cli = cli_context(ctx)
    emit_record("bank notification", cli.call(lambda s: s.bank_notifications.AssignBankNotification(
        pb.AssignBankNotificationRequest(name=name("bankNotifications", notification), assignee=assignee))))


@app.command("deliveries")
def deliveries(ctx: typer.Context,
               notification: str = typer.Option("", "--notification", metavar="NOTIFICATION_ID",
                                                help="Only this notification's."),
               limit: int = limit_option(100, "deliveries"), page_token: str = page_token_option(),
               every_page: bool = all_option()) -> None:
    """Lists the webhook deliveries, newest first, with their last attempt (--json: every attempt).

    Examples:
      engagectl notifications deliveries
      engagectl notifications deliveries --notification 0190a1b2c3d4 --json
    """
    only = name("bankNotifications", notification) if notification else ""
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.WebhookDelivery], str]:
        response = await stubs.bank_notifications.ListWebhookDeliveries(pb.ListWebhookDeliveriesRequest(
            bank_notification=only, page_size=size, page_token=token))
        return list(response.webhook_deliveries), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("webhook deliveries", DELIVERY_COLUMNS, listed.items, _delivery_row, listed.next_page_token)


def _secret(secret_file: Path | None, secret_env: str | None) -> str:
    """The secret from a file (its first line) or an environment variable; "" lets Engage make one."""
    if secret_file is not None and secret_env is not None:
        raise typer.BadParameter("give --secret-file or --secret-env, not both", param_hint="--secret-file")
    if secret_file is not None:
        try:
            lines = secret_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {secret_file}: {exc.strerror}", param_hint="--secret-file") from exc
        return lines[0].strip() if lines else ""
    if secret_env is not None:
        if not os.environ.get(secret_env):
            raise typer.BadParameter(f"${secret_env} is not set", param_hint="--secret-env")
        return os.environ[secret_env].strip()
    return ""


def _webhook_record(webhook: pb.NotificationWebhook, secret: str = "") -> dict[str, Any]:
    record = {"url": webhook.url, "update_time": as_dict(webhook).get("update_time", "")}
    return record | ({"secret": secret} if secret else {})


@webhook_app.command("set")
def set_webhook(ctx: typer.Context, url: str = typer.Argument(..., metavar="URL",
                                                              help="https://... (http:// only to allowed networks)."),
                secret_file: Path | None = typer.Option(None, "--secret-file", metavar="FILE", dir_okay=False,
                                                        help="The signing secret (32 to 200 characters), the "
                                                             "file's first line."),
                secret_env: str | None = typer.Option(None, "--secret-env", metavar="VARIABLE",
                                                      help="Read the signing secret from this environment variable.")
                ) -> None:
    """Sets the webhook. Without a secret Engage makes one and prints it: the only time it is shown.
    The secret is never taken on the command line (it would stay in the shell's history).

    Examples:
      engagectl notifications webhook set https://bank.example/engage/notifications --secret-env WEBHOOK_SECRET
      engagectl notifications webhook set https://bank.example/engage/notifications --secret-file secret.txt
      engagectl notifications webhook set https://bank.example/engage/notifications
    """
    if not url:
        raise typer.BadParameter("empty: `notifications webhook remove` removes the webhook", param_hint="URL")
    secret = _secret(secret_file, secret_env)
    cli = cli_context(ctx)
    answer = cli.call(lambda s: s.bank_notifications.SetNotificationWebhook(pb.SetNotificationWebhookRequest(
        url=url, secret=secret)))
    emit_record("notification webhook", _webhook_record(answer.webhook, "" if secret else answer.secret))
    if not secret:
        notice("store the secret now: it is never shown again")


@webhook_app.command("show")
def show_webhook(ctx: typer.Context) -> None:
    """Shows the webhook's URL and when it was set (never its secret).

    Examples:
      engagectl notifications webhook show
    """
    cli = cli_context(ctx)
    found = cli.call(lambda s: s.bank_notifications.GetNotificationWebhook(pb.GetNotificationWebhookRequest()))
    emit_record("notification webhook", _webhook_record(found))


@webhook_app.command("remove")
def remove_webhook(ctx: typer.Context) -> None:
    """Removes the webhook: new notifications stay in the inbox only.

    Examples:
      engagectl notifications webhook remove
    """
    cli = cli_context(ctx)
    answer = cli.call(lambda s: s.bank_notifications.SetNotificationWebhook(pb.SetNotificationWebhookRequest()))
    if answer.webhook.url:
        raise CommandFailed(f"the webhook is still set to {answer.webhook.url}")
    emit_record("removed", {"webhook": "none"})
