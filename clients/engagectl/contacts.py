"""engagectl contacts: a customer's addresses, devices and preferences."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import channel, channel_name, name, short, show_one
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Contacts: set, get.")
COLUMNS = ["customer", "email", "phone", "devices", "passes", "opted out", "quiet hours"]


def _row(c: pb.Contact) -> list[str]:
    quiet = c.preferences.quiet_hours
    return [c.customer_id, c.email, c.phone,
            ", ".join(f"{short(d.app)}:{pb.Platform.Name(d.platform).removeprefix('PLATFORM_')}" for d in c.devices),
            ", ".join(p.pass_type_identifier for p in c.passes),
            ", ".join([channel_name(x) for x in c.preferences.opted_out_channels]
                      + [short(e) for e in c.preferences.opted_out_event_types]),
            f"{quiet.start}-{quiet.end} {quiet.time_zone}" if quiet.start else ""]


@app.command("set")
def set_contact(ctx: typer.Context, customer: str, email: str = typer.Option(""), phone: str = typer.Option(""),
                device: list[str] = typer.Option([], help="APP:PLATFORM:TOKEN; repeat."),
                pass_: list[str] = typer.Option([], "--pass", help="PASS_TYPE:SERIAL:TOKEN; repeat."),
                opt_out: list[str] = typer.Option([], help="A channel the customer does not want; repeat."),
                opt_out_event_type: list[str] = typer.Option([]),
                quiet_hours: str | None = typer.Option(None, help="22:00-07:00@Europe/Prague")) -> None:
    """Replaces the customer's contact."""
    cli = cli_context(ctx)
    devices = []
    for value in device:
        parts = value.split(":", 2)
        if len(parts) != 3:
            raise typer.BadParameter(f"{value!r} is not APP:PLATFORM:TOKEN", param_hint="--device")
        try:
            platform = pb.Platform.Value(f"PLATFORM_{parts[1].upper()}")
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
    show_one(cli, "contact", cli.call(lambda s: s.engagement.UpsertContact(pb.UpsertContactRequest(
        contact=contact))), COLUMNS, _row)


@app.command("get")
def get(ctx: typer.Context, customer: str) -> None:
    cli = cli_context(ctx)
    show_one(cli, "contact", cli.call(lambda s: s.engagement.GetContact(pb.GetContactRequest(customer_id=customer))),
             COLUMNS, _row)
