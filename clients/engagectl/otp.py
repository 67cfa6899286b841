"""engagectl otp: send and verify one-time passwords."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import channel, channel_name, name, short, time_of
from clients.engagectl.output import as_dict, emit_json
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="One-time passwords: send, verify.")


@app.command("send")
def send(ctx: typer.Context, customer: str = typer.Option(..., metavar="CUSTOMER_ID"),
         purpose: str = typer.Option(..., metavar="PURPOSE", help="What the code is for, e.g. login."),
         channel_: str | None = typer.Option(None, "--channel", metavar="CHANNEL",
                                             help="PUSH or SMS (default: push if possible).")) -> None:
    """Sends a one-time password to the customer.

    Examples:
      engagectl otp send --customer demo-c0001 --purpose login
      engagectl otp send --customer demo-c0001 --purpose payment --channel SMS
    """
    cli = cli_context(ctx)
    sent = cli.call(lambda s: s.engagement.SendOtp(pb.SendOtpRequest(
        customer_id=customer, purpose=purpose, channel=channel(channel_) if channel_ else pb.CHANNEL_UNSPECIFIED)))
    if cli.json_output:
        emit_json(as_dict(sent))
    else:
        print(f"sent {short(sent.name)} by {channel_name(sent.channel)}, valid until {time_of(sent.expire_time)} "
              f"(delivery {short(sent.delivery.name)})")


@app.command("verify")
def verify(ctx: typer.Context, otp_id: str = typer.Argument(..., metavar="OTP_ID", help="Id or otps/ID."),
           code: str = typer.Option(..., metavar="CODE", help="The code the customer received.")) -> None:
    """Checks a one-time password's code.

    Examples:
      engagectl otp verify 6a7b --code 123456
    """
    cli = cli_context(ctx)
    answer = cli.call(lambda s: s.engagement.VerifyOtp(pb.VerifyOtpRequest(name=name("otps", otp_id), code=code)))
    if cli.json_output:
        emit_json({"verified": answer.verified})
    else:
        print("verified" if answer.verified else "not verified")
