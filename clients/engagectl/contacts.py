"""engagectl contacts: a customer's addresses, devices and preferences."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import channel, name
from clients.engagectl.output import emit_record
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Contacts: set, get.")
@app.command("set")
def set_contact(ctx: typer.Context, customer: str = typer.Argument(..., metavar="CUSTOMER_ID"),
                email: str = typer.Option("", metavar="ADDRESS"), phone: str = typer.Option("", metavar="E164"),
                device: list[str] = typer.Option([], metavar="APP:PLATFORM:TOKEN", help="A push device; repeat."),
                pass_: list[str] = typer.Option([], "--pass", metavar="PASS_TYPE:SERIAL:TOKEN",
                                                help="A wallet pass; repeat."),
                opt_out: list[str] = typer.Option([], metavar="CHANNEL",
                                                  help="A channel the customer does not want; repeat."),
                opt_out_event_type: list[str] = typer.Option([], metavar="EVENT_TYPE_ID",
                                                             help="An event type the customer does not want; repeat."),
                quiet_hours: str | None = typer.Option(None, metavar="HH:MM-HH:MM@ZONE",
                                                       help="e.g. 22:00-07:00@Europe/Prague")) -> None:
    """Replaces the customer's contact: addresses, devices, passes and preferences.

    Examples:
      engagectl contacts set demo-c0001 --email jana@example.com --phone +420601234567
      engagectl contacts set demo-c0001 --email jana@example.com --opt-out SMS --quiet-hours 22:00-07:00@Europe/Prague
    """
    cli = cli_context(ctx)
    devices = []
    for value in device:
        parts = value.split(":", 2)
        if len(parts) != 3:
            raise typer.BadParameter(f"{value!r} is not APP:PLATFORM:TOKEN", param_hint="--device")
        try:
            platform = pb.Platform.Value(f"PLATFORM_{parts[1].upper().removeprefix('PLATFORM_')}")
        except ValueError as exc:
            raise typer.BadParameter(f"{parts[1]!r} is not a platform", param_hint="--device") from exc
        devices.append(pb.Device(app=name("apps", parts[0]), platform=platform, push_token=parts[2]))
    passes = []
    for value in pass_:
        parts = value.split(":", 2)
        if len(parts) != 3:
            raise typer.BadParameter(f"{value!r} is not PASS_TYPE:SERIAL:TOKEN", param_hint="--pass")
        passes.append(pb.WalletPass(pass_type_identifier=parts[0], serial_number=parts[1], push_token=parts[2]))
    preferences = pb.Preferences(opted_out_channels=[channel(c, "--opt-out") for c in opt_out],
                                 opted_out_event_types=[name("eventTypes", e) for e in opt_out_event_type])
    if quiet_hours:
        window, _, zone = quiet_hours.partition("@")
        start, _, end = window.partition("-")
        preferences.quiet_hours.CopyFrom(pb.QuietHours(start=start, end=end, time_zone=zone or "UTC"))
    contact = pb.Contact(customer_id=customer, email=email, phone=phone, devices=devices, passes=passes,
                         preferences=preferences)
    emit_record("contact", cli.call(lambda s: s.engagement.UpsertContact(pb.UpsertContactRequest(contact=contact))))


@app.command("get")
def get(ctx: typer.Context, customer: str = typer.Argument(..., metavar="CUSTOMER_ID")) -> None:
    """Shows a customer's contact, every field.

    Examples:
      engagectl contacts get demo-c0001
    """
    cli = cli_context(ctx)
    emit_record("contact", cli.call(lambda s: s.engagement.GetContact(pb.GetContactRequest(customer_id=customer))))
