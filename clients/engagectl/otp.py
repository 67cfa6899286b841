"""engagectl otp: send and verify one-time passwords."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import channel, channel_name, name, short, time_of
from clients.engagectl.output import as_dict, emit_json
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="One-time passwords: send, verify.")


@app.command("send")
def send(ctx: typer.Context, customer: str = typer.Option(...), purpose: str = typer.Option(...),
         channel_: str | None = typer.Option(None, "--channel", help="PUSH or SMS (default: push if possible).")
         ) -> None:
    cli = cli_context(ctx)
    sent = cli.call(lambda s: s.engagement.SendOtp(pb.SendOtpRequest(
        customer_id=customer, purpose=purpose, channel=channel(channel_) if channel_ else 0)))
    if cli.json_output:
        emit_json(as_dict(sent))
    else:
        print(f"sent {short(sent.name)} by {channel_name(sent.channel)}, valid until {time_of(sent.expire_time)} "
              f"(delivery {short(sent.delivery.name)})")


@app.command("verify")
def verify(ctx: typer.Context, otp_id: str, code: str = typer.Option(...)) -> None:
    cli = cli_context(ctx)
    answer = cli.call(lambda s: s.engagement.VerifyOtp(pb.VerifyOtpRequest(name=name("otps", otp_id), code=code)))
    print('{"verified": true}' if cli.json_output else "verified" if answer.verified else "not verified")
